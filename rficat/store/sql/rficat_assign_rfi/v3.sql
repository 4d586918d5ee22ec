CREATE OR REPLACE FUNCTION rficat_assign_rfi(p_observation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    WITH build AS (SELECT id, model_id FROM rfi_builds WHERE is_current),
    nearest AS (
        SELECT e.snippet_id, b.id AS build_id, n.id AS class_id, n.distance, n.radius
        FROM build b JOIN embeddings e ON e.model_id = b.model_id
        JOIN snippets s ON s.id = e.snippet_id AND s.is_signal
        CROSS JOIN LATERAL (
            SELECT c.id, c.centroid <=> e.latent AS distance, c.radius FROM rfi_classes c
            WHERE c.build_id = b.id ORDER BY c.centroid <=> e.latent LIMIT 1) n
        WHERE (p_observation_id IS NULL OR s.observation_id = p_observation_id)
          AND NOT EXISTS (SELECT 1 FROM rfi_assignments a WHERE a.snippet_id = e.snippet_id AND a.build_id = b.id)
    ), done AS (
        INSERT INTO rfi_assignments (snippet_id, build_id, class_id, distance)
        SELECT snippet_id, build_id, class_id, distance FROM nearest WHERE distance <= radius
        RETURNING 1
    )
    SELECT count(*) FROM done
$$;
COMMENT ON FUNCTION rficat_assign_rfi(bigint) IS
    'Assign the signal snippets of one observation (or, with NULL, all not yet assigned) to the nearest class of the current build when within its radius; returns how many became known RFI. Ingest calls it for each new observation.';
