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
        'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((latent::vector(%s)) vector_cosine_ops) WHERE model_id = %s',
        'embeddings_latent_hnsw_m' || p_model_id, dim, p_model_id);
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((freq_vector::vector(%s)) vector_cosine_ops) WHERE model_id = %s',
        'embeddings_freq_hnsw_m' || p_model_id, dim, p_model_id);
END $$;
