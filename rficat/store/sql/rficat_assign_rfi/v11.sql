CREATE OR REPLACE FUNCTION rficat_assign_rfi(p_observation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    WITH build AS (SELECT id, model_id FROM rfi_builds WHERE is_current),
    judged AS (
        SELECT s.id AS snippet_id, b.id AS build_id, v.*
        FROM build b JOIN embeddings e ON e.model_id = b.model_id
        JOIN snippets s ON s.id = e.snippet_id AND s.is_signal
        CROSS JOIN LATERAL rficat_verdict(s.id, b.id) v
        WHERE (p_observation_id IS NULL OR s.observation_id = p_observation_id)
          AND NOT EXISTS (SELECT 1 FROM rfi_assignments a WHERE a.snippet_id = s.id AND a.build_id = b.id)
    ), done AS (
        INSERT INTO rfi_assignments (snippet_id, build_id, class_id, distance, verdict, explanation, evidence_ids,
                                     drift_tolerance_hz_s)
        SELECT j.snippet_id, j.build_id, j.class_id, j.distance, j.verdict, j.explanation,
               ARRAY(SELECT (e ->> 'snippet_id')::bigint FROM jsonb_array_elements(j.evidence) e),
               j.drift_tolerance_hz_s
        FROM judged j
        RETURNING verdict
    )
    SELECT count(*) FILTER (WHERE verdict IN ('likely_rfi', 'known_rfi')) FROM done
$$;
COMMENT ON FUNCTION rficat_assign_rfi(bigint) IS
    'Judge the signal snippets of one observation (or, with NULL, all not yet judged) by the current build (rficat_verdict) and store the verdicts in rfi_assignments; returns how many are RFI. (Ingest and rfi build judge in Python with the same rule, faster.)';
