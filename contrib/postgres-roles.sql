-- retractor's team database and its roles (README: "Team mode (PostgreSQL)", the database
-- and its roles). Run once, as a superuser, in the new database, before retractor first
-- opens it:
--
--   createuser retractor_owner      (add --pwprompt, or use your SSO/cert authentication)
--   createuser retractor_service
--   createdb --encoding=UTF8 --locale=C.UTF-8 --template=template0 retractor
--   psql -d retractor -v owner=retractor_owner -v service=retractor_service \
--        -f contrib/postgres-roles.sql
--
-- The owner role owns the schema: its migrations (the first open, and each upgrade) and
-- `retractor store copy` run as it. The service role is what `retractor serve` and
-- `retractor worker` log in as: rows only, never the tables' shapes, so it cannot drop or
-- alter a table, nor disable the audit trail's append-only triggers, nor TRUNCATE. Analysts
-- get no database role at all: they reach the service (`--connect`).
\set ON_ERROR_STOP on

ALTER DATABASE :"DBNAME" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"service";

ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"service";

-- Search folds accents with unaccent; created here so the owner needs no superuser.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

-- Every table and sequence the owner's migrations create, now and in later versions. The
-- audit table keeps its triggers, which refuse UPDATE and DELETE to every role but the
-- owner (who alone could drop them).
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"service";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"service";
