CREATE OR REPLACE FUNCTION rficat_current_model() RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT id FROM models ORDER BY is_current DESC, id LIMIT 1
$$;
COMMENT ON FUNCTION rficat_current_model() IS 'Id of the model searches use when none is named: the one marked models.is_current (the first registered, until the re-encode flow makes another current with make_current).';
