"""pipeline.ingest.recorder: the one writer of a feed's outcomes, on a real database."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from newssite import NewsSite, feed_item, fixture_article, render_article_page, render_rss
from pytest_httpserver import HTTPServer

from pipeline.config import Feed, FetchSettings
from pipeline.feeds.fetch import FeedFetch, fetch_feed
from pipeline.http import Fetcher
from pipeline.ingest.collect import Extracted, Failed, download_article
from pipeline.ingest.recorder import Recorder
from pipeline.ingest.sources import SourceState, source_state, sync_sources
from pipeline.store import db
from pipeline.store.staging import record_failure

SETTINGS = FetchSettings(
    connect_timeout=2, read_timeout=2, total_timeout=5, max_retries=0, respect_robots=False
)
ARTICLES = ("hochwasser-nahe-bad-kreuznach", "stadtrat-muehlbach-radwege")
FEED = Feed(name="kurier", url="https://kurier.example/feed.xml")


@pytest.fixture
def site(httpserver_ipv4: HTTPServer) -> NewsSite:
    site = NewsSite(httpserver_ipv4)
    items = []
    for slug in ARTICLES:
        article = fixture_article(slug)
        url = site.add_page(f"/{slug}", render_article_page(article, site_name="Kurier"))
        items.append(feed_item(article, url))
    site.add_feed("/feed.xml", render_rss(items, title="Kurier", link=site.url("/")))
    return site


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(SETTINGS, allow_private_networks=True) as guarded:
        yield guarded


@pytest.fixture
def recorder(db_url: str, conn: psycopg.Connection[Any], site: NewsSite) -> Iterator[Recorder]:
    sync_sources(conn, [Feed(name="kurier", url=site.url("/feed.xml"))])
    conn.execute("INSERT INTO runs (id, trigger) VALUES ('r1', 'cli')")
    with db.pool(db_url, max_size=2) as pool:
        yield Recorder(pool, source_state(conn, "kurier"), "r1")


def fetches(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT kind, outcome, http_status, entries, error FROM fetches ORDER BY id"
    ).fetchall()


def feed(site: NewsSite, fetcher: Fetcher, source: SourceState | None = None) -> FeedFetch:
    return fetch_feed(
        fetcher,
        site.url("/feed.xml"),
        SETTINGS,
        etag=source.etag if source else None,
        last_modified=source.last_modified if source else None,
    )


def test_feed_fetch_then_validators_make_the_next_poll_a_304(
    recorder: Recorder, site: NewsSite, fetcher: Fetcher, conn: psycopg.Connection[Any]
) -> None:
    fetched = feed(site, fetcher)
    recorder.feed_fetched(fetched)
    assert fetches(conn) == [("feed", "ok", 200, 2, None)]
    recorder.feed_done(fetched)
    source = source_state(conn, "kurier")
    assert source.etag == site.etag("/feed.xml")

    again = feed(site, fetcher, source)
    assert again.not_modified
    recorder.feed_fetched(again)
    assert fetches(conn)[-1] == ("feed", "not_modified", 304, None, None)
    (last_fetched,) = conn.execute("SELECT last_fetched_at FROM sources").fetchone()
    assert last_fetched is not None


def test_staged_articles_come_with_their_ok_fetch_rows(
    recorder: Recorder, site: NewsSite, fetcher: Fetcher, conn: psycopg.Connection[Any]
) -> None:
    fetched = feed(site, fetcher)
    assert fetched.parsed is not None
    pending = recorder.pending(fetched.parsed.entries, max_attempts=5, limit=10)
    assert len(pending) == 2
    batch = [download_article(fetcher, entry, SETTINGS, FEED) for entry in pending]
    assert all(isinstance(outcome, Extracted) for outcome in batch)
    staged = recorder.stage(batch, [{"v": 0}] * len(batch))  # type: ignore[arg-type]

    assert sorted(staged) == sorted(entry.canonical_url for entry in pending)
    assert [row[:2] for row in fetches(conn)] == [("article", "ok")] * 2
    # Seen now: a later poll of the same feed has nothing new to fetch.
    assert recorder.pending(fetched.parsed.entries, max_attempts=5, limit=10) == []


def test_an_article_the_database_refuses_costs_only_itself(
    recorder: Recorder, site: NewsSite, fetcher: Fetcher, conn: psycopg.Connection[Any]
) -> None:
    """A staged row PostgreSQL refuses (here a key over the btree row limit) is a failed
    item with its reason; no ok fetch row claims it, and its sibling is staged."""
    fetched = feed(site, fetcher)
    assert fetched.parsed is not None
    good, bad = (
        download_article(fetcher, entry, SETTINGS, FEED) for entry in fetched.parsed.entries
    )
    assert isinstance(good, Extracted)
    assert isinstance(bad, Extracted)
    # Random, so PostgreSQL cannot compress it under the limit.
    key = bad.record.canonical_url + "?" + base64.b64encode(os.urandom(3000)).decode()
    huge = replace(bad.record, canonical_url=key)
    staged = recorder.stage([replace(bad, record=huge), good], [None, None])

    assert staged == [good.record.canonical_url]
    assert [row[:2] for row in fetches(conn)] == [("article", "stage_error"), ("article", "ok")]
    (error,) = conn.execute("SELECT error FROM fetches WHERE outcome = 'stage_error'").fetchone()
    assert "index row" in error
    (stage, retryable) = conn.execute("SELECT stage, retryable FROM failed_items").fetchone()
    assert (stage, retryable) == ("stage", True)


def test_failures_are_recorded_and_come_back_while_retryable(
    recorder: Recorder, site: NewsSite, fetcher: Fetcher, conn: psycopg.Connection[Any]
) -> None:
    fetched = feed(site, fetcher)
    assert fetched.parsed is not None
    first, second = fetched.parsed.entries
    site.add_page(f"/{ARTICLES[0]}", "<html>later</html>", status=503)
    site.add_page(f"/{ARTICLES[1]}", "gone", status=410)
    for entry in (first, second):
        outcome = download_article(fetcher, entry, SETTINGS, FEED)
        assert isinstance(outcome, Failed)
        recorder.failed(outcome)

    assert [row[:3] for row in fetches(conn)] == [
        ("article", "http_error", 503),
        ("article", "http_error", 410),
    ]
    rows = conn.execute(
        "SELECT canonical_url, stage, retryable, attempts FROM failed_items ORDER BY id"
    ).fetchall()
    assert rows == [
        (first.canonical_url, "fetch", True, 1),
        (second.canonical_url, "fetch", False, 1),
    ]
    # The retryable one comes back even when the feed no longer lists it; the other does not.
    assert recorder.pending([], max_attempts=5, limit=10) == [first]
    assert recorder.pending([], max_attempts=1, limit=10) == []  # out of attempts


def test_retries_wait_for_their_turn_oldest_failure_first(
    recorder: Recorder, conn: psycopg.Connection[Any], site: NewsSite, fetcher: Fetcher
) -> None:
    fetched = feed(site, fetcher)
    assert fetched.parsed is not None
    first, second = fetched.parsed.entries
    for entry in (second, first):
        record_failure(
            conn,
            source_id=recorder.source.id,
            entry=entry,
            stage="extract",
            error="stub page",
            retryable=True,
        )
    conn.execute(
        "UPDATE failed_items SET last_failed_at = %s WHERE canonical_url = %s",
        (datetime(2024, 1, 1, tzinfo=UTC), first.canonical_url),
    )
    assert recorder.pending([], max_attempts=5, limit=1) == [first]
