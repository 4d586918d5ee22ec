CREATE OR REPLACE FUNCTION rficat_classify(p_vector vector, p_build_id integer DEFAULT NULL)
RETURNS TABLE (class_id bigint, label text, distance double precision, known_rfi boolean)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.label, c.centroid <=> p_vector, (c.centroid <=> p_vector) <= c.radius
    FROM rfi_classes c
    WHERE c.build_id = coalesce(p_build_id, (SELECT id FROM rfi_builds WHERE is_current))
    ORDER BY c.centroid <=> p_vector
    LIMIT 1
$$;
COMMENT ON FUNCTION rficat_classify(vector, integer) IS
    'The nearest RFI class (of the current build unless named) to a latent vector of the build''s model, its cosine distance, and whether the vector lies within the class radius (known_rfi).';
