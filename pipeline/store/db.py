"""Where the database is, how to connect to it, and how its schema is migrated."""

from __future__ import annotations

import getpass
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from . import embedded

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
DATA_DIR_ENV = embedded.DATA_DIR_ENV
SQL_DIR_ENV = "NEWS_INGEST_SQL_DIR"
DEFAULT_SCHEMA = "news"
#: Seconds libpq waits for a server that does not answer, unless the URL or
#: $PGCONNECT_TIMEOUT says otherwise (libpq's own default is to wait forever).
DEFAULT_CONNECT_TIMEOUT = 10

SCHEMA_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# The database this process last connected to, so a failure far from connect() (a pool
# that times out, a connection lost mid-run) can still say where it happened.
_last_target: Target | None = None


class DatabaseUrlError(ValueError):
    """DATABASE_URL (or a given URL) is not a libpq connection string."""


@dataclass(frozen=True)
class Target:
    """Where a URL points, for messages: never the password."""

    host: str
    port: str
    dbname: str
    user: str
    source: str  # $DATABASE_URL, the given URL, the embedded database

    def __str__(self) -> str:
        where = f"{self.host}:{self.port}, database {self.dbname}, user {self.user}"
        return f"{where} (from {self.source})"


class DatabaseUnavailable(psycopg.OperationalError):
    """PostgreSQL cannot be reached or refuses us; `reason` and `hint` say why and what to do.
    An OperationalError, so callers that retry on those still do."""

    def __init__(self, target: Target, reason: str, hint: str) -> None:
        super().__init__(f"cannot connect to PostgreSQL at {target}: {reason}; {hint}")
        self.target = target
        self.reason = reason
        self.hint = hint


def database_url() -> str:
    """$DATABASE_URL, else the embedded PostgreSQL (see pipeline.store.embedded: where it
    lives does not depend on the working directory)."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return embedded.url_for()


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL server kept in data_dir/postgres."""
    return embedded.url_for(data_dir)


def target_of(url: str) -> Target:
    """Host, port, database and user of a URL, with libpq's defaults filled in; raises
    DatabaseUrlError for a malformed one."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DatabaseUrlError(
            f"{_url_source(url)} is not a valid PostgreSQL URL ({_first_line(exc)}); "
            "expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None
    user = str(params.get("user") or os.environ.get("PGUSER") or getpass.getuser())
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    if host.startswith("/"):
        host = f"socket {host}"
    return Target(
        host=host,
        port=str(params.get("port") or os.environ.get("PGPORT") or "5432"),
        dbname=str(params.get("dbname") or os.environ.get("PGDATABASE") or user),
        user=user,
        source=_url_source(url),
    )


def last_target() -> Target | None:
    return _last_target


def _url_source(url: str) -> str:
    if os.environ.get(DATABASE_URL_ENV) == url:
        return "$DATABASE_URL"
    if os.environ.get(DATABASE_URL_ENV):
        return "the given URL"
    return "the embedded database"


def _connect_kwargs(url: str) -> dict[str, Any]:
    """Checks the URL, remembers where it points, and bounds the wait for a silent server."""
    global _last_target
    _last_target = target_of(url)
    if "connect_timeout" in conninfo_to_dict(url) or os.environ.get("PGCONNECT_TIMEOUT"):
        return {}
    return {"connect_timeout": DEFAULT_CONNECT_TIMEOUT}


def _open(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """psycopg.connect, with a failure to connect turned into DatabaseUnavailable."""
    extra = _connect_kwargs(url)
    try:
        return psycopg.connect(url, **extra, **kwargs)
    except psycopg.OperationalError as exc:
        raise unavailable(target_of(url), exc) from exc


# libpq's words for why a connection failed → (what happened, what to do about it)
_CONNECT_FAILURES: tuple[tuple[str, str, str], ...] = (
    ("connection refused", "connection refused", "is PostgreSQL running there?"),
    (
        "password authentication failed",
        "password authentication failed",
        "check the password in the URL (or ~/.pgpass)",
    ),
    (
        "no password supplied",
        "the server wants a password",
        "put it in the URL (postgresql://USER:PASSWORD@HOST/DATABASE) or ~/.pgpass",
    ),
    ("timeout expired", "no answer", "is the host reachable and the port right?"),
    ("failed to resolve host", "unknown host name", "check the host in the URL"),
    (
        "could not translate host name",
        "unknown host name",
        "check the host in the URL (or the network's DNS)",
    ),
    (
        "no such file or directory",
        "no server socket there",
        "is PostgreSQL running? (the URL names a socket directory)",
    ),
    (
        "no pg_hba.conf entry",
        "the server refuses this host, user or database",
        "allow it in the server's pg_hba.conf",
    ),
)


def unavailable(target: Target, exc: BaseException) -> DatabaseUnavailable:
    """One clear sentence for a failed connection, from libpq's (long) message."""
    text = str(exc)
    lowered = text.lower()
    if 'role "' in lowered and "does not exist" in lowered:
        return DatabaseUnavailable(
            target,
            f"role {target.user!r} does not exist",
            f"check the user in the URL, or create the role (CREATE ROLE {target.user} LOGIN)",
        )
    if 'database "' in lowered and "does not exist" in lowered:
        return DatabaseUnavailable(
            target,
            f"database {target.dbname!r} does not exist",
            "create it with `news-ingest db create` (or createdb), or fix the URL",
        )
    for needle, reason, hint in _CONNECT_FAILURES:
        if needle in lowered:
            return DatabaseUnavailable(target, reason, hint)
    return DatabaseUnavailable(target, _libpq_reason(text), "is the URL right?")


