CREATE OR REPLACE FUNCTION rficat_lookalikes(
    p_snippet_id bigint,
    p_k integer DEFAULT 10,
    p_use_frequency boolean DEFAULT true,
    p_model_id integer DEFAULT NULL,
    p_exact boolean DEFAULT false,
    p_f_min_mhz double precision DEFAULT NULL,
    p_f_max_mhz double precision DEFAULT NULL,
    p_observation_id bigint DEFAULT NULL,
    p_cadence text DEFAULT NULL,
    p_snr_min double precision DEFAULT NULL,
    p_snr_max double precision DEFAULT NULL,
    p_drift_min_hz_s double precision DEFAULT NULL,
    p_drift_max_hz_s double precision DEFAULT NULL,
    p_mjd_min double precision DEFAULT NULL,
    p_mjd_max double precision DEFAULT NULL,
    p_signals_only boolean DEFAULT true,
    p_group_mhz double precision DEFAULT NULL,
    p_rfi_class_id bigint DEFAULT NULL,
    p_not_known_rfi boolean DEFAULT false,
    p_source text DEFAULT NULL,
    p_telescope text DEFAULT NULL,
    p_near_ra_deg double precision DEFAULT NULL,
    p_near_dec_deg double precision DEFAULT NULL,
    p_near_radius_deg double precision DEFAULT NULL,
    p_not_in_mask boolean DEFAULT false)
RETURNS TABLE (snippet_id bigint, observation_id bigint, path text, f_start_mhz double precision,
               f_stop_mhz double precision, f_center_mhz double precision, snr double precision,
               drift_rate_hz_s double precision, similarity double precision, n_grouped integer)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    model integer := coalesce(p_model_id, rficat_current_model());
    query vector;
BEGIN
    SELECT CASE WHEN p_use_frequency THEN e.freq_vector ELSE e.latent END INTO query
    FROM embeddings e WHERE e.snippet_id = p_snippet_id AND e.model_id = model;
    IF query IS NULL THEN
        IF NOT EXISTS (SELECT 1 FROM snippets WHERE id = p_snippet_id) THEN
            RAISE EXCEPTION 'rficat: no snippet %', p_snippet_id;
        END IF;
        RAISE EXCEPTION 'rficat: snippet % has no vector of model %', p_snippet_id, coalesce(model::text, '(none)');
    END IF;
    RETURN QUERY SELECT * FROM rficat_lookalikes_of_vector(
        query, p_k, p_use_frequency, model, p_exact, p_f_min_mhz, p_f_max_mhz, p_observation_id, p_cadence,
        p_snr_min, p_snr_max, p_drift_min_hz_s, p_drift_max_hz_s, p_mjd_min, p_mjd_max, p_signals_only,
        p_group_mhz, p_snippet_id, p_rfi_class_id, p_not_known_rfi, p_source, p_telescope, p_near_ra_deg,
        p_near_dec_deg, p_near_radius_deg, p_not_in_mask);
END $fn$;
COMMENT ON FUNCTION rficat_lookalikes(bigint, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, boolean, text, text, double precision, double precision, double precision, boolean) IS
    'The k stored snippets most similar to snippet p_snippet_id (itself excluded), with the filters of rficat_lookalikes_of_vector. Example: SELECT * FROM rficat_lookalikes(42, 10, p_f_min_mhz => 1100, p_f_max_mhz => 1200);';
