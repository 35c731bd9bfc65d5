"""Where the database is and how to connect to it; failures to connect as one clear sentence."""

from __future__ import annotations

import getpass
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from . import embedded

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
DATA_DIR_ENV = embedded.DATA_DIR_ENV
DEFAULT_SCHEMA = "news"
#: Seconds libpq waits for a server that does not answer, unless the URL or
#: $PGCONNECT_TIMEOUT says otherwise (libpq's own default is to wait forever).
DEFAULT_CONNECT_TIMEOUT = 10

SCHEMA_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Every session of ours waits at most this long for a lock, so a wait nobody foresaw (an
# analyst's long transaction, a stuck session) ends in a clear error instead of a stall.
LOCK_TIMEOUT_SECONDS = 60.0

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


def session_options(schema: str, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> str:
    """libpq `options` of every session of ours: unqualified names resolve in `schema`, and
    lock waits end after `lock_timeout` seconds."""
    validate_schema_name(schema)
    return f"-c search_path={schema} -c lock_timeout={round(lock_timeout * 1000)}"


def connect(
    url: str | None = None, *, schema: str = DEFAULT_SCHEMA, autocommit: bool = False
) -> psycopg.Connection[Any]:
    """A connection whose search_path is `schema`, so every query uses unqualified names,
    and whose lock waits end after LOCK_TIMEOUT_SECONDS."""
    return _open(
        url or database_url(),
        autocommit=autocommit,
        options=session_options(schema),
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
            "options": session_options(schema),
            "application_name": "news-ingest",
        },
        open=True,
        name="news-ingest",
        # An idle connection may have died (PostgreSQL restarted, a proxy timed it out):
        # test it on checkout, so the next statement gets a live one instead of an error.
        check=ConnectionPool.check_connection,
    )


class LockWaitError(RuntimeError):
    """A lock wait ran out; the message names the sessions holding locks on the schema."""


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


def drop_schema(url: str, schema: str) -> None:
    """Remove a (scratch) schema and everything in it."""
    validate_schema_name(schema)
    with _open(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
