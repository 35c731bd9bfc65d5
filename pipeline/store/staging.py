"""Between extraction and the store step: staged articles, failed items, and which feed
entries still need work."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from ..feeds import FeedEntry
from ..record import ArticleRecord, insert_sql
from ..stories.engine import Features
from ..textnorm import bounded_key, clean_line
from ..urls import MAX_URL_BYTES

STAGE_SQL = insert_sql("staged_articles", "source_id", "run_id", "features") + sql.SQL(
    " ON CONFLICT (canonical_url) DO NOTHING"
)


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
    record: ArticleRecord,
    *,
    source_id: int,
    features: Features | None,
    run_id: str | None,
) -> bool:
    """Stage an extracted article for the store step; False if it was already staged.
    Clears its failed_items row. Runs in the caller's transaction when there is one."""
    with conn.transaction():
        inserted = conn.execute(
            STAGE_SQL, (*record.row(), source_id, run_id, Jsonb(features) if features else None)
        ).rowcount
        conn.execute("DELETE FROM failed_items WHERE canonical_url = %s", (record.canonical_url,))
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
