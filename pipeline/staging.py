"""Between extraction and the store step: staged articles, failed items, and which feed
entries still need work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .extract import ExtractedArticle
from .feed_parser import FeedEntry
from .textnorm import bounded_key, clean_line
from .urls import MAX_URL_BYTES, canonical_or_none


def unseen_entries(conn: psycopg.Connection[Any], entries: list[FeedEntry]) -> list[FeedEntry]:
    """Entries whose article is neither stored, staged, nor already in failed_items
    (retryable failures come back through `retry_entries`)."""
    if not entries:
        return []
    urls = [entry.canonical_url for entry in entries]
    rows = conn.execute(
        """SELECT canonical_url FROM articles WHERE canonical_url = ANY(%(urls)s)
           UNION ALL SELECT canonical_url FROM staged_articles WHERE canonical_url = ANY(%(urls)s)
           UNION ALL SELECT canonical_url FROM failed_items WHERE canonical_url = ANY(%(urls)s)""",
        {"urls": urls},
    ).fetchall()
    known = {row[0] for row in rows}
    return [entry for entry in entries if entry.canonical_url not in known]


def retry_entries(
    conn: psycopg.Connection[Any], source_id: int, *, max_attempts: int, limit: int
) -> list[FeedEntry]:
    """Failed articles of this source that deserve another try, oldest failure first."""
    rows = conn.execute(
        """SELECT f.entry FROM failed_items f
           WHERE f.source_id = %s AND f.retryable AND f.attempts < %s
             AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.canonical_url = f.canonical_url)
             AND NOT EXISTS (SELECT 1 FROM staged_articles s
                             WHERE s.canonical_url = f.canonical_url)
           ORDER BY f.last_failed_at LIMIT %s""",
        (source_id, max_attempts, limit),
    ).fetchall()
    return [FeedEntry.from_json(row[0]) for row in rows]


def stage_article(
    conn: psycopg.Connection[Any],
    *,
    source_id: int,
    entry: FeedEntry,
    article: ExtractedArticle,
    fetched_at: datetime,
    features: dict[str, Any] | None,
    run_id: str | None,
) -> bool:
    """Stage an extracted article for the store step; False if it was already staged.
    Clears its failed_items row in the same transaction."""
    declared = canonical_or_none(article.declared_url)
    with conn.transaction():
        inserted = conn.execute(
            """INSERT INTO staged_articles (canonical_url, source_id, url, declared_url, guid,
                   title, author, sitename, description, published_at, fetched_at, language,
                   text, run_id, features)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (canonical_url) DO NOTHING""",
            (
                entry.canonical_url,
                source_id,
                entry.url,
                declared,
                entry.guid,
                article.title or entry.title,
                article.author,
                article.sitename,
                article.description or entry.summary,
                entry.published_at or article.published_at,
                fetched_at,
                article.language,
                article.text,
                run_id,
                Jsonb(features) if features is not None else None,
            ),
        ).rowcount
        conn.execute("DELETE FROM failed_items WHERE canonical_url = %s", (entry.canonical_url,))
    return inserted == 1


def record_failure(
    conn: psycopg.Connection[Any],
    *,
    source_id: int,
    entry: FeedEntry,
    stage: str,
    error: str,
    retryable: bool,
) -> int:
    """Insert or bump the failed_items row of this article; returns its attempt count.

    `stage` is where it failed: fetch, extract, stage (writing the staged row) or store
    (quarantined by the store step)."""
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO failed_items
                   (source_id, url, canonical_url, stage, error, retryable, entry)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (canonical_url) DO UPDATE SET
                   stage = EXCLUDED.stage, error = EXCLUDED.error, retryable = EXCLUDED.retryable,
                   attempts = failed_items.attempts + 1, last_failed_at = now(),
                   url = EXCLUDED.url, entry = EXCLUDED.entry
               RETURNING attempts""",
            (
                source_id,
                # Bounded whatever the caller passes: the place that records failures must
                # not fail itself (canonical_url is a unique key, so a btree row).
                bounded_key(entry.url, 4 * MAX_URL_BYTES),
                bounded_key(entry.canonical_url, MAX_URL_BYTES),
                stage,
                clean_line(error, 2000) or "unknown error",
                retryable,
                Jsonb(entry.as_json()),
            ),
        ).fetchone()
    return int(row[0]) if row else 1
