CREATE OR REPLACE FUNCTION rficat_index_model(p_model_id integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    dim integer;
    width double precision;
    part text := 'embeddings_m' || p_model_id;
    band double precision;
    bands double precision[];
BEGIN
    SELECT latent_dim, band_mhz INTO dim, width FROM models WHERE id = p_model_id;
    IF dim IS NULL THEN
        RAISE EXCEPTION 'rficat: no model with id %', p_model_id;
    END IF;
    IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF embeddings_indexed FOR VALUES IN (%s)', part, p_model_id);
    END IF;
    EXECUTE format('COMMENT ON TABLE %I IS %L', part,
                       format('The indexed vectors of model %s (a partition of embeddings), with its HNSW indexes: '
                              'one over every vector and one per frequency band of models.band_mhz.', p_model_id));
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING hnsw ((latent::vector(%s)) vector_cosine_ops)',
                   'embeddings_latent_hnsw_m' || p_model_id, part, dim);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING hnsw ((freq_vector::vector(%s)) vector_cosine_ops)',
                   'embeddings_freq_hnsw_m' || p_model_id, part, dim);
    -- the bands first: an open scan of the table would forbid building its indexes
    EXECUTE format('SELECT array_agg(DISTINCT floor(f_center_mhz / $1) * $1) FROM %I', part) INTO bands USING width;
    FOREACH band IN ARRAY coalesce(bands, '{}') LOOP
        PERFORM rficat_index_band(p_model_id, band + width / 2);
    END LOOP;
END $$;

COMMENT ON FUNCTION rficat_index_model(integer) IS
    'Create the partition embeddings_m<id> for one model''s indexed vectors and its HNSW cosine indexes on latent and freq_vector, over all of them and per frequency band (rficat_index_band); run automatically when a model is registered. Queries use them when they filter model_id = <id> AND indexed and order by (latent::vector(<dim>)) <=> query.';
