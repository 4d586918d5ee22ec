CREATE OR REPLACE VIEW snippet_arrays AS
SELECT p.snippet_id, p.head || p.tail AS data
FROM snippet_array_parts p;
COMMENT ON VIEW snippet_arrays IS
    'The array of each snippet: data (uint8, value = byte / 255, row-major time x frequency, 16 x 256, 4 KiB): np.frombuffer(data, np.uint8).reshape(16, 256) / 255. Stored in snippet_array_parts; INSERT and COPY into this view store there.';
COMMENT ON COLUMN snippet_arrays.snippet_id IS 'Snippet id.';
COMMENT ON COLUMN snippet_arrays.data IS
    'Normalised 16 x 256 snippet quantised to uint8 (value = byte / 255), row-major (time, frequency); 4 KiB.';

CREATE OR REPLACE FUNCTION rficat_store_snippet_array() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- 3,992 bytes are exactly two TOAST chunks (1,996 bytes each on 8 KiB pages: four to a page)
    INSERT INTO snippet_array_parts (snippet_id, head, tail)
    VALUES (NEW.snippet_id, substring(NEW.data FROM 1 FOR 3992), substring(NEW.data FROM 3993));
    RETURN NEW;
END $$;
COMMENT ON FUNCTION rficat_store_snippet_array() IS
    'INSTEAD OF INSERT on snippet_arrays: store the array as snippet_array_parts'' head (out of line) and tail (in the row).';
CREATE TRIGGER snippet_arrays_store INSTEAD OF INSERT ON snippet_arrays
    FOR EACH ROW EXECUTE FUNCTION rficat_store_snippet_array();
