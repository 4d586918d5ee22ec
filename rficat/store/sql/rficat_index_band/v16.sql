CREATE OR REPLACE FUNCTION rficat_index_band(p_model_id integer, p_f_center_mhz double precision) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    dim integer;
    width double precision;
    lo double precision;
    name text;
    part text := 'embeddings_m' || p_model_id;
    kind text;
BEGIN
    SELECT latent_dim, band_mhz INTO dim, width FROM models WHERE id = p_model_id;
    IF dim IS NULL THEN
        RAISE EXCEPTION 'rficat: no model with id %', p_model_id;
    END IF;
    IF p_f_center_mhz IS NULL OR width IS NULL OR width <= 0 THEN
        RETURN;
    END IF;
    lo := floor(p_f_center_mhz / width) * width;
    IF p_f_center_mhz < lo THEN lo := lo - width; END IF;
    IF p_f_center_mhz >= lo + width THEN lo := lo + width; END IF;
    name := regexp_replace(lo::text, '[^0-9]', '_', 'g');
    IF to_regclass(format('embeddings_latent_hnsw_m%s_f%s', p_model_id, name)) IS NOT NULL
       AND to_regclass(format('embeddings_freq_hnsw_m%s_f%s', p_model_id, name)) IS NOT NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('rficat_index_band'), p_model_id);
    FOREACH kind IN ARRAY ARRAY['latent', 'freq'] LOOP
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON %I USING hnsw ((%s::vector(%s)) vector_cosine_ops)'
            ' WHERE f_center_mhz >= %s::double precision AND f_center_mhz < %s::double precision',
            format('embeddings_%s_hnsw_m%s_f%s', kind, p_model_id, name), part,
            CASE kind WHEN 'latent' THEN 'latent' ELSE 'freq_vector' END, dim, lo, lo + width);
    END LOOP;
END $$;

COMMENT ON FUNCTION rficat_index_band(integer, double precision) IS
    'Create the HNSW cosine indexes of one frequency band of a model (the band of models.band_mhz holding p_f_center_mhz), partial on embeddings.f_center_mhz: a search inside one band walks that band''s graph instead of filtering the model''s whole graph. rficat_index_pending calls it when a vector lands in a new band.';
