CREATE FUNCTION rficat_verdict(
    p_snippet_id bigint,
    p_build_id integer DEFAULT NULL,
    p_use_classes boolean DEFAULT true,
    p_similarity double precision DEFAULT NULL,
    p_min_evidence integer DEFAULT NULL,
    p_class_min_reference integer DEFAULT NULL)
RETURNS TABLE (class_id bigint, label text, distance double precision, known_rfi boolean,
               verdict text, explanation text, evidence jsonb, drift_tolerance_hz_s double precision)
LANGUAGE plpgsql STABLE AS $fn$
#variable_conflict use_column
DECLARE
    v_build integer := coalesce(p_build_id, (SELECT cb.id FROM rfi_builds cb WHERE cb.is_current));
    s record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM snippets WHERE id = p_snippet_id) THEN
        RAISE EXCEPTION 'rficat: no snippet %', p_snippet_id;
    END IF;
    SELECT e.latent, sn.drift_rate_hz_s, sn.drift_error_hz_s, sn.snr, sn.f_center_mhz, sn.observation_id,
           (SELECT cm.role FROM cadence_members cm WHERE cm.observation_id = sn.observation_id
            ORDER BY cm.role = 'ON' DESC LIMIT 1) AS role
    INTO s
    FROM snippets sn JOIN rfi_builds rb ON rb.id = v_build
    JOIN embeddings e ON e.snippet_id = sn.id AND e.model_id = rb.model_id
    WHERE sn.id = p_snippet_id;
    IF v_build IS NOT NULL AND s.latent IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::float8, false, 'unjudged'::text,
            format('snippet %s has no vector of the model RFI build %s clusters', p_snippet_id, v_build),
            '[]'::jsonb, NULL::float8;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM rficat_classify(
        s.latent, v_build, s.drift_rate_hz_s, s.f_center_mhz, s.role, s.drift_error_hz_s, s.snr,
        s.observation_id, p_snippet_id, NULL, p_use_classes, p_similarity, p_min_evidence, p_class_min_reference);
END $fn$;
COMMENT ON FUNCTION rficat_verdict(bigint, integer, boolean, double precision, integer, integer) IS
    'The RFI verdict on a stored snippet (rficat_classify with its vector, drift rate and error, SNR, frequency, observation and role filled in). Example: SELECT verdict, explanation FROM rficat_verdict(42);';
