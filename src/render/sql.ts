/**
 * SQL run once on a new cluster (Patroni `bootstrap.post_bootstrap`), through psql.
 *
 * PgBouncer 1.18 runs its `auth_query` in the database the client asked for (the
 * `auth_dbname` setting only exists from 1.19), so the lookup function must exist in every
 * database: the post-bootstrap script installs it in `postgres` and in `template1`, which
 * every later `CREATE DATABASE` copies. A database created from `template0` needs
 * {@link PGBOUNCER_AUTH_SQL} run in it once.
 */
import { DB_ROLES } from "./postgres";

/** Schema holding the PgBouncer lookup function. */
export const PGBOUNCER_AUTH_SCHEMA = "pgbouncer";

/** PgBouncer's `auth_query`: calls the SECURITY DEFINER function with the login name. */
export const PGBOUNCER_AUTH_QUERY = `SELECT username, password FROM ${PGBOUNCER_AUTH_SCHEMA}.get_auth($1)`;

/**
 * Environment variable holding the `pgbouncer_auth` role's password when the
 * post-bootstrap script runs. Patroni passes its environment (PATHS.patroniEnv, written by
 * the node bootstrap) to the script.
 */
export const PGBOUNCER_AUTH_PASSWORD_ENV = "PGBOUNCER_AUTH_PASSWORD";

/**
 * The lookup function PgBouncer's `auth_user` calls, idempotent (safe to run again, e.g.
 * after a restore into a new cluster):
 *
 * - schema `pgbouncer`, no privilege for PUBLIC;
 * - `pgbouncer.get_auth(p_usename text) RETURNS TABLE(username text, password text)`,
 *   `SECURITY DEFINER`, `SET search_path = pg_catalog` (no search-path hijacking), reads
 *   `pg_catalog.pg_shadow`; returns nothing for superusers, replication roles, the
 *   auth role itself and expired roles, so none of them can log in through PgBouncer;
 * - EXECUTE revoked from PUBLIC, granted to `pgbouncer_auth` only.
 *
 * Expects the role `pgbouncer_auth` to exist (see {@link POST_BOOTSTRAP_SQL}).
 */
export const PGBOUNCER_AUTH_SQL = `CREATE SCHEMA IF NOT EXISTS ${PGBOUNCER_AUTH_SCHEMA};
REVOKE ALL ON SCHEMA ${PGBOUNCER_AUTH_SCHEMA} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${PGBOUNCER_AUTH_SCHEMA} TO ${DB_ROLES.pgbouncerAuth};

CREATE OR REPLACE FUNCTION ${PGBOUNCER_AUTH_SCHEMA}.get_auth(p_usename text)
RETURNS TABLE (username text, password text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog
AS $fn$
  SELECT s.usename::text, s.passwd::text
  FROM pg_catalog.pg_shadow AS s
  WHERE s.usename = p_usename
    AND NOT s.usesuper
    AND NOT s.userepl
    AND s.usename <> '${DB_ROLES.pgbouncerAuth}'
    AND (s.valuntil IS NULL OR s.valuntil > pg_catalog.now())
$fn$;

REVOKE ALL ON FUNCTION ${PGBOUNCER_AUTH_SCHEMA}.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ${PGBOUNCER_AUTH_SCHEMA}.get_auth(text) TO ${DB_ROLES.pgbouncerAuth};
`;

/**
 * psql script run by the post-bootstrap script against the `postgres` database as the
 * superuser. Reads the password from the environment variable
 * {@link PGBOUNCER_AUTH_PASSWORD_ENV} (psql `\getenv`, psql 15+); the post-bootstrap script refuses to run without it. Creates (or
 * updates) the `pgbouncer_auth` login role without logging the statement, then installs
 * {@link PGBOUNCER_AUTH_SQL} in `postgres` and `template1`.
 */
export const POST_BOOTSTRAP_SQL = `\\set ON_ERROR_STOP on
\\getenv auth_password ${PGBOUNCER_AUTH_PASSWORD_ENV}
-- The password must not reach the server log.
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '${DB_ROLES.pgbouncerAuth}') AS create_role \\gset
\\if :create_role
CREATE ROLE ${DB_ROLES.pgbouncerAuth} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
\\endif
ALTER ROLE ${DB_ROLES.pgbouncerAuth} WITH LOGIN PASSWORD :'auth_password';
RESET log_statement;
RESET log_min_duration_statement;

${PGBOUNCER_AUTH_SQL}
\\connect template1
${PGBOUNCER_AUTH_SQL}`;
