CREATE OR REPLACE FUNCTION rficat_classify(p_vector vector, p_build_id integer DEFAULT NULL,
                                p_drift_rate_hz_s double precision DEFAULT NULL)
RETURNS TABLE (class_id bigint, label text, distance double precision, known_rfi boolean)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.label, c.centroid <=> p_vector, (c.centroid <=> p_vector) <= c.radius
    FROM rfi_classes c
    WHERE c.build_id = coalesce(p_build_id, (SELECT id FROM rfi_builds WHERE is_current))
      AND (p_drift_rate_hz_s IS NULL OR c.drift_min_hz_s IS NULL OR p_drift_rate_hz_s BETWEEN c.drift_min_hz_s AND c.drift_max_hz_s)
    ORDER BY c.centroid <=> p_vector
    LIMIT 1
$$;
COMMENT ON FUNCTION rficat_classify(vector, integer, double precision) IS
    'The nearest RFI class (of the current build unless named) to a latent vector of the build''s model, among the classes whose drift range admits p_drift_rate_hz_s (NULL: any class); its cosine distance, and whether the vector lies within the class radius (known_rfi).';
