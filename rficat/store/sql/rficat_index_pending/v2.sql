CREATE OR REPLACE FUNCTION rficat_index_pending(p_limit integer DEFAULT 100000) RETURNS bigint
LANGUAGE sql AS $$
    WITH batch AS (
        SELECT snippet_id, model_id FROM embeddings WHERE NOT indexed LIMIT p_limit
    ), done AS (
        UPDATE embeddings e SET indexed = true FROM batch b
        WHERE e.snippet_id = b.snippet_id AND e.model_id = b.model_id AND NOT e.indexed
        RETURNING 1
    )
    SELECT count(*) FROM done
$$;

COMMENT ON FUNCTION rficat_index_pending(integer) IS
    'Move up to p_limit vectors with indexed = false into the HNSW indexes; returns how many. Ingest runs it after each batch of files; call it until it returns 0 to index everything.';
