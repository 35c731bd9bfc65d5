"""`news-ingest db ...` and `news-ingest rollup`: where the database is, how to reach it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from typing import Annotated, Any

import psycopg
import typer
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..store import db, embedded, migrations
from .common import SchemaOption, err, out, plural

db_app = typer.Typer(
    help="Where the database is and how to reach it: info, psql, start, stop, create.",
    no_args_is_help=True,
)


@db_app.command("info")
def db_info(schema: SchemaOption = db.DEFAULT_SCHEMA) -> None:
    """Print where the database is, whether it runs, and how to connect to it.

    Does not start the embedded server; exit status 2 if $DATABASE_URL cannot be reached.
    """
    url = os.environ.get(db.DATABASE_URL_ENV)
    if url:
        _say(f"database: PostgreSQL at {db.target_of(url)}")
        _say(f"schema {schema}: {_schema_summary(url, schema)}")
        _say("connect: news-ingest db psql, or any client with $DATABASE_URL")
        return
    status = embedded.status()
    where = status.location
    version = f" {status.postgres_version}" if status.postgres_version else ""
    size = f" ({_megabytes(status.bytes_on_disk)})" if status.initialised else " (not created yet)"
    _say(f"database: embedded PostgreSQL{version} in {where.pgdata}{size}")
    _say(
        f"location: {where.source}"
        + ("" if where.source.startswith("$") else f" (set ${embedded.HOME_ENV} to move it)")
    )
    if status.kept:
        _say(f"server: running (pid {status.pid}) until `news-ingest db stop`")
        _say(f"connect: {status.url}  (psql, Metabase, DBeaver)")
    elif status.running:
        _say(f"server: running for a news-ingest command (pid {status.pid}); stops after it")
    else:
        _say("server: stopped; each command starts it and stops it when done")
    if status.running and status.socket_url:
        _say(f"schema {schema}: {_schema_summary(status.socket_url, schema)}")
    if not status.kept:
        _say(
            "connect: news-ingest db psql; or news-ingest db start for a URL "
            "(psql, Metabase, DBeaver) until news-ingest db stop"
        )


@db_app.command(
    "psql",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def db_psql(
    ctx: typer.Context,
    schema: SchemaOption = db.DEFAULT_SCHEMA,
) -> None:
    """Open psql on the configured database ($DATABASE_URL, else the embedded one, migrated
    first), with the schema first on the search_path. Other arguments go to psql:
    news-ingest db psql -c 'select count(*) from news.articles'."""
    url = db.database_url()
    db.target_of(url)  # a malformed URL is one line, not a psql error
    if os.environ.get(db.DATABASE_URL_ENV):
        with db.connection(url, autocommit=True):  # unreachable: our one line, not psql's two
            pass
    else:
        # Our own database: the analysts' tables and views are there even before a first run.
        migrations.migrate(url, schema=schema)
    psql = _psql_executable()
    env = dict(os.environ)
    env.setdefault("PGOPTIONS", f"-c search_path={db.validate_schema_name(schema)},public")
    # The password goes by environment, not on psql's command line (which `ps` shows).
    params = {k: v for k, v in conninfo_to_dict(url).items() if v is not None}
    if "password" in params:
        env["PGPASSWORD"] = str(params.pop("password"))
    # psql handles Ctrl-C itself (cancels the query); this process waits for it, then stops
    # the embedded server if it started it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        completed = subprocess.run(  # noqa: S603 (our psql, the user's own arguments)
            [psql, f"--dbname={make_conninfo(**params)}", *ctx.args], env=env, check=False
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    raise typer.Exit(completed.returncode)


@db_app.command("start")
def db_start(
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="TCP port on 127.0.0.1 "
            f"[default: the last one used, else {embedded.DEFAULT_PORT}].",
            show_default=False,
        ),
    ] = None,
    schema: SchemaOption = db.DEFAULT_SCHEMA,
) -> None:
    """Keep the embedded PostgreSQL running (on 127.0.0.1, with a password) and print its URL
    on stdout, for psql, Metabase or DBeaver, until `news-ingest db stop`.

    Commands run meanwhile use the same server. Applies pending migrations, so the schema
    is there to query.
    """
    _refuse_with_database_url("db start")
    kept = embedded.keep_running(port)
    applied = migrations.migrate(kept.url, schema=schema)
    state = "already running" if kept.already_running else "started"
    migrated = f"; applied {plural(len(applied), 'migration')}" if applied else ""
    err.print(
        f"embedded PostgreSQL {state} (pid {kept.pid}){migrated}; it runs until "
        "`news-ingest db stop`. Connect with:",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(kept.url)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL that `news-ingest db start` keeps running."""
    _refuse_with_database_url("db stop")
    pid = embedded.stop_kept()
    if pid is None:
        out.print("the embedded PostgreSQL is not running", highlight=False)
    else:
        out.print(f"stopped the embedded PostgreSQL (pid {pid})", highlight=False)


