CREATE OR REPLACE FUNCTION rficat_index_pending(p_limit integer DEFAULT 100000) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    model_ids integer[];
    b record;
    n bigint;
BEGIN
    -- concurrent callers take disjoint batches
    SELECT array_agg(p.snippet_id), array_agg(p.model_id) INTO ids, model_ids FROM (
        SELECT snippet_id, model_id FROM embeddings_pending ORDER BY snippet_id, model_id LIMIT p_limit
        FOR UPDATE SKIP LOCKED) p;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    -- the model's partition and the HNSW indexes of every band the batch lands in
    FOR b IN SELECT DISTINCT u.model_id, floor(s.f_center_mhz / m.band_mhz) * m.band_mhz + m.band_mhz / 2 AS f
             FROM unnest(ids, model_ids) u(snippet_id, model_id)
             JOIN snippets s ON s.id = u.snippet_id JOIN models m ON m.id = u.model_id LOOP
        IF to_regclass('embeddings_m' || b.model_id) IS NULL THEN
            PERFORM rficat_index_model(b.model_id);
        END IF;
        PERFORM rficat_index_band(b.model_id, b.f);
    END LOOP;
    -- each vector moves once, from the small pending partition into its model's partition
    WITH moved AS (
        DELETE FROM embeddings_pending p USING unnest(ids, model_ids) u(snippet_id, model_id)
        WHERE p.snippet_id = u.snippet_id AND p.model_id = u.model_id
        RETURNING p.snippet_id, p.model_id, p.latent, p.freq_vector
    )
    INSERT INTO embeddings_indexed (snippet_id, model_id, latent, freq_vector, indexed, f_center_mhz)
    SELECT mv.snippet_id, mv.model_id, mv.latent, mv.freq_vector, true, s.f_center_mhz
    FROM moved mv JOIN snippets s ON s.id = mv.snippet_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

COMMENT ON FUNCTION rficat_index_pending(integer) IS
    'Move up to p_limit vectors from embeddings_pending (indexed = false) into their model''s partition and HNSW indexes; returns how many. Each vector is written there once (the pending partition stays small; no row of the large partitions is rewritten). Ingest runs it after each batch of files; call it until it returns 0 to index everything.';
