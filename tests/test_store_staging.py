"""pipeline.store.staging: the article queue between extraction and the store step (staged
articles, failed items, which feed entries still need work), on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from newsrows import add_article, add_source, add_story

from pipeline.feeds import FeedEntry
from pipeline.record import ArticleRecord
from pipeline.store.staging import record_failure, retry_entries, stage_article, unseen_entries
from pipeline.urls import canonical_url


def test_failed_items_take_any_value(conn: psycopg.Connection) -> None:
    huge = "https://s.example/" + "x" * 100_000
    entry = FeedEntry(huge, huge, "g" * 10_000, "T", None, None)
    assert (
        record_failure(
            conn, source_id=None, entry=entry, stage="fetch", error="e" * 10**6, retryable=True
        )
        == 1
    )
    assert (
        record_failure(
            conn, source_id=None, entry=entry, stage="fetch", error="again", retryable=True
        )
        == 2
    )
    (key,) = conn.execute("SELECT canonical_url FROM failed_items").fetchone()
    assert len(key.encode()) <= 2048


SUMMER = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


def entry(path: str, **changes: Any) -> FeedEntry:
    url = f"https://s.example/{path}?utm_source=rss"
    fields: dict[str, Any] = {
        "url": url,
        "canonical_url": canonical_url(url),
        "guid": f"g-{path}",
        "title": f"Titel {path}",
        "published_at": SUMMER,
        "summary": "Kurz.",
    }
    return FeedEntry(**(fields | changes))


def record(item: FeedEntry) -> ArticleRecord:
    return ArticleRecord(
        canonical_url=item.canonical_url,
        url=item.url,
        declared_url=None,
        guid=item.guid,
        title=item.title,
        author=None,
        sitename=None,
        description=None,
        published_at=item.published_at,
        fetched_at=datetime.now(UTC),
        language="de",
        text="Der Stadtrat beschloss am Abend den Ausbau der Radwege im Ortsteil Nord.",
    )


@pytest.fixture
def source_id(conn: psycopg.Connection[Any]) -> int:
    return add_source(conn, "s")


def fail(
    conn: psycopg.Connection[Any], source_id: int, item: FeedEntry, *, retryable: bool = True
) -> int:
    return record_failure(
        conn, source_id=source_id, entry=item, stage="fetch", error="timeout", retryable=retryable
    )


def test_unseen_entries_are_those_neither_stored_staged_nor_failed(
    conn: psycopg.Connection[Any], source_id: int
) -> None:
    stored, staged, failed, new = entry("stored"), entry("staged"), entry("failed"), entry("new")
    story = add_story(conn, "Titel", at=SUMMER)
    add_article(
        conn,
        story_id=story,
        source_id=source_id,
        url=stored.canonical_url,
        fetched_at=SUMMER,
    )
    stage_article(conn, record(staged), source_id=source_id, features=None, run_id=None)
    fail(conn, source_id, failed)
    assert unseen_entries(conn, [stored, new, staged, failed]) == [new]
    assert unseen_entries(conn, []) == []


def test_staging_is_idempotent_and_clears_the_failure(
    conn: psycopg.Connection[Any], source_id: int
) -> None:
    item = entry("a")
    fail(conn, source_id, item)
    assert stage_article(conn, record(item), source_id=source_id, features=None, run_id=None)
    assert not stage_article(conn, record(item), source_id=source_id, features=None, run_id=None)
    assert conn.execute("SELECT count(*) FROM staged_articles").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM failed_items").fetchone() == (0,)


def test_a_failure_counts_its_attempts_and_keeps_the_latest_error(
    conn: psycopg.Connection[Any], source_id: int
) -> None:
    item = entry("a")
    assert [fail(conn, source_id, item) for _ in range(3)] == [1, 2, 3]
    record_failure(
        conn, source_id=source_id, entry=item, stage="extract", error="no text", retryable=False
    )
    row = conn.execute("SELECT stage, error, retryable, attempts FROM failed_items").fetchone()
    assert row == ("extract", "no text", False, 4)


def test_retries_come_oldest_failure_first_up_to_the_limit(
    conn: psycopg.Connection[Any], source_id: int
) -> None:
    a, b, c, d = entry("a"), entry("b"), entry("c"), entry("d", published_at=None)
    for item in (a, b, c, d):
        fail(conn, source_id, item)
    fail(conn, source_id, a)  # failed again just now: last in line
    due = retry_entries(conn, source_id, max_attempts=5, limit=3)
    assert due == [b, c, d]  # the feed entry comes back whole, without the feed
    assert retry_entries(conn, source_id, max_attempts=5, limit=10)[-1] == a


def test_no_retry_for_the_hopeless_the_exhausted_the_done_or_other_feeds(
    conn: psycopg.Connection[Any], source_id: int
) -> None:
    other = add_source(conn, "t")
    hopeless, exhausted, staged, elsewhere, due = (entry(p) for p in "hxsed")
    fail(conn, source_id, hopeless, retryable=False)
    for _ in range(3):
        fail(conn, source_id, exhausted)
    fail(conn, source_id, staged)
    conn.execute(  # staged by another path while its failed row stayed
        "INSERT INTO staged_articles (canonical_url, source_id, url, fetched_at, text)"
        " VALUES (%s, %s, %s, now(), 'x')",
        (staged.canonical_url, source_id, staged.url),
    )
    fail(conn, other, elsewhere)
    fail(conn, source_id, due)
    assert retry_entries(conn, source_id, max_attempts=3, limit=10) == [due]
