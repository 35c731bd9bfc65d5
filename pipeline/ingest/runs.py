"""news.runs and news.fetches: what every cycle did and every fetch attempt's outcome."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..http import FetchResult


def new_run_id(trigger: str) -> str:
    return f"{trigger}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def start_run(conn: psycopg.Connection[Any], run_id: str, trigger: str) -> None:
    """Idempotent: a retried Airflow task or a re-run finds the row already there."""
    conn.execute(
        "INSERT INTO runs (id, trigger) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
        (run_id, trigger),
    )


def finish_run_row(conn: psycopg.Connection[Any], run_id: str, stats: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE runs SET finished_at = now(), stats = %s WHERE id = %s", (Jsonb(stats), run_id)
    )


def record_fetch(
    conn: psycopg.Connection[Any],
    *,
    run_id: str | None,
    source_id: int | None,
    kind: str,
    result: FetchResult,
    outcome: str | None = None,
    error: str | None = None,
    warnings: str | None = None,
    entries: int | None = None,
) -> None:
    """One row in news.fetches. `outcome`/`error` override the fetch's own when a later
    stage (parsing, extraction) failed on a successful download."""
    conn.execute(
        """INSERT INTO fetches (run_id, source_id, kind, url, final_url, duration_ms,
                                http_status, bytes, etag, last_modified, outcome, error, warnings,
                                entries)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            run_id,
            source_id,
            kind,
            _storable(result.url),
            _storable(result.final_url),
            result.elapsed_ms,
            result.status,
            result.bytes_read,
            _storable(result.etag),
            _storable(result.last_modified),
            outcome or str(result.outcome),
            _storable(error if error is not None else result.error),
            _storable(warnings),
            entries,
        ),
    )


def _storable(text: str | None) -> str | None:
    """Text PostgreSQL accepts: these fields echo what servers and feeds sent, and a NUL in
    a text parameter fails the whole insert (and with it the feed)."""
    return text.replace("\x00", "\ufffd") if text else text


@dataclass(frozen=True)
class FeedSummary:
    """One feed's line of a run summary, read back from what the run recorded."""

    feed: str
    status: str  # ok | not_modified | failed
    http_status: int | None
    entries: int
    fetched: int  # articles downloaded and extracted
    new: int  # stored articles that opened a new story
    duplicate: int  # stored copies (same URL, exact text, near-copy)
    same_story: int  # stored reports of a story already known
    failed: int  # article fetch or extraction failures
    error: str | None


_FEED_SUMMARY_SQL = """
WITH feed_last AS (
    SELECT DISTINCT ON (source_id) source_id, outcome, http_status, entries, error
    FROM fetches WHERE run_id = %(run)s AND kind = 'feed'
    ORDER BY source_id, fetched_at DESC, id DESC
), article_fetches AS (
    SELECT source_id, count(*) FILTER (WHERE outcome = 'ok') AS fetched,
           count(*) FILTER (WHERE outcome <> 'ok') AS failed
    FROM fetches WHERE run_id = %(run)s AND kind = 'article' GROUP BY source_id
), stored AS (
    SELECT a.source_id,
           count(*) FILTER (WHERE l.layer IS NULL) AS new,
           count(*) FILTER (WHERE l.layer IN ('url', 'exact', 'near_copy')) AS duplicate,
           count(*) FILTER (WHERE l.layer = 'same_story') AS same_story
    FROM articles a LEFT JOIN article_links l ON l.article_id = a.id
    WHERE a.run_id = %(run)s GROUP BY a.source_id
)
SELECT s.name,
       CASE f.outcome WHEN 'ok' THEN 'ok' WHEN 'not_modified' THEN 'not_modified'
                      ELSE 'failed' END,
       f.http_status, coalesce(f.entries, 0), coalesce(af.fetched, 0), coalesce(st.new, 0),
       coalesce(st.duplicate, 0), coalesce(st.same_story, 0), coalesce(af.failed, 0),
       CASE WHEN f.outcome IS NULL THEN 'feed was not fetched in this run'
            WHEN f.outcome NOT IN ('ok', 'not_modified') THEN f.error END
FROM sources s
LEFT JOIN feed_last f ON f.source_id = s.id
LEFT JOIN article_fetches af ON af.source_id = s.id
LEFT JOIN stored st ON st.source_id = s.id
WHERE s.enabled OR f.source_id IS NOT NULL OR st.source_id IS NOT NULL
ORDER BY s.name
"""


def feed_summaries(conn: psycopg.Connection[Any], run_id: str) -> list[FeedSummary]:
    """Per-feed counts of a run, from news.fetches and news.articles (so retried Airflow
    tasks and the CLI report the same numbers)."""
    return [FeedSummary(*row) for row in conn.execute(_FEED_SUMMARY_SQL, {"run": run_id})]


def run_stats(summaries: list[FeedSummary], seconds: float) -> dict[str, Any]:
    """The run's counts, as stored in news.runs.stats and shown to operators."""
    statuses = Counter(summary.status for summary in summaries)
    return {
        "feeds": len(summaries),
        "feeds_ok": statuses["ok"],
        "feeds_not_modified": statuses["not_modified"],
        "feeds_failed": statuses["failed"],
        "articles_fetched": sum(s.fetched for s in summaries),
        "articles_new": sum(s.new for s in summaries),
        "articles_copies": sum(s.duplicate for s in summaries),
        "articles_same_story": sum(s.same_story for s in summaries),
        "articles_failed": sum(s.failed for s in summaries),
        "seconds": round(seconds, 2),
        "failed_feeds": [s.feed for s in summaries if s.status == "failed"],
    }
