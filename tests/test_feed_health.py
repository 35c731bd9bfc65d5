"""news.feed_health (sql/0010_feed_health.sql): one row per feed with its last success, last
error, failed runs in a row, median response time and the articles it delivered, computed
from a real ingest run plus fetch histories written the way the pipeline writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from newssite import SiteMap

from pipeline.ingest import load_config, run_cycle


def health(conn: psycopg.Connection[Any], source: str) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM news.feed_health WHERE source = %s", (source,))
    row = cur.fetchone()
    assert row is not None
    assert cur.description is not None
    return dict(zip([c.name for c in cur.description], row, strict=True))


def add_source(conn: psycopg.Connection[Any], name: str) -> int:
    (source_id,) = conn.execute(
        "INSERT INTO sources (name, url) VALUES (%s, %s) RETURNING id",
        (name, f"https://{name}.example/feed.xml"),
    ).fetchone()  # type: ignore[misc]
    return int(source_id)


def add_fetch(
    conn: psycopg.Connection[Any],
    source_id: int,
    run_id: str,
    at: datetime,
    *,
    status: int,
    ms: int,
    error: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO runs (id, trigger, started_at) VALUES (%s, 'airflow', %s)"
        " ON CONFLICT (id) DO NOTHING",
        (run_id, at),
    )
    outcome = {200: "ok", 304: "not_modified"}.get(status, "http_error")
    conn.execute(
        """INSERT INTO fetches (run_id, source_id, kind, url, fetched_at, duration_ms,
                                http_status, outcome, error)
           VALUES (%s, %s, 'feed', 'https://x.example/feed.xml', %s, %s, %s, %s, %s)""",
        (run_id, source_id, at, ms, status, outcome, error),
    )


def test_a_failing_feed_counts_failed_runs_not_attempts(conn: psycopg.Connection[Any]) -> None:
    source = add_source(conn, "wobbly")
    t0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    add_fetch(conn, source, "r1", t0, status=200, ms=100)
    add_fetch(conn, source, "r2", t0 + timedelta(minutes=15), status=304, ms=300)
    # r3: the shard's fetch and two retry_feed attempts, all 503; r4: a 500.
    for attempt in range(3):
        add_fetch(
            conn,
            source,
            "r3",
            t0 + timedelta(minutes=30, seconds=40 * attempt),
            status=503,
            ms=200,
            error="HTTP 503 Service Unavailable",
        )
    add_fetch(
        conn, source, "r4", t0 + timedelta(minutes=45), status=500, ms=50, error="HTTP 500 oops"
    )

    row = health(conn, "wobbly")
    assert row["last_success_at"] == t0 + timedelta(minutes=15)
    assert row["consecutive_failures"] == 2  # runs r3 and r4, not 4 attempts
    assert row["failing_since"] == t0 + timedelta(minutes=30)
    assert (row["last_error_at"], row["last_error_status"], row["last_error"]) == (
        t0 + timedelta(minutes=45),
        500,
        "HTTP 500 oops",
    )
    assert (row["last_fetch_at"], row["last_outcome"]) == (row["last_error_at"], "http_error")
    assert row["median_response_ms"] == 200  # of 100, 300, 200, 200, 200, 50
    assert (row["articles_24h"], row["articles_7d"]) == (0, 0)

    # It recovers: the streak ends, the last error stays on record.
    add_fetch(conn, source, "r5", t0 + timedelta(hours=1), status=304, ms=80)
    row = health(conn, "wobbly")
    assert (row["consecutive_failures"], row["failing_since"]) == (0, None)
    assert row["last_success_at"] == t0 + timedelta(hours=1)
    assert row["last_error"] == "HTTP 500 oops"


def test_a_feed_that_never_worked_fails_since_its_first_fetch(
    conn: psycopg.Connection[Any],
) -> None:
    source = add_source(conn, "never")
    t0 = datetime(2026, 2, 1, tzinfo=UTC)
    for run in range(3):
        add_fetch(conn, source, f"n{run}", t0 + timedelta(hours=run), status=404, ms=10)
    add_source(conn, "unpolled")

    row = health(conn, "never")
    assert row["last_success_at"] is None
    assert (row["consecutive_failures"], row["failing_since"]) == (3, t0)
    row = health(conn, "unpolled")
    assert (row["last_fetch_at"], row["consecutive_failures"], row["median_response_ms"]) == (
        None,
        0,
        None,
    )


def test_articles_of_an_ingest_run_count_per_feed_and_window(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    run_cycle(load_config(seed_config), url=db_url)
    stored = dict(
        conn.execute(
            "SELECT s.name, count(*) FROM articles a JOIN sources s ON s.id = a.source_id"
            " GROUP BY s.name"
        ).fetchall()
    )
    welt = health(conn, "welt")
    assert welt["articles_24h"] == welt["articles_7d"] == stored["welt"] > 1
    assert welt["consecutive_failures"] == 0
    assert welt["last_error"] is None
    assert welt["median_response_ms"] is not None

    # One article three days old, one three weeks old: out of 24 h, and out of both.
    conn.execute(
        """UPDATE articles SET fetched_at = now() - CASE WHEN n = 1 THEN interval '3 days'
                                                         ELSE interval '21 days' END
           FROM (SELECT a.id, row_number() OVER (ORDER BY a.id) AS n
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE s.name = 'welt' ORDER BY a.id LIMIT 2) AS old
           WHERE articles.id = old.id"""
    )
    welt = health(conn, "welt")
    assert (welt["articles_24h"], welt["articles_7d"]) == (stored["welt"] - 2, stored["welt"] - 1)
    (feeds,) = conn.execute("SELECT count(*) FROM news.feed_health").fetchone()  # type: ignore[misc]
    assert feeds == len(seed_site.feeds)


def test_the_read_only_role_reads_it(conn: psycopg.Connection[Any]) -> None:
    add_source(conn, "visible")
    conn.execute("SET ROLE news_reader")
    assert conn.execute("SELECT source FROM news.feed_health").fetchall() == [("visible",)]
