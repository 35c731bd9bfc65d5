"""`Recorder`: the one place that writes what collecting a feed did.

Every outcome of a feed's collection passes through here: the feed fetch, each article
that failed, each article staged, and finally the feed's validators. Worker threads only
return values (`collect.Extracted | collect.Failed`); the feed's own thread hands them to
its recorder, so the rules "every fetch is a row" and "a fetch recorded as ok has its
article staged" live in one module.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from psycopg_pool import ConnectionPool

from ..feeds import FeedEntry, ParsedFeed
from ..feeds.fetch import FeedFetch
from ..http import FetchResult
from ..store.staging import record_failure, retry_entries, stage_article, unseen_entries
from ..stories.engine import Features
from .collect import Extracted, Failed
from .runs import record_fetch
from .sources import SourceState, save_validators, touch

log = logging.getLogger(__name__)


class Recorder:
    """Writes one feed's outcomes in one run (thread-confined: one feed, one thread)."""

    def __init__(self, pool: ConnectionPool[Any], source: SourceState, run_id: str | None):
        self.pool = pool
        self.source = source
        self.run_id = run_id

    def feed_fetched(self, fetched: FeedFetch) -> None:
        """The feed document's fetch: ok (with warnings), not modified, or failed."""
        with self.pool.connection() as conn:
            self._fetch_row(
                conn,
                "feed",
                fetched.result,
                outcome=fetched.outcome,
                error=fetched.error,
                warnings=_feed_warnings(fetched.parsed) if fetched.parsed else None,
                entries=fetched.entries,
            )
            if fetched.not_modified:
                touch(conn, self.source.id)

    def pending(
        self, entries: Sequence[FeedEntry], *, max_attempts: int, limit: int
    ) -> list[FeedEntry]:
        """The feed's entries not seen before, then its failed articles due for a retry."""
        with self.pool.connection() as conn:
            fresh = unseen_entries(conn, list(entries))
            retries = retry_entries(conn, self.source.id, max_attempts=max_attempts, limit=limit)
        return _unique_by_url(fresh + retries)

    def stage(self, batch: Sequence[Extracted], features: Sequence[Features]) -> list[str]:
        """Stage extracted articles; returns the canonical URLs staged. An article's ok
        fetch row and its staged row are written in one transaction, so news.fetches never
        says ok for an article that was not staged; one the database refuses is a failed
        item (stage 'stage') and the others go on."""
        staged = []
        with self.pool.connection() as conn:
            for extracted, feature in zip(batch, features, strict=True):
                try:
                    with conn.transaction():
                        self._fetch_row(
                            conn,
                            "article",
                            extracted.result,
                            warnings=extracted.warning,
                        )
                        stage_article(
                            conn,
                            extracted.record,
                            source_id=self.source.id,
                            features=feature,
                            run_id=self.run_id,
                        )
                except Exception as exc:
                    if conn.broken:
                        raise  # the database is gone: the feed ends here (reported as crashed)
                    self._staging_failed(conn, extracted, exc)
                    continue
                staged.append(extracted.record.canonical_url)
        return staged

    def _staging_failed(self, conn: Any, extracted: Extracted, exc: Exception) -> None:
        error = f"cannot be staged: {type(exc).__name__}: {exc}"
        log.warning("article %s %s", extracted.entry.url, error)
        with conn.transaction():
            self._fetch_row(
                conn,
                "article",
                extracted.result,
                outcome="stage_error",
                error=error,
            )
            # Retryable: a database that refused one row (a full disk, a trigger) may take
            # it next time; attempts are capped by fetch.max_article_attempts.
            record_failure(
                conn,
                source_id=self.source.id,
                entry=extracted.entry,
                stage="stage",
                error=f"{extracted.entry.url}: {error}",
                retryable=True,
            )

    def failed(self, failure: Failed) -> None:
        """An article that failed: its fetch row and its failed_items row (retried later
        while retryable)."""
        error = f"{failure.entry.url}: {failure.error}"
        with self.pool.connection() as conn, conn.transaction():
            self._fetch_row(
                conn,
                "article",
                failure.result,
                outcome=failure.outcome,
                error=failure.error,
            )
            record_failure(
                conn,
                source_id=self.source.id,
                entry=failure.entry,
                stage=failure.stage,
                error=error,
                retryable=failure.retryable,
            )
        log.warning("feed %s: article %s", self.source.name, error)

    def _fetch_row(
        self, conn: Any, kind: str, result: FetchResult, **details: str | int | None
    ) -> None:
        """This feed's row in news.fetches for one fetch (the feed's or an article's)."""
        record_fetch(
            conn,
            run_id=self.run_id,
            source_id=self.source.id,
            kind=kind,
            result=result,
            **details,  # type: ignore[arg-type]
        )

    def feed_done(self, fetched: FeedFetch) -> None:
        """Save the feed's validators: the next poll is conditional, and a 304 then means
        "nothing left to do", so call this only once every entry was staged or recorded."""
        result = fetched.result
        with self.pool.connection() as conn:
            save_validators(conn, self.source.id, result.etag, result.last_modified)


def _feed_warnings(parsed: ParsedFeed) -> str | None:
    notes = []
    if parsed.problem:
        notes.append(f"malformed feed, entries kept: {parsed.problem}")
    if parsed.repaired_references:
        notes.append(
            f"{parsed.repaired_references} invalid character references replaced "
            "(surrogate, beyond U+10FFFF or a control character)"
        )
    if parsed.skipped:
        reasons = Counter(skip.reason for skip in parsed.skipped)
        listed = "; ".join(f"{reason} ({n})" for reason, n in reasons.most_common(5))
        notes.append(f"{len(parsed.skipped)} entries skipped: {listed}")
    return " | ".join(notes) or None


def _unique_by_url(entries: list[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.canonical_url not in seen:
            seen.add(entry.canonical_url)
            unique.append(entry)
    return unique
