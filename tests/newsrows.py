"""Rows of the news schema written with plain SQL, for tests of the modules that read them
(ingest.runs, analytics.listings): a source, a story, its articles and how each joined it.

The story's times and count follow its articles as the store step keeps them: an article's
time is its publication time, else its fetch time.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import psycopg


def add_source(conn: psycopg.Connection[Any], name: str, *, enabled: bool = True) -> int:
    row = conn.execute(
        "INSERT INTO sources (name, url, enabled) VALUES (%s, %s, %s) RETURNING id",
        (name, f"https://{name}.example/feed.xml", enabled),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_story(conn: psycopg.Connection[Any], headline: str, *, at: datetime) -> int:
    """An empty story dated `at` (its first article's time); `add_article` counts its
    articles in and widens its dates."""
    row = conn.execute(
        "INSERT INTO stories (title, first_seen, last_seen) VALUES (%s, %s, %s) RETURNING id",
        (headline, at, at),
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_article(
    conn: psycopg.Connection[Any],
    *,
    story_id: int,
    source_id: int,
    url: str,
    fetched_at: datetime,
    published_at: datetime | None = None,
    title: str | None = None,
    text: str = "Ein Bericht.",
    language: str | None = "de",
    run_id: str | None = None,
    matched: tuple[int, str] | None = None,
) -> int:
    """One article of `story_id`; `matched` = (article id, layer) it joined the story by."""
    row = conn.execute(
        """INSERT INTO articles (source_id, url, canonical_url, title, published_at, fetched_at,
               language, text, text_hash, word_count, story_id, run_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            source_id,
            url,
            url,
            title,
            published_at,
            fetched_at,
            language,
            text,
            hashlib.sha256(text.encode()).hexdigest(),
            len(text.split()),
            story_id,
            run_id,
        ),
    ).fetchone()
    assert row is not None
    conn.execute(
        """UPDATE stories SET article_count = article_count + 1,
               first_seen = LEAST(first_seen, %(t)s), last_seen = GREATEST(last_seen, %(t)s)
           WHERE id = %(id)s""",
        {"t": published_at or fetched_at, "id": story_id},
    )
    if matched is not None:
        conn.execute(
            "INSERT INTO article_links (article_id, matched_article_id, layer, score)"
            " VALUES (%s, %s, %s, 0.9)",
            (row[0], *matched),
        )
    return int(row[0])
