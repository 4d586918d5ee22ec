CREATE OR REPLACE FUNCTION rficat_index_new_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rficat_index_model(NEW.id);
    RETURN NEW;
END $$;
