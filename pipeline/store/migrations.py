"""The schema: migrations from sql/ applied with yoyo, without ever stalling a run.

Every run calls `migrate`. With nothing pending (every run's case) it only reads yoyo's
table, so no other session can hold a run up here. With something pending, migrators are
serialised by a session-level advisory lock (released by PostgreSQL even if the process is
killed), and every lock wait, for that lock or for the tables a migration alters, ends after
a bounded time with a `LockWaitError` naming the sessions that hold locks on the schema.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from . import db

log = logging.getLogger(__name__)

SQL_DIR_ENV = "NEWS_INGEST_SQL_DIR"
# A pending migration waits at most this long for other sessions' locks on the schema.
MIGRATION_LOCK_TIMEOUT_SECONDS = 30.0


class MigrationsNotFoundError(FileNotFoundError):
    """Neither the installed package nor the source checkout has the migrations."""


def sql_dir() -> Path:
    """The migrations folder: $NEWS_INGEST_SQL_DIR if set; else the copy installed with the
    package (pipeline/store/sql/, package data built from the top-level sql/); else sql/ of
    the source checkout (an editable install, where setuptools cannot map the subpackage)."""
    override = os.environ.get(SQL_DIR_ENV)
    if override:
        candidates = [Path(override)]
    else:
        packaged = resources.files(__package__ or "pipeline.store") / "sql"
        candidates = [Path(str(packaged)), Path(__file__).resolve().parents[2] / "sql"]
    for path in candidates:
        if path.is_dir() and any(path.glob("*.sql")):
            return path
    raise MigrationsNotFoundError(
        f"migrations not found in {' or '.join(map(str, candidates))}: reinstall news-ingest"
        + (f" or fix {SQL_DIR_ENV}" if override else "")
    )


def migrate(
    url: str | None = None,
    *,
    schema: str = db.DEFAULT_SCHEMA,
    lock_timeout: float = MIGRATION_LOCK_TIMEOUT_SECONDS,
) -> list[str]:
    """Apply pending migrations from sql/ to `schema`; return the ids applied."""
    from yoyo import get_backend, read_migrations

    url = url or db.database_url()
    db.validate_schema_name(schema)
    migrations = read_migrations(str(sql_dir()))
    if {m.id for m in migrations} <= set(applied_migrations(url, schema=schema)):
        return []
    key = f"news-ingest:migrate:{schema}"
    timeout = f"{round(lock_timeout * 1000)}ms"
    try:
        with db._open(url, autocommit=True) as lock_conn:
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
        with db._open(url, autocommit=True) as conn:
            raise db.lock_wait_error(conn, schema, "a lock to migrate", lock_timeout) from None
    applied = [m.id for m in pending]
    if applied:
        log.info("applied migrations to schema %s: %s", schema, ", ".join(applied))
    return applied


def applied_migrations(url: str | None = None, *, schema: str = db.DEFAULT_SCHEMA) -> list[str]:
    """Ids of the migrations recorded as applied in `schema` (empty if none)."""
    with db.connection(url, schema=schema, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT to_regclass(format('%%I._yoyo_migration', %s::text)) IS NOT NULL", (schema,)
        ).fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY applied_at_utc")
        return [row[0] for row in rows]


def _yoyo_uri(url: str, schema: str, lock_timeout: str) -> str:
    """yoyo wants a URI of its own; pass every libpq parameter through as a query argument,
    with the lock timeout for every connection yoyo opens (it applies migrations on more
    than one)."""
    params = {k: v for k, v in conninfo_to_dict(url).items() if v is not None}
    params.update({k: str(v) for k, v in db._connect_kwargs(url).items()})
    params["schema"] = schema
    params["options"] = f"{params.get('options', '')} -c lock_timeout={lock_timeout}".strip()
    return "postgresql+psycopg:///?" + urlencode(params)
