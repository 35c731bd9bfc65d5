"""The store step: staged articles → stories and articles, one transaction per batch.

Story assignment reads and writes shared state, so batches are serialised by a row lock
(the one row of news.store_lock, FOR UPDATE: a lock no read-only role can take): two runs
(or two Airflow DAG runs) never split a story, and a run killed mid-batch rolls back
completely, leaving its staged rows for the next store step. Each row is stored under a
savepoint: one the database refuses is quarantined in failed_items (stage 'store') and
leaves staging, so it can never stall its batch, its run or the runs after it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.errors import ProgramLimitExceeded
from psycopg.rows import dict_row

from ..feeds import FeedEntry
from ..record import ArticleRecord, insert_sql
from ..stories.engine import DedupInput, Features, StoryEngine, StoryMatch
from ..textnorm import text_hash, word_count
from . import db
from .staging import record_failure

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100

INSERT_ARTICLE_SQL = insert_sql(
    "articles", "source_id", "text_hash", "word_count", "story_id", "run_id"
) + sql.SQL(" RETURNING id")


@dataclass
class StoreReport:
    """Counts per source name: new (opened a story), url/exact/near_copy (copies),
    same_story; `stored` is every inserted article."""

    by_source: dict[str, Counter[str]] = field(default_factory=dict)
    batches: int = 0
    story_ids: dict[str, int] = field(default_factory=dict)  # canonical_url → story id
    quarantined: dict[str, str] = field(default_factory=dict)  # canonical_url → why

    def add(self, source: str, outcome: str) -> None:
        self.by_source.setdefault(source, Counter())[outcome] += 1

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_source.values():
            total.update(counts)
        return total


def store_staged(
    conn: psycopg.Connection[Any],
    engine: StoryEngine,
    *,
    schema: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    run_id: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    arrival_order: bool = False,
    before: datetime | None = None,
) -> StoreReport:
    """Move every staged article into articles/stories; return what happened to each.

    Articles are stored earliest-published first, so an original opens its story and its
    copies join it whichever feed delivered first; `arrival_order` stores them in the order
    they were staged instead (`news-ingest cluster`: file order). `before`: only the
    articles published (else fetched) before it, what a cycle that is still collecting
    can store already (nothing it stages later would come first).
    """
    report = StoreReport()
    while True:
        stored = _store_batch(
            conn,
            engine,
            schema=schema,
            limit=batch_size,
            run_id=run_id,
            report=report,
            arrival_order=arrival_order,
            before=before,
        )
        if stored == 0:
            return report
        report.batches += 1
        if on_batch:
            on_batch(stored)


def _store_batch(
    conn: psycopg.Connection[Any],
    engine: StoryEngine,
    *,
    schema: str,
    limit: int,
    run_id: str | None,
    report: StoreReport,
    arrival_order: bool,
    before: datetime | None = None,
) -> int:
    try:
        with conn.transaction():
            return _store_locked(conn, engine, arrival_order, limit, run_id, report, before)
    except psycopg.errors.LockNotAvailable:
        # Another store step holding the lock longer than LOCK_TIMEOUT_SECONDS, or a wait
        # nobody foresaw: a clear error naming who holds what, not a stall.
        raise db.lock_wait_error(
            conn, schema, "the store step's lock", db.LOCK_TIMEOUT_SECONDS
        ) from None


def _store_locked(
    conn: psycopg.Connection[Any],
    engine: StoryEngine,
    arrival_order: bool,
    limit: int,
    run_id: str | None,
    report: StoreReport,
    before: datetime | None = None,
) -> int:
    """One batch, inside its transaction."""
    order = "s.seq" if arrival_order else "coalesce(s.published_at, s.fetched_at), s.seq"
    conn.execute("SELECT singleton FROM store_lock FOR UPDATE")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            sql.SQL(
                """SELECT s.*, src.name AS source_name FROM staged_articles s
                   JOIN sources src ON src.id = s.source_id
                   WHERE %(before)s::timestamptz IS NULL
                      OR coalesce(s.published_at, s.fetched_at) < %(before)s
                   ORDER BY {order} LIMIT %(limit)s FOR UPDATE OF s"""
            ).format(order=sql.SQL(order)),
            {"before": before, "limit": limit},
        ).fetchall()
    if not rows:
        return 0
    urls = [row["canonical_url"] for row in rows]
    # Staged twice by runs that raced: the first store won. One query per batch
    # (staged URLs are unique, so nothing stored within the batch can collide).
    stored = dict(
        conn.execute(
            "SELECT canonical_url, story_id FROM articles WHERE canonical_url = ANY(%s)",
            (urls,),
        ).fetchall()
    )
    for row in rows:
        if row["canonical_url"] in stored:
            report.story_ids[row["canonical_url"]] = stored[row["canonical_url"]]
            outcome = "already_stored"
        else:
            outcome = _store_or_quarantine(conn, engine, row, run_id=run_id, report=report)
        report.add(row["source_name"], outcome)
    conn.execute("DELETE FROM staged_articles WHERE canonical_url = ANY(%s)", (urls,))
    return len(rows)


# SQLSTATE classes of failures that are not the row's fault and pass by themselves:
# connection (08), transaction rollback: deadlock, serialisation (40), insufficient
# resources (53), operator intervention: cancel, shutdown (57), system error (58). The
# batch fails as a whole and its rows stay staged for the next store step.
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_LOCK_NOT_AVAILABLE = "55P03"


def _store_or_quarantine(
    conn: psycopg.Connection[Any],
    engine: StoryEngine,
    row: dict[str, Any],
    *,
    run_id: str | None,
    report: StoreReport,
) -> str:
    """Store one staged row under a savepoint; a row that cannot be stored is quarantined
    (news.failed_items, stage 'store') instead of failing its batch, the run and every later
    run that would meet it again."""
    try:
        with conn.transaction():
            return _store_one(conn, engine, row, run_id=run_id, report=report)
    except Exception as exc:
        if conn.broken or _transient(exc):
            raise
        _quarantine(conn, row, exc)
        report.quarantined[row["canonical_url"]] = f"{type(exc).__name__}: {exc}"
        return "quarantined"


def _transient(exc: Exception) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith(_TRANSIENT_CLASSES) or state == _LOCK_NOT_AVAILABLE


def _quarantine(conn: psycopg.Connection[Any], row: dict[str, Any], exc: Exception) -> None:
    """Record the row in failed_items; the caller's batch deletes it from staging."""
    # Data PostgreSQL cannot take (too long for an index, out of range, a constraint) fails
    # the same way every time; anything else (a bug, a trigger) may pass once fixed.
    permanent = isinstance(
        exc, (psycopg.errors.DataError, psycopg.errors.IntegrityError, ProgramLimitExceeded)
    )
    error = f"{row['url']}: cannot be stored: {type(exc).__name__}: {exc}"
    log.error("quarantined %s", error)
    entry = FeedEntry(
        url=row["url"],
        canonical_url=row["canonical_url"],
        guid=row["guid"],
        title=row["title"],
        published_at=row["published_at"],
        summary=(row["description"] or "")[:5000] or None,
    )
    record_failure(
        conn,
        source_id=row["source_id"],
        entry=entry,
        stage="store",
        error=error,
        retryable=not permanent,
    )


