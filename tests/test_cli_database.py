"""pipeline.cli.database: `news-ingest db info|create|start|stop` and `rollup` with
$DATABASE_URL naming a real PostgreSQL. The embedded database's commands are run end to end
in test_first_hour.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from cli_runner import news_ingest
from newsrows import add_article, add_source, add_story

from pipeline.store import db, migrations

MOMENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add_one_article(conn: psycopg.Connection[Any]) -> None:
    story = add_story(conn, "Gipfel", at=MOMENT)
    source = add_source(conn, "kurier")
    add_article(conn, story_id=story, source_id=source, url="https://k/1", fetched_at=MOMENT)


def latest_migration() -> tuple[int, str]:
    ids = sorted(path.stem for path in migrations.sql_dir().glob("*.sql"))
    return len(ids), ids[-1]


def test_info_says_where_the_database_is_and_what_it_holds(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    add_one_article(conn)
    count, latest = latest_migration()

    result = news_ingest("db", "info")

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"database: PostgreSQL at {db.target_of(db_url)}",
        f"schema news: {count} migrations applied (latest {latest}), 1 article in 1 story",
        "connect: news-ingest db psql, or any client with $DATABASE_URL",
    ]


def test_info_on_a_database_never_migrated_says_so(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.DATABASE_URL_ENV, empty_db_url)
    result = news_ingest("db", "info")
    assert "schema news: not migrated yet (news-ingest migrate)" in result.stdout


def test_create_finds_an_existing_database_and_migrates_nothing(db_url: str) -> None:
    result = news_ingest("db", "create")
    assert result.returncode == 0
    assert result.stdout == (
        f"found database {db.target_of(db_url).dbname}; schema is up to date (schema news)\n"
    )


@pytest.mark.parametrize("command", ["start", "stop"])
def test_the_embedded_servers_commands_refuse_to_run_beside_database_url(
    db_url: str, command: str
) -> None:
    result = news_ingest("db", command)
    assert result.returncode == 1
    assert " ".join(result.stderr.split()) == (
        f"error: db {command} manages the embedded database, but DATABASE_URL is set "
        f"({db.target_of(db_url)}); unset it to use the embedded one"
    )


def test_rollup_refreshes_the_daily_view_on_demand(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    add_one_article(conn)
    result = news_ingest("rollup")
    assert result.returncode == 0
    assert result.stdout.startswith("refreshed v_daily_stories: 1 row in ")
    assert conn.execute("SELECT day, articles FROM v_daily_stories").fetchall() == [
        (MOMENT.date(), 1)
    ]
