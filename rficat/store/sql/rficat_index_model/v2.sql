CREATE OR REPLACE FUNCTION rficat_index_model(p_model_id integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    dim integer;
BEGIN
    SELECT latent_dim INTO dim FROM models WHERE id = p_model_id;
    IF dim IS NULL THEN
        RAISE EXCEPTION 'rficat: no model with id %', p_model_id;
    END IF;
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((latent::vector(%s)) vector_cosine_ops) WHERE model_id = %s AND indexed',
        'embeddings_latent_hnsw_m' || p_model_id, dim, p_model_id);
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((freq_vector::vector(%s)) vector_cosine_ops) WHERE model_id = %s AND indexed',
        'embeddings_freq_hnsw_m' || p_model_id, dim, p_model_id);
END $$;

COMMENT ON FUNCTION rficat_index_model(integer) IS
    'Create the partial HNSW cosine indexes on embeddings.latent and embeddings.freq_vector for one model (run automatically when a model is registered). They hold the rows with indexed = true; queries use them when they filter model_id = <id> AND indexed and order by (latent::vector(<dim>)) <=> query.';