def _libpq_reason(text: str) -> str:
    """The last, most specific part of libpq's 'connection to server at ... failed: why'."""
    line = text.strip().splitlines()[0] if text.strip() else "connection failed"
    return line.rsplit(" failed: ", 1)[-1].strip()[:300]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def validate_schema_name(schema: str) -> str:
    if not SCHEMA_NAME_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def connect(
    url: str | None = None, *, schema: str = DEFAULT_SCHEMA, autocommit: bool = False
) -> psycopg.Connection[Any]:
    """A connection whose search_path is `schema`, so every query uses unqualified names."""
    validate_schema_name(schema)
    return _open(
        url or database_url(),
        autocommit=autocommit,
        options=f"-c search_path={schema}",
        application_name="news-ingest",
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
    url = url or database_url()
    return ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={
            **_connect_kwargs(url),
            "autocommit": True,
            "options": f"-c search_path={schema}",
            "application_name": "news-ingest",
        },
        open=True,
        name="news-ingest",
        # An idle connection may have died (PostgreSQL restarted, a proxy timed it out):
        # test it on checkout, so the next statement gets a live one instead of an error.
        check=ConnectionPool.check_connection,
    )


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


def _yoyo_uri(url: str, schema: str) -> str:
    """yoyo wants a URI of its own; pass every libpq parameter through as a query argument."""
    params = {k: v for k, v in conninfo_to_dict(url).items() if v is not None}
    params.update({k: str(v) for k, v in _connect_kwargs(url).items()})
    params["schema"] = schema
    return "postgresql+psycopg:///?" + urlencode(params)


def migrate(url: str | None = None, *, schema: str = DEFAULT_SCHEMA) -> list[str]:
    """Apply pending migrations from sql/ to `schema`; return the ids applied.

    Safe to run from several processes at once: a session-level advisory lock (released
    by PostgreSQL even if this process is killed) serialises migrators per schema.
    """
    from yoyo import get_backend, read_migrations

    url = url or database_url()
    validate_schema_name(schema)
    migrations = read_migrations(str(sql_dir()))
    with _open(url, autocommit=True) as lock_conn:
        lock_conn.execute(
            "SELECT pg_advisory_lock(hashtext(%s))", (f"news-ingest:migrate:{schema}",)
        )
        try:
            lock_conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
            )
            backend = get_backend(_yoyo_uri(url, schema))
            try:
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
            finally:
                backend.connection.close()
        finally:
            lock_conn.execute(
                "SELECT pg_advisory_unlock(hashtext(%s))", (f"news-ingest:migrate:{schema}",)
            )
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
    with _open(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
