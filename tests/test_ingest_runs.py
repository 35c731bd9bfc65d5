"""pipeline.ingest.runs: news.runs and news.fetches, and a run's summary read back from what
it recorded (so the CLI and retried Airflow tasks report the same numbers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import psycopg
from newsrows import add_article, add_source, add_story

from pipeline.http import FetchOutcome, FetchResult
from pipeline.ingest.runs import (
    FeedSummary,
    feed_summaries,
    finish_run_row,
    new_run_id,
    record_fetch,
    run_stats,
    start_run,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fetched(url: str, outcome: FetchOutcome, status: int | None, **fields: Any) -> FetchResult:
    values: dict[str, Any] = {
        "url": url,
        "final_url": url,
        "outcome": outcome,
        "status": status,
        "content": b"",
        "content_type": None,
        "charset": None,
        "etag": None,
        "last_modified": None,
        "elapsed_ms": 12,
        "bytes_read": 0,
        "attempts": 1,
        "error": None,
    }
    return FetchResult(**(values | fields))


def record_feed(
    conn: psycopg.Connection[Any], run_id: str, source_id: int, result: FetchResult, **kw: Any
) -> None:
    record_fetch(conn, run_id=run_id, source_id=source_id, kind="feed", result=result, **kw)


def record_article(
    conn: psycopg.Connection[Any], run_id: str, source_id: int, outcome: FetchOutcome
) -> None:
    status = 200 if outcome is FetchOutcome.OK else 404
    result = fetched(f"https://x.example/{outcome}", outcome, status)
    record_fetch(conn, run_id=run_id, source_id=source_id, kind="article", result=result)


def test_run_ids_name_their_trigger_and_time() -> None:
    run_id = new_run_id("cli")
    assert re.fullmatch(r"cli-\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)
    assert new_run_id("cli") != run_id


def test_a_run_row_is_started_once_and_finished_with_its_stats(
    conn: psycopg.Connection[Any],
) -> None:
    start_run(conn, "airflow-1", "airflow")
    start_run(conn, "airflow-1", "airflow")  # a retried task finds it there
    assert conn.execute("SELECT count(*), bool_and(finished_at IS NULL) FROM runs").fetchone() == (
        1,
        True,
    )
    finish_run_row(conn, "airflow-1", {"feeds": 2, "failed_feeds": ["b"]})
    stats, finished = conn.execute("SELECT stats, finished_at FROM runs").fetchone()
    assert stats == {"feeds": 2, "failed_feeds": ["b"]}
    assert finished is not None


def test_a_fetch_row_keeps_what_servers_sent_but_never_a_nul(
    conn: psycopg.Connection[Any],
) -> None:
    source = add_source(conn, "kurier")
    start_run(conn, "cli-1", "cli")
    result = fetched(
        "https://kurier.example/feed.xml",
        FetchOutcome.OK,
        200,
        etag='"a\x00b"',
        last_modified="Mon, 02 Mar 2026 08:00:00 GMT",
        bytes_read=512,
    )
    record_feed(conn, "cli-1", source, result, warnings="entry 3:\x00 no link", entries=7)
    row = conn.execute(
        "SELECT kind, url, http_status, bytes, etag, last_modified, outcome, error, warnings,"
        " entries, duration_ms FROM fetches"
    ).fetchone()
    assert row == (
        "feed",
        "https://kurier.example/feed.xml",
        200,
        512,
        '"a\ufffdb"',
        "Mon, 02 Mar 2026 08:00:00 GMT",
        "ok",
        None,
        "entry 3:\ufffd no link",
        7,
        12,
    )


def test_a_later_stage_overrides_the_downloads_outcome(conn: psycopg.Connection[Any]) -> None:
    """A feed downloaded fine but unreadable is recorded as a parse error."""
    source = add_source(conn, "kurier")
    result = fetched("https://kurier.example/feed.xml", FetchOutcome.OK, 200)
    record_fetch(
        conn,
        run_id=None,
        source_id=source,
        kind="feed",
        result=result,
        outcome="parse_error",
        error="not a feed: no RSS or Atom root element",
    )
    assert conn.execute("SELECT outcome, error, http_status FROM fetches").fetchone() == (
        "parse_error",
        "not a feed: no RSS or Atom root element",
        200,
    )


def test_feed_summaries_count_what_the_run_recorded(conn: psycopg.Connection[Any]) -> None:
    run, earlier = "cli-now", "cli-before"
    start_run(conn, earlier, "cli")
    start_run(conn, run, "cli")
    ok = add_source(conn, "a-ok")
    quiet = add_source(conn, "b-quiet")
    broken = add_source(conn, "c-broken")
    add_source(conn, "d-idle")  # enabled, but this run never fetched it
    add_source(conn, "e-gone", enabled=False)  # removed from the config, nothing this run
    feed = "https://a-ok.example/feed.xml"
    # a-ok: a failed first attempt, then the feed; 3 articles fetched, 1 failed
    record_feed(conn, run, ok, fetched(feed, FetchOutcome.TIMEOUT, None, error="slow"))
    record_feed(conn, run, ok, fetched(feed, FetchOutcome.OK, 200), entries=5)
    for outcome in (FetchOutcome.OK, FetchOutcome.OK, FetchOutcome.OK, FetchOutcome.HTTP_ERROR):
        record_article(conn, run, ok, outcome)
    story = add_story(conn, "Gipfel", at=NOW)
    first = None
    # a/1 opens the story, a/2 is a copy of it, a/3 another report; a/0 an earlier run's
    for path, layer, run_id in (
        ("1", None, run),
        ("2", "exact", run),
        ("3", "same_story", run),
        ("0", None, earlier),
    ):
        article = add_article(
            conn,
            story_id=story,
            source_id=ok,
            url=f"https://a/{path}",
            fetched_at=NOW,
            run_id=run_id,
            matched=(first, layer) if first and layer else None,
        )
        first = first or article
    # an earlier run's feed fetch is not this run's either
    record_feed(conn, earlier, broken, fetched(feed, FetchOutcome.OK, 200), entries=9)
    # b-quiet: 304; c-broken: 404
    record_feed(conn, run, quiet, fetched("https://b/", FetchOutcome.NOT_MODIFIED, 304))
    error = "HTTP 404 Not Found"
    record_feed(conn, run, broken, fetched("https://c/", FetchOutcome.HTTP_ERROR, 404, error=error))

    summaries = feed_summaries(conn, run)

    assert summaries == [
        FeedSummary("a-ok", "ok", 200, 5, 3, 1, 1, 1, 1, None),
        FeedSummary("b-quiet", "not_modified", 304, 0, 0, 0, 0, 0, 0, None),
        FeedSummary("c-broken", "failed", 404, 0, 0, 0, 0, 0, 0, "HTTP 404 Not Found"),
        FeedSummary("d-idle", "failed", None, 0, 0, 0, 0, 0, 0, "feed was not fetched in this run"),
    ]


def test_run_stats_add_up_the_summaries() -> None:
    summaries = [
        FeedSummary("a", "ok", 200, 5, 3, 1, 1, 1, 1, None),
        FeedSummary("b", "not_modified", 304, 0, 0, 0, 0, 0, 0, None),
        FeedSummary("c", "failed", 404, 0, 0, 0, 0, 0, 0, "HTTP 404 Not Found"),
        FeedSummary("d", "ok", 200, 2, 2, 0, 2, 0, 0, None),
    ]
    assert run_stats(summaries, seconds=3.456) == {
        "feeds": 4,
        "feeds_ok": 2,
        "feeds_not_modified": 1,
        "feeds_failed": 1,
        "articles_fetched": 5,
        "articles_new": 1,
        "articles_copies": 3,
        "articles_same_story": 1,
        "articles_failed": 1,
        "seconds": 3.46,
        "failed_feeds": ["c"],
    }