@db_app.command("create")
def db_create(schema: SchemaOption = db.DEFAULT_SCHEMA) -> None:
    """Create the database $DATABASE_URL names (if missing) and apply the migrations; with no
    DATABASE_URL, create the embedded database."""
    url = db.database_url()
    target = db.target_of(url)
    if os.environ.get(db.DATABASE_URL_ENV):
        created = _create_database(url, target)
        what = f"{'created' if created else 'found'} database {target.dbname}"
    else:
        what = f"embedded database ready in {embedded.location().pgdata}"
    applied = migrations.migrate(url, schema=schema)
    migrated = f"applied {plural(len(applied), 'migration')}" if applied else "schema is up to date"
    out.print(f"{what}; {migrated} (schema {schema})", highlight=False, soft_wrap=True)


def rollup(schema: SchemaOption = db.DEFAULT_SCHEMA) -> None:
    """Refresh the analysts' daily rollup (news.v_daily_stories) now; `run` does it after
    every cycle, the news_stories_rollup DAG after every Airflow run."""
    from ..ingest import refresh_rollups

    for refreshed in refresh_rollups(schema=schema):
        out.print(
            f"refreshed {refreshed.view}: {plural(refreshed.rows, 'row')} "
            f"in {refreshed.seconds:.2f} s",
            highlight=False,
        )


# --- helpers ----------------------------------------------------------------------------------


def _say(line: str) -> None:
    out.print(line, markup=False, highlight=False, soft_wrap=True)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _refuse_with_database_url(command: str) -> None:
    if os.environ.get(db.DATABASE_URL_ENV):
        err.print(
            f"error: {command} manages the embedded database, but DATABASE_URL is set "
            f"({db.target_of(os.environ[db.DATABASE_URL_ENV])}); unset it to use the embedded one",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _schema_summary(url: str, schema: str) -> str:
    """'5 migrations applied, 120 articles in 80 stories', or what is missing."""
    applied = migrations.applied_migrations(url, schema=schema)
    if not applied:
        return "not migrated yet (news-ingest migrate)"
    with db.connection(url, schema=schema, autocommit=True) as conn:
        row: Any = conn.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM stories)"
        ).fetchone()
    return (
        f"{plural(len(applied), 'migration')} applied (latest {applied[-1]}), "
        f"{plural(row[0], 'article')} in {plural(row[1], 'story', 'stories')}"
    )


def _psql_executable() -> str:
    """psql of the embedded server's binaries (always installed with news-ingest), else the
    one on PATH."""
    shipped = embedded.psql_executable()
    if shipped.is_file():
        return str(shipped)
    found = shutil.which("psql")
    if found is None:
        err.print("error: psql not found", highlight=False)
        raise typer.Exit(1)
    return found


def _create_database(url: str, target: db.Target) -> bool:
    """CREATE DATABASE target.dbname through the server's maintenance database; False if it
    already exists."""
    params = {k: v for k, v in conninfo_to_dict(url).items() if v is not None}
    last_error: db.DatabaseUnavailable | None = None
    for maintenance in ("postgres", "template1"):
        params["dbname"] = maintenance
        try:
            with db.connection(make_conninfo(**params), autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (target.dbname,)
                ).fetchone()
                if exists:
                    return False
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.dbname)))
                return True
        except db.DatabaseUnavailable as exc:
            if "does not exist" not in exc.reason:
                raise
            last_error = exc
        except psycopg.errors.InsufficientPrivilege:
            err.print(
                f"error: user {target.user} may not create databases on {target.host}:"
                f"{target.port}; ask an administrator: CREATE DATABASE {target.dbname} "
                f"OWNER {target.user}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from None
    assert last_error is not None
    raise last_error