def _store_one(
    conn: psycopg.Connection[Any],
    engine: StoryEngine,
    row: dict[str, Any],
    *,
    run_id: str | None,
    report: StoreReport,
) -> str:
    record = ArticleRecord.from_row(row)
    item = record.story_input()
    features: Features = row["features"]
    if not engine.features_are_current(features):
        features = engine.prepare([item])[0]
    match = engine.match(conn, item, features)
    story_id = match.story_id if match else _new_story(conn, item)
    article_id = _insert_article(conn, record, row["source_id"], story_id, run_id or row["run_id"])
    # Writes only from here on: one round trip instead of one per statement.
    with conn.pipeline():
        engine.remember(conn, article_id, story_id, item, features)
        if match:
            _link(conn, article_id, match)
        _count_member(conn, story_id, item.event_time)
    report.story_ids[row["canonical_url"]] = story_id
    log.debug(
        "stored %s as article %s in story %s (%s)",
        row["canonical_url"],
        article_id,
        story_id,
        match.layer if match else "new",
    )
    return str(match.layer) if match else "new"


def _new_story(conn: psycopg.Connection[Any], item: DedupInput) -> int:
    row = conn.execute(
        "INSERT INTO stories (title, first_seen, last_seen) VALUES (%s, %s, %s) RETURNING id",
        (item.title, item.event_time, item.event_time),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _count_member(conn: psycopg.Connection[Any], story_id: int, event_time: datetime) -> None:
    conn.execute(
        """UPDATE stories SET article_count = article_count + 1,
               first_seen = LEAST(first_seen, %(t)s), last_seen = GREATEST(last_seen, %(t)s),
               updated_at = now()
           WHERE id = %(id)s""",
        {"t": event_time, "id": story_id},
    )


def _insert_article(
    conn: psycopg.Connection[Any],
    record: ArticleRecord,
    source_id: int,
    story_id: int,
    run_id: str | None,
) -> int:
    inserted = conn.execute(
        INSERT_ARTICLE_SQL,
        (
            *record.row(),
            source_id,
            text_hash(record.text),
            word_count(record.text),
            story_id,
            run_id,
        ),
    ).fetchone()
    assert inserted is not None
    return int(inserted[0])


def _link(conn: psycopg.Connection[Any], article_id: int, match: StoryMatch) -> None:
    conn.execute(
        """INSERT INTO article_links (article_id, matched_article_id, layer, score)
           VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
        (article_id, match.matched_article_id, str(match.layer), match.score),
    )
