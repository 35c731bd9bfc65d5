"""pipeline.store.staging: the article queue between extraction and the store step (staged
articles, failed items, which feed entries still need work), on a real PostgreSQL."""

from __future__ import annotations

import psycopg

from pipeline.feeds import FeedEntry
from pipeline.store.staging import record_failure


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
