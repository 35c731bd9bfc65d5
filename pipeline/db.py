"""Where the database is, how to connect to it, and how its schema is migrated."""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
DATA_DIR_ENV = "NEWS_INGEST_DATA_DIR"
SQL_DIR_ENV = "NEWS_INGEST_SQL_DIR"
DEFAULT_SCHEMA = "news"
DEFAULT_DATA_DIR = Path(".news-ingest")

SCHEMA_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Every session of ours waits at most this long for a lock, so a wait nobody foresaw (an
# analyst's long transaction, a stuck session) ends in a clear error instead of a stall.
LOCK_TIMEOUT_SECONDS = 60.0
# A pending migration waits at most this long for other sessions' locks on the schema.
MIGRATION_LOCK_TIMEOUT_SECONDS = 30.0

# Keeps the embedded server alive for the life of this process; pgserver stops it
# when the last process using it exits.
_embedded_server: Any = None


def database_url() -> str:
    """$DATABASE_URL, else an embedded PostgreSQL under $NEWS_INGEST_DATA_DIR (.news-ingest/)."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return embedded_database_url(Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR))


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL server kept in data_dir/postgres."""
    global _embedded_server
    if _embedded_server is None:
        pgdata = (data_dir / "postgres").resolve()
        pgdata.mkdir(parents=True, exist_ok=True)
        log.info("DATABASE_URL is not set: using embedded PostgreSQL in %s", pgdata)
        with warnings.catch_warnings():
            # platformdirs complains when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
            warnings.simplefilter("ignore")
            import pgserver  # heavy and only needed without DATABASE_URL

            _embedded_server = pgserver.get_server(pgdata)
    return str(_embedded_server.get_uri())


def validate_schema_name(schema: str) -> str:
    if not SCHEMA_NAME_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


class LockWaitError(RuntimeError):
    """A lock wait ran out; the message names the sessions holding locks on the schema."""


def _options(schema: str, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> str:
    return f"-c search_path={schema} -c lock_timeout={round(lock_timeout * 1000)}"


def connect(
    url: str | None = None, *, schema: str = DEFAULT_SCHEMA, autocommit: bool = False
) -> psycopg.Connection[Any]:
    """A connection whose search_path is `schema`, so every query uses unqualified names,
    and whose lock waits end after LOCK_TIMEOUT_SECONDS."""
    validate_schema_name(schema)
    return psycopg.connect(
        url or database_url(),
        autocommit=autocommit,
        options=_options(schema),
        application_name="news-ingest",
    )


def lock_holders(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """Other sessions holding locks on `schema`'s tables or advisory locks in this database,
    one line each (pid, user, application, state and since when, query)."""
    rows = conn.execute(
        r"""SELECT a.pid, a.usename, a.application_name, a.state,
                  to_char(coalesce(a.xact_start, a.query_start), 'YYYY-MM-DD HH24:MI:SS TZ'),
                  left(regexp_replace(a.query, '\s+', ' ', 'g'), 200)
           FROM pg_stat_activity a
           WHERE a.pid <> pg_backend_pid() AND a.pid IN (
               SELECT l.pid FROM pg_locks l
               WHERE l.granted AND (
                   (l.locktype = 'relation' AND l.relation IN (
                       SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = %s))
                   OR (l.locktype = 'advisory'
                       AND l.database = (SELECT oid FROM pg_database
                                         WHERE datname = current_database()))))
           ORDER BY a.pid""",
        (schema,),
    ).fetchall()
    return [
        f"pid {pid} (user {user}, application {app or '-'}, {state} since {since}): {query}"
        for pid, user, app, state, since, query in rows
    ]


def lock_wait_error(
    conn: psycopg.Connection[Any], schema: str, waiting_for: str, seconds: float
) -> LockWaitError:
    """The error for a lock wait that ran out, naming who holds locks on the schema."""
    try:
        holders = lock_holders(conn, schema)
    except psycopg.Error as exc:
        holders = [f"(could not list them: {exc})"]
    listed = "; ".join(holders) or "none any more (the lock was released meanwhile)"
    return LockWaitError(
        f"gave up after {seconds:g} s waiting for {waiting_for} in schema {schema}; sessions "
        f"holding locks there: {listed}"
    )


@contextmanager
def connection(
    url: str | None = None, *, schema: str = DEFAULT_SCHEMA, autocommit: bool = False
) -> Iterator[psycopg.Connection[Any]]:
    conn = connect(url, schema=schema, autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()


def pool(
    url: str | None = None, *, schema: str = DEFAULT_SCHEMA, max_size: int = 8
) -> ConnectionPool:
    """An open pool of autocommit connections on `schema`, for threads that each write
    their own short transactions."""
    validate_schema_name(schema)
    return ConnectionPool(
        url or database_url(),
        min_size=1,
        max_size=max_size,
        kwargs={
            "autocommit": True,
            "options": _options(schema),
            "application_name": "news-ingest",
        },
        open=True,
        name="news-ingest",
        # An idle connection may have died (PostgreSQL restarted, a proxy timed it out):
        # test it on checkout, so the next statement gets a live one instead of an error.
        check=ConnectionPool.check_connection,
    )


def sql_dir() -> Path:
    """The migrations folder: $NEWS_INGEST_SQL_DIR, else sql/ next to the package."""
    override = os.environ.get(SQL_DIR_ENV)
    path = Path(override) if override else Path(__file__).resolve().parent.parent / "sql"
    if not path.is_dir():
        raise FileNotFoundError(f"migrations folder not found: {path} (set {SQL_DIR_ENV})")
    return path


def _yoyo_uri(url: str, schema: str, lock_timeout: str) -> str:
    """yoyo wants a URI of its own; pass every libpq parameter through as a query argument,
    with the lock timeout for every connection yoyo opens (it applies migrations on more
    than one)."""
    params = {k: v for k, v in conninfo_to_dict(url).items() if v is not None}
    params["schema"] = schema
    params["options"] = f"{params.get('options', '')} -c lock_timeout={lock_timeout}".strip()
    return "postgresql+psycopg:///?" + urlencode(params)


def migrate(
    url: str | None = None,
    *,
    schema: str = DEFAULT_SCHEMA,
    lock_timeout: float = MIGRATION_LOCK_TIMEOUT_SECONDS,
) -> list[str]:
    """Apply pending migrations from sql/ to `schema`; return the ids applied.

    Nothing pending (every run's case): a plain read of yoyo's table, no lock at all, so no
    other session can hold a run up here. Something pending: migrators are serialised by a
    session-level advisory lock (released by PostgreSQL even if this process is killed);
    every lock wait, for it or for the tables a migration alters, ends after `lock_timeout`
    seconds with a LockWaitError naming the sessions that hold locks on the schema.
    """
    from yoyo import get_backend, read_migrations

    url = url or database_url()
    validate_schema_name(schema)
    migrations = read_migrations(str(sql_dir()))
    # A plain read of yoyo's table, which no other session's lock can make wait.
    if {m.id for m in migrations} <= set(applied_migrations(url, schema=schema)):
        return []
    key = f"news-ingest:migrate:{schema}"
    timeout = f"{round(lock_timeout * 1000)}ms"
    try:
        with psycopg.connect(url, autocommit=True) as lock_conn:
            lock_conn.execute("SELECT set_config('lock_timeout', %s, false)", (timeout,))
            lock_conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
            try:
                lock_conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
                backend = get_backend(_yoyo_uri(url, schema, timeout))
                try:
                    pending = backend.to_apply(migrations)
                    backend.apply_migrations(pending)
                finally:
                    backend.connection.close()
            finally:
                lock_conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
    except psycopg.errors.LockNotAvailable:
        with psycopg.connect(url, autocommit=True) as conn:
            raise lock_wait_error(conn, schema, "a lock to migrate", lock_timeout) from None
    applied = [m.id for m in pending]
    if applied:
        log.info("applied migrations to schema %s: %s", schema, ", ".join(applied))
    return applied


def applied_migrations(url: str | None = None, *, schema: str = DEFAULT_SCHEMA) -> list[str]:
    """Ids of the migrations recorded as applied in `schema` (empty if none)."""
    with connection(url, schema=schema, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT to_regclass(format('%%I._yoyo_migration', %s::text)) IS NOT NULL", (schema,)
        ).fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc")
        return [row[0] for row in rows]


def drop_schema(url: str, schema: str) -> None:
    """Remove a (scratch) schema and everything in it."""
    validate_schema_name(schema)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
