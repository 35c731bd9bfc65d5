"""Expected failures of any command as one line on stderr and an exit status; the traceback
only with -vv. Anything not listed here is a bug and keeps its traceback."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

import psycopg
import typer
from psycopg_pool import PoolTimeout

from ..analytics.rollup import RollupMissingError
from ..store import db, embedded, migrations

#: Exit status when the database cannot be used (unreachable, refused, malformed URL).
DATABASE_EXIT = 2
#: Exit status for other expected failures (as for config errors).
FAILURE_EXIT = 1

_verbosity = 0


def set_verbosity(level: int) -> None:
    global _verbosity
    _verbosity = level


@dataclass(frozen=True)
class Failure:
    line: str
    status: int


def describe(exc: BaseException) -> Failure | None:
    """The one line and exit status for an expected failure; None for a bug."""
    if isinstance(exc, db.DatabaseUnavailable | db.DatabaseUrlError):
        return Failure(str(exc), DATABASE_EXIT)
    if isinstance(exc, embedded.EmbeddedDatabaseError | db.LockWaitError):
        return Failure(str(exc), DATABASE_EXIT)
    where = db.last_target()
    at = f" at {where}" if where else ""
    if isinstance(exc, PoolTimeout):
        return Failure(
            f"PostgreSQL{at} gave no connection in time ({_first_line(exc)}); "
            "is it down or overloaded?",
            DATABASE_EXIT,
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return Failure(
            f"PostgreSQL{at} refused: {_first_line(exc)}; connect as a user allowed to write "
            "the schema (news_reader can only read)",
            DATABASE_EXIT,
        )
    if isinstance(
        exc,
        psycopg.errors.UndefinedTable
        | psycopg.errors.UndefinedColumn
        | psycopg.errors.UndefinedFunction
        | RollupMissingError,
    ):
        return Failure(
            f"the database{at} lacks the pipeline's tables ({_first_line(exc)}): "
            "run `news-ingest migrate`",
            FAILURE_EXIT,
        )
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return Failure(
            f"PostgreSQL{at}: gave up waiting for a lock another session holds "
            f"({_first_line(exc)}); see pg_stat_activity for long transactions",
            DATABASE_EXIT,
        )
    if isinstance(exc, psycopg.OperationalError):
        return Failure(f"lost the connection to PostgreSQL{at}: {_first_line(exc)}", DATABASE_EXIT)
    if isinstance(exc, psycopg.Error):
        return Failure(f"PostgreSQL{at} failed: {_first_line(exc)}", DATABASE_EXIT)
    if isinstance(exc, migrations.MigrationsNotFoundError):
        return Failure(str(exc), FAILURE_EXIT)
    if isinstance(exc, OSError) and exc.filename is not None:
        return Failure(f"{exc.filename}: {exc.strerror or exc}", FAILURE_EXIT)
    return None


def run_and_report(app: typer.Typer) -> None:
    """Run the Typer app; an expected failure ends it with one line and its exit status."""
    try:
        app()
    except Exception as exc:
        failure = describe(exc)
        if failure is None:
            raise
        if _verbosity >= 2:
            traceback.print_exc(file=sys.stderr)
        hint = "" if _verbosity >= 2 else " (-vv for details)"
        typer.echo(f"error: {failure.line}{hint}", err=True)
        sys.exit(failure.status)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
