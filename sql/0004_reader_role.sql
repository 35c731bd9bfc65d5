-- news_reader: a read-only role for analysts. SELECT on every table and view of this schema,
-- including the ones later migrations create; nothing else. Grant it to login roles:
--     CREATE ROLE alice LOGIN PASSWORD '...';  GRANT news_reader TO alice;
-- depends: 0003_story_engine
--
-- Roles are cluster-wide, so the role is created only if it does not exist yet (another
-- database or schema may have created it). A migrating user without CREATEROLE cannot
-- create it: the migration then only says so (NOTICE) and grants nothing. A DBA runs
--     CREATE ROLE news_reader NOLOGIN;
-- and then the three GRANT/ALTER statements below for the schema (or
-- `yoyo reapply` of this migration). Names are unqualified: the migrator sets search_path
-- to the target schema, and current_schema() is that schema.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'news_reader') THEN
        BEGIN
            CREATE ROLE news_reader NOLOGIN;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'news_reader not created (no CREATEROLE): a DBA must run '
                    '"CREATE ROLE news_reader NOLOGIN" and re-apply 0004_reader_role';
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created at this moment by a migration of another database
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'news_reader') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO news_reader', current_schema());
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO news_reader', current_schema());
        -- Tables, views and materialized views that later migrations create (as this user).
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO news_reader',
            current_schema()
        );
    END IF;
END
$$;
