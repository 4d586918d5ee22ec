DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rficat_reader') THEN
        CREATE ROLE rficat_reader NOLOGIN;
        COMMENT ON ROLE rficat_reader IS 'Read-only access to the rficat catalogue for notebook users: GRANT rficat_reader TO alice;';
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO rficat_reader', current_database());
    GRANT USAGE ON SCHEMA public TO rficat_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA public TO rficat_reader;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO rficat_reader;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO rficat_reader;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'rficat: no privilege to create the rficat_reader role; create it as a superuser and rerun the grants';
END $$;
