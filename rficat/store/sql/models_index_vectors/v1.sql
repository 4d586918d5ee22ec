CREATE TRIGGER models_index_vectors AFTER INSERT ON models
    FOR EACH ROW EXECUTE FUNCTION rficat_index_new_model();

COMMENT ON FUNCTION rficat_index_model(integer) IS
    'Create the partial HNSW cosine indexes on embeddings.latent and embeddings.freq_vector for one model (run automatically when a model is registered). Queries use them when they filter model_id = <id> and order by (latent::vector(<dim>)) <=> query.';
