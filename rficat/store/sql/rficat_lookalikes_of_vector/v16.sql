CREATE OR REPLACE FUNCTION rficat_lookalikes_of_vector(
    p_vector vector,
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
    p_exclude_snippet_id bigint DEFAULT NULL,
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
LANGUAGE plpgsql STABLE
SET hnsw.iterative_scan = 'relaxed_order'
AS $fn$
DECLARE
    model integer := coalesce(p_model_id, rficat_current_model());
    dim integer;
    distance text;
    filters text;
    fetch_n integer;
    sql text;
    kept double precision[] := '{}';
    kept_ids bigint[] := '{}';
    kept_similarity double precision[] := '{}';
    counts integer[] := '{}';
    r record;
    i integer;
    placed boolean;
    n_in_range bigint;
    joins text;
    has_pending boolean;
    width double precision;
    band_lo double precision;
    band text := '';
BEGIN
    IF p_k IS NULL OR p_k < 1 OR p_k > 10000 THEN
        RAISE EXCEPTION 'rficat: k must be between 1 and 10000, got %', p_k;
    END IF;
    SELECT latent_dim, band_mhz INTO dim, width FROM models WHERE id = model;
    IF dim IS NULL THEN
        RAISE EXCEPTION 'rficat: no model %', coalesce(model::text, '(the catalogue has no model)');
    END IF;
    IF vector_dims(p_vector) <> dim THEN
        RAISE EXCEPTION 'rficat: the query vector has % dimensions, model % has %', vector_dims(p_vector), model, dim;
    END IF;
    fetch_n := CASE WHEN p_group_mhz IS NULL THEN p_k ELSE p_k * 10 END;
    -- search breadth: at least k, at least rficat.ef_search (a session setting, default 40)
    PERFORM set_config('hnsw.ef_search', greatest(coalesce(nullif(current_setting('rficat.ef_search', true), '')::integer, 40),
                                                  least(fetch_n, 1000))::text, true);
    distance := format('(e.%I::vector(%s)) <=> $1', CASE WHEN p_use_frequency THEN 'freq_vector' ELSE 'latent' END, dim);
    -- only the filters given, each a fixed fragment with its value bound as a parameter
    filters := 'true';
    IF p_f_min_mhz IS NOT NULL THEN filters := filters || ' AND s.f_center_mhz >= $3'; END IF;
    IF p_f_max_mhz IS NOT NULL THEN filters := filters || ' AND s.f_center_mhz <= $4'; END IF;
    IF p_observation_id IS NOT NULL THEN filters := filters || ' AND s.observation_id = $5'; END IF;
    IF p_cadence IS NOT NULL THEN
        filters := filters || ' AND EXISTS (SELECT 1 FROM cadence_members cm JOIN cadences cd ON cd.id = cm.cadence_id'
                            || ' WHERE cm.observation_id = s.observation_id AND cd.name = $6)';
    END IF;
    IF p_snr_min IS NOT NULL THEN filters := filters || ' AND s.snr >= $7'; END IF;
    IF p_snr_max IS NOT NULL THEN filters := filters || ' AND s.snr <= $8'; END IF;
    IF p_drift_min_hz_s IS NOT NULL THEN filters := filters || ' AND s.drift_rate_hz_s >= $9'; END IF;
    IF p_drift_max_hz_s IS NOT NULL THEN filters := filters || ' AND s.drift_rate_hz_s <= $10'; END IF;
    IF p_mjd_min IS NOT NULL THEN filters := filters || ' AND o.mjd_start >= $11'; END IF;
    IF p_mjd_max IS NOT NULL THEN filters := filters || ' AND o.mjd_start <= $12'; END IF;
    IF p_signals_only THEN filters := filters || ' AND s.is_signal'; END IF;
    IF p_exclude_snippet_id IS NOT NULL THEN filters := filters || ' AND s.id <> $14'; END IF;
    IF p_rfi_class_id IS NOT NULL THEN
        filters := filters || ' AND EXISTS (SELECT 1 FROM rfi_assignments ra WHERE ra.snippet_id = s.id AND ra.class_id = $15)';
    END IF;
    IF p_not_known_rfi THEN
        filters := filters || ' AND NOT EXISTS (SELECT 1 FROM snippet_rfi kr WHERE kr.snippet_id = s.id)';
    END IF;
    IF p_not_in_mask THEN  -- outside every band of the site's own RFI mask (rficat rfi mask --import)
        filters := filters || ' AND NOT EXISTS (SELECT 1 FROM rfi_mask_bands mb'
                            || ' WHERE s.f_center_mhz BETWEEN mb.f_start_mhz AND mb.f_stop_mhz)';
    END IF;
    IF p_source IS NOT NULL THEN filters := filters || ' AND o.source_name = $16'; END IF;
    IF p_telescope IS NOT NULL THEN filters := filters || ' AND o.telescope = $17'; END IF;
    IF num_nulls(p_near_ra_deg, p_near_dec_deg, p_near_radius_deg) NOT IN (0, 3) THEN
        RAISE EXCEPTION 'rficat: a cone needs p_near_ra_deg, p_near_dec_deg and p_near_radius_deg together';
    END IF;
    IF p_near_radius_deg IS NOT NULL THEN  -- great-circle distance from the pointing, degrees
        filters := filters || ' AND degrees(acos(least(1.0, sin(radians(o.dec_deg)) * sin(radians($19))'
                            || ' + cos(radians(o.dec_deg)) * cos(radians($19)) * cos(radians(o.ra_deg - $18))))) <= $20';
    END IF;
    -- the band filter on the vectors' own frequency; a range inside one band of models.band_mhz names
    -- that band's bounds as written in its partial HNSW indexes (rficat_index_band), so the search
    -- walks the band's graph instead of filtering the model's whole graph
    IF p_f_min_mhz IS NOT NULL THEN band := band || ' AND e.f_center_mhz >= $3'; END IF;
    IF p_f_max_mhz IS NOT NULL THEN band := band || ' AND e.f_center_mhz <= $4'; END IF;
    IF p_f_min_mhz IS NOT NULL AND p_f_max_mhz IS NOT NULL AND width > 0 THEN
        band_lo := floor(p_f_min_mhz / width) * width;
        IF p_f_min_mhz < band_lo THEN band_lo := band_lo - width; END IF;
        IF p_f_min_mhz >= band_lo + width THEN band_lo := band_lo + width; END IF;
        IF p_f_max_mhz < band_lo + width THEN
            band := band || format(' AND e.f_center_mhz >= %s::double precision AND e.f_center_mhz < %s::double precision',
                                   band_lo, band_lo + width);
        END IF;
    END IF;
    -- observations only when a filter needs them (every committed observation is complete)
    joins := CASE WHEN p_mjd_min IS NOT NULL OR p_mjd_max IS NOT NULL OR p_source IS NOT NULL
                       OR p_telescope IS NOT NULL OR p_near_radius_deg IS NOT NULL
                  THEN ' JOIN observations o ON o.id = s.observation_id' ELSE '' END;
    -- a narrow band or one observation holds few rows: scanning those exactly (through the
    -- frequency / observation index) beats walking the HNSW graph past every rejected neighbour
    IF p_f_min_mhz IS NOT NULL OR p_f_max_mhz IS NOT NULL OR p_observation_id IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM snippets s WHERE true%s%s%s LIMIT 5000) few',
                       CASE WHEN p_f_min_mhz IS NOT NULL THEN ' AND s.f_center_mhz >= $1' ELSE '' END,
                       CASE WHEN p_f_max_mhz IS NOT NULL THEN ' AND s.f_center_mhz <= $2' ELSE '' END,
                       CASE WHEN p_observation_id IS NOT NULL THEN ' AND s.observation_id = $3' ELSE '' END)
            INTO n_in_range USING p_f_min_mhz, p_f_max_mhz, p_observation_id;
    END IF;
    IF n_in_range < 5000 THEN
        -- a scalar subquery per row: the planner cannot turn it into a scan of all embeddings
        sql := format($q$
            SELECT snippet_id, distance FROM (
                SELECT s.id AS snippet_id, (SELECT e.%1$I <=> $1 FROM embeddings e
                                            WHERE e.snippet_id = s.id AND e.model_id = %2$s) AS distance
                FROM snippets s%4$s
                WHERE %3$s
            ) few WHERE distance IS NOT NULL ORDER BY distance LIMIT $2$q$,
            CASE WHEN p_use_frequency THEN 'freq_vector' ELSE 'latent' END, model, filters, joins);
    ELSIF p_exact THEN  -- the expression differs from the index's: a sequential, exact scan
        sql := format($q$
            SELECT e.snippet_id, (e.%1$I <=> $1) AS distance
            FROM embeddings e JOIN snippets s ON s.id = e.snippet_id%4$s
            WHERE e.model_id = %2$s AND %3$s%5$s ORDER BY 2 LIMIT $2$q$,
            CASE WHEN p_use_frequency THEN 'freq_vector' ELSE 'latent' END, model, filters, joins, band);
    ELSE  -- HNSW over indexed vectors, exact over those still waiting for rficat_index_pending()
        has_pending := EXISTS (SELECT 1 FROM embeddings_pending pe WHERE pe.model_id = model);
        sql := format($q$
            WITH hnsw AS MATERIALIZED (
                SELECT e.snippet_id, %1$s AS distance FROM embeddings_indexed e JOIN snippets s ON s.id = e.snippet_id%4$s
                WHERE e.model_id = %2$s AND %3$s%7$s ORDER BY %1$s LIMIT $2
            )%5$s
            SELECT * FROM (SELECT * FROM hnsw%6$s) u ORDER BY distance LIMIT $2$q$,
            distance, model, filters, joins,
            CASE WHEN has_pending THEN format($p$, pending AS MATERIALIZED (
                SELECT e.snippet_id, %1$s AS distance FROM embeddings_pending e JOIN snippets s ON s.id = e.snippet_id%4$s
                WHERE e.model_id = %2$s AND %3$s ORDER BY 2 LIMIT $2
            )$p$, distance, model, filters, joins) ELSE '' END,
            CASE WHEN has_pending THEN ' UNION ALL SELECT * FROM pending' ELSE '' END, band);
    END IF;
    sql := format($q$
        SELECT m.snippet_id, s.observation_id, o.path, s.f_start_mhz, s.f_stop_mhz, s.f_center_mhz, s.snr,
               s.drift_rate_hz_s, 1 - m.distance AS similarity, 1 AS n_grouped
        FROM (%s) m JOIN snippets s ON s.id = m.snippet_id JOIN observations o ON o.id = s.observation_id
        ORDER BY m.distance, m.snippet_id$q$, sql);
    IF p_group_mhz IS NULL THEN
        RETURN QUERY EXECUTE sql USING p_vector, fetch_n, p_f_min_mhz, p_f_max_mhz, p_observation_id, p_cadence,
            p_snr_min, p_snr_max, p_drift_min_hz_s, p_drift_max_hz_s, p_mjd_min, p_mjd_max,
            p_signals_only, p_exclude_snippet_id, p_rfi_class_id, p_source, p_telescope, p_near_ra_deg,
            p_near_dec_deg, p_near_radius_deg;
        RETURN;
    END IF;
    -- near-duplicates: one row per emitter frequency; the best match stands for the others
    FOR r IN EXECUTE sql USING p_vector, fetch_n, p_f_min_mhz, p_f_max_mhz, p_observation_id, p_cadence,
             p_snr_min, p_snr_max, p_drift_min_hz_s, p_drift_max_hz_s, p_mjd_min, p_mjd_max,
             p_signals_only, p_exclude_snippet_id, p_rfi_class_id, p_source, p_telescope, p_near_ra_deg,
             p_near_dec_deg, p_near_radius_deg LOOP
        placed := false;
        FOR i IN 1 .. coalesce(array_length(kept, 1), 0) LOOP
            IF abs(kept[i] - r.f_center_mhz) <= p_group_mhz THEN
                counts[i] := counts[i] + 1;
                placed := true;
                EXIT;
            END IF;
        END LOOP;
        IF NOT placed AND coalesce(array_length(kept, 1), 0) < p_k THEN
            kept := kept || r.f_center_mhz;
            kept_ids := kept_ids || r.snippet_id;
            kept_similarity := kept_similarity || r.similarity;
            counts := counts || 1;
        END IF;
    END LOOP;
    RETURN QUERY
        SELECT s.id, s.observation_id, o.path, s.f_start_mhz, s.f_stop_mhz, s.f_center_mhz, s.snr,
               s.drift_rate_hz_s, u.similarity, u.n
        FROM unnest(kept_ids, kept_similarity, counts) WITH ORDINALITY AS u(id, similarity, n, rank)
        JOIN snippets s ON s.id = u.id JOIN observations o ON o.id = s.observation_id
        ORDER BY u.rank;
END $fn$;
COMMENT ON FUNCTION rficat_lookalikes_of_vector(vector, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, bigint, boolean, text, text, double precision, double precision, double precision, boolean) IS
    'The k snippets most similar (cosine) to a query vector of the given model (default: current). p_use_frequency: compare frequency-embedded vectors (freq_vector) rather than morphology alone (latent). HNSW with iterative scan (breadth: SET rficat.ef_search, default 40), so filtered queries still return k rows; a frequency range inside one band of models.band_mhz searches that band''s own HNSW graph; p_exact for an exact scan; a narrow frequency band or one observation is scanned exactly through its index. p_group_mhz keeps one match per emitter frequency (near-duplicates within that many MHz are folded into it). p_rfi_class_id: only snippets of that RFI class; p_not_known_rfi: only snippets of no class of the current RFI build. p_source / p_telescope: only observations of that source name / telescope; p_near_ra_deg, p_near_dec_deg, p_near_radius_deg: only observations pointed within that many degrees of (RA, Dec) (observations with no recorded pointing never match). p_not_in_mask: only snippets whose centre frequency lies in none of the site''s RFI bands (rfi_mask_bands, from rficat rfi mask --import).';
