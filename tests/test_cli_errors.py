"""pipeline.cli.errors: every expected failure of a command is one line on stderr and an exit
status (2: the database cannot be used, 1: anything else expected); a bug keeps its traceback.
The failures are real ones, raised by a real PostgreSQL where they come from one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer
from hostile_http import closed_port
from psycopg_pool import ConnectionPool, PoolTimeout

from pipeline.analytics.rollup import RollupMissingError, refresh_rollups
from pipeline.cli.errors import (
    DATABASE_EXIT,
    FAILURE_EXIT,
    Failure,
    describe,
    run_and_report,
    set_verbosity,
)
from pipeline.store import db, embedded, migrations


def raised(call: Any, *args: Any) -> BaseException:
    """The exception `call(*args)` raises (the test fails if it raises none)."""
    try:
        call(*args)
    except Exception as exc:
        return exc
    raise AssertionError(f"{call} raised nothing")


@pytest.fixture
def where(conn: psycopg.Connection[Any], db_url: str) -> str:
    """' at HOST:PORT, database …': the place failures name (the last database connected)."""
    assert db.last_target() == db.target_of(db_url)
    return f" at {db.target_of(db_url)}"


def test_connection_failures_are_their_own_sentence_and_exit_2() -> None:
    unreachable = raised(db.connect, f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
    malformed = raised(db.target_of, "not a url")
    for exc in (unreachable, malformed):
        assert describe(exc) == Failure(str(exc), DATABASE_EXIT)


def test_the_embedded_database_and_lock_waits_are_database_failures() -> None:
    for exc in (
        embedded.EmbeddedDatabaseError("the embedded PostgreSQL did not start: port 5433 in use"),
        db.LockWaitError("gave up after 60 s waiting for the store lock in schema news"),
    ):
        assert describe(exc) == Failure(str(exc), DATABASE_EXIT)


def test_an_exhausted_pool_asks_whether_the_server_is_down(db_url: str, where: str) -> None:
    with ConnectionPool(db_url, min_size=1, max_size=1, open=True) as pool, pool.connection():
        exc = raised(pool.getconn, 0.1)
    assert isinstance(exc, PoolTimeout)
    failure = describe(exc)
    assert failure is not None
    assert failure.status == DATABASE_EXIT
    assert failure.line.startswith(f"PostgreSQL{where} gave no connection in time (")
    assert failure.line.endswith("); is it down or overloaded?")


def test_the_read_only_role_is_told_it_can_only_read(
    conn: psycopg.Connection[Any], where: str
) -> None:
    conn.execute("SET ROLE news_reader")
    exc = raised(conn.execute, "INSERT INTO sources (name, url) VALUES ('x', 'https://x/')")
    assert describe(exc) == Failure(
        f"PostgreSQL{where} refused: permission denied for table sources; connect as a user "
        "allowed to write the schema (news_reader can only read)",
        DATABASE_EXIT,
    )


def test_a_database_without_the_tables_says_to_migrate(
    conn: psycopg.Connection[Any], where: str
) -> None:
    missing_table = raised(conn.execute, "SELECT * FROM no_such_table")
    missing_view = raised(refresh_rollups, conn, ("v_not_there",))
    assert isinstance(missing_view, RollupMissingError)
    for exc in (missing_table, missing_view):
        failure = describe(exc)
        assert failure is not None
        assert failure.status == FAILURE_EXIT
        assert failure.line.startswith(f"the database{where} lacks the pipeline's tables (")
        assert failure.line.endswith("): run `news-ingest migrate`")


@pytest.fixture
def lock_holder(db_url: str) -> Iterator[None]:
    with psycopg.connect(db_url) as other:
        other.execute("LOCK TABLE news.sources IN ACCESS EXCLUSIVE MODE")
        yield
        other.rollback()


@pytest.mark.usefixtures("lock_holder")
def test_a_lock_timeout_points_at_long_transactions(
    conn: psycopg.Connection[Any], where: str
) -> None:
    conn.execute("SET lock_timeout = '50ms'")
    exc = raised(conn.execute, "SELECT count(*) FROM sources")
    failure = describe(exc)
    assert failure is not None
    assert failure.status == DATABASE_EXIT
    assert failure.line.startswith(
        f"PostgreSQL{where}: gave up waiting for a lock another session holds ("
    )
    assert failure.line.endswith("); see pg_stat_activity for long transactions")


def test_a_lost_connection_and_other_database_errors_are_one_line(
    db_url: str, conn: psycopg.Connection[Any], where: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as doomed:
        conn.execute("SELECT pg_terminate_backend(%s)", (doomed.info.backend_pid,))
        lost = raised(doomed.execute, "SELECT 1")
    failure = describe(lost)
    assert failure is not None
    assert failure.status == DATABASE_EXIT
    assert failure.line.startswith(f"lost the connection to PostgreSQL{where}: ")
    assert "\n" not in failure.line

    division = raised(conn.execute, "SELECT 1 / 0")
    assert describe(division) == Failure(
        f"PostgreSQL{where} failed: division by zero", DATABASE_EXIT
    )


def test_missing_migrations_and_files_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(migrations.SQL_DIR_ENV, str(tmp_path / "nowhere"))
    no_sql = raised(migrations.sql_dir)
    assert describe(no_sql) == Failure(str(no_sql), FAILURE_EXIT)
    no_file = raised(open, tmp_path / "feeds.yaml")
    assert describe(no_file) == Failure(
        f"{tmp_path / 'feeds.yaml'}: No such file or directory", FAILURE_EXIT
    )


@pytest.mark.parametrize(
    "exc", [ValueError("bad value"), KeyError("x"), OSError("no file named"), RuntimeError()]
)
def test_anything_else_is_a_bug(exc: BaseException) -> None:
    assert describe(exc) is None


@pytest.fixture
def failing_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[typer.Typer]:
    """A one-command app whose command opens a file that is not there."""
    app = typer.Typer()

    @app.command()
    def read() -> None:
        (tmp_path / "missing.txt").read_text()

    monkeypatch.setattr(sys, "argv", ["news-ingest"])
    yield app
    set_verbosity(0)


def test_an_expected_failure_ends_the_command_in_one_line(
    failing_app: typer.Typer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run_and_report(failing_app)
    assert exited.value.code == FAILURE_EXIT
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'missing.txt'}: No such file or directory (-vv for details)\n"
    )


def test_the_traceback_comes_with_vv(
    failing_app: typer.Typer, capsys: pytest.CaptureFixture[str]
) -> None:
    set_verbosity(2)
    with pytest.raises(SystemExit):
        run_and_report(failing_app)
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.rstrip().endswith("No such file or directory")
    assert "-vv for details" not in err


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()

    @app.command()
    def crash() -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(sys, "argv", ["news-ingest"])
    with pytest.raises(ZeroDivisionError, match="a bug"):
        run_and_report(app)
