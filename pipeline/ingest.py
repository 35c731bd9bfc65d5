"""One ingest cycle: fetch feeds, fetch and extract new articles, stage, then store.

`collect_feed` is the unit an Airflow mapped task runs (one feed); `store` is the single
serialised step after them; `run_cycle` does both for the CLI. Nothing here raises for
what a feed or a web server does: every outcome is recorded and reported.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from . import db
from .config import Config, Feed
from .extract import ExtractedArticle, ExtractionError, decode_html, extract_article
from .feed_parser import FeedEntry, FeedParseError, ParsedFeed, parse_feed
from .fetch import FEED_ACCEPT, Fetcher, FetchOutcome, FetchResult
from .runs import (
    FeedSummary,
    feed_summaries,
    finish_run,
    new_run_id,
    record_fetch,
    run_stats,
    start_run,
)
from .sources import save_validators, source_state, sync_sources, touch
from .staging import record_failure, retry_entries, stage_article, unseen_entries
from .store import StoreReport, store_staged
from .stories.engine import DedupInput, StoryEngine
from .stories.factory import build_engine
from .textnorm import clean_line
from .urls import canonical_or_none, declared_on_own_site

log = logging.getLogger(__name__)

ARTICLE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
# Articles whose features (embeddings) are computed in one call.
FEATURE_BATCH = 16


class Progress(Protocol):
    """What a display (the CLI's progress bars) hears about a cycle."""

    def feed_started(self, feed: str, articles: int) -> None: ...
    def article_done(self, feed: str) -> None: ...
    def feed_done(self, report: FeedReport) -> None: ...
    def storing(self, stored: int) -> None: ...


@dataclass
class FeedReport:
    """What happened to one feed in one run. `status` is ok, not_modified or failed."""

    feed: str
    status: str = "ok"
    http_status: int | None = None
    entries: int = 0
    skipped: int = 0
    fetched: int = 0  # articles downloaded and extracted (staged)
    failed: int = 0  # articles that could not be fetched or extracted this run
    error: str | None = None
    staged: list[str] = field(default_factory=list)  # canonical URLs staged by this call
    crashed: bool = False  # ended by an exception, not by a recorded outcome
    # A failure that may go away on its own (network, timeout, 429, 5xx); a 404 or a
    # document that is not a feed will not, until someone fixes the feed or the config.
    transient: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    run_id: str
    feeds: list[FeedSummary]
    seconds: float

    def stats(self) -> dict[str, Any]:
        return run_stats(self.feeds, self.seconds)


def collect_feed(
    pool: ConnectionPool,
    feed: Feed,
    config: Config,
    fetcher: Fetcher,
    engine: StoryEngine,
    *,
    run_id: str | None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> FeedReport:
    """Fetch one feed, then fetch, extract and stage its new (and retryable) articles."""
    report = FeedReport(feed=feed.name)
    with pool.connection() as conn:
        state = source_state(conn, feed.name)
    result = fetcher.get(
        feed.url,
        max_bytes=config.fetch.max_feed_bytes,
        etag=state.etag,
        last_modified=state.last_modified,
        accept=FEED_ACCEPT,
    )
    report.http_status = result.status
    fresh: list[FeedEntry] = []
    with pool.connection() as conn:
        if result.outcome is FetchOutcome.NOT_MODIFIED:
            report.status = "not_modified"
            record_fetch(conn, run_id=run_id, source_id=state.id, kind="feed", result=result)
            touch(conn, state.id)
        elif not result.ok:
            return _feed_failed(
                report,
                conn,
                state.id,
                run_id,
                result,
                str(result.outcome),
                result.error or "fetch failed",
            )
        else:
            try:
                parsed = parse_feed(
                    result.content,
                    feed_url=result.final_url,
                    content_type=_content_type_header(result),
                    max_entries=config.fetch.max_entries_per_feed,
                )
            except FeedParseError as exc:
                return _feed_failed(report, conn, state.id, run_id, result, "parse_error", str(exc))
            report.entries = len(parsed.entries)
            report.skipped = len(parsed.skipped)
            record_fetch(
                conn,
                run_id=run_id,
                source_id=state.id,
                kind="feed",
                result=result,
                warnings=_feed_warnings(parsed),
                entries=len(parsed.entries),
            )
            fresh = unseen_entries(conn, parsed.entries)
        retries = retry_entries(
            conn,
            state.id,
            max_attempts=config.fetch.max_article_attempts,
            limit=config.fetch.max_articles_per_feed,
        )

    pending = _unique_by_url(fresh + retries)
    todo = pending[: config.fetch.max_articles_per_feed]
    if progress:
        progress.feed_started(feed.name, len(todo))
    log.info(
        "feed %s: %s, %d entries, %d new, %d to retry",
        feed.name,
        report.status,
        report.entries,
        len(fresh),
        len(retries),
    )

    def work(entry: FeedEntry) -> _Extracted | None:
        try:
            return _fetch_and_extract(pool, feed, state.id, entry, config, fetcher, run_id)
        finally:
            if progress:
                progress.article_done(feed.name)

    own_executor = executor is None
    pool_executor = executor or ThreadPoolExecutor(max_workers=config.fetch.concurrency)
    batch: list[_Extracted] = []
    try:
        # Threads fetch and extract; features (the embedding above all) are computed here,
        # in batches, so the encoder runs once per batch instead of once per article in
        # competing threads.
        for extracted in pool_executor.map(work, todo):
            if extracted is None:
                report.failed += 1
                continue
            batch.append(extracted)
            if len(batch) >= FEATURE_BATCH:
                report.staged += _stage(pool, engine, state.id, batch, run_id)
                batch = []
        report.staged += _stage(pool, engine, state.id, batch, run_id)
        report.fetched = len(report.staged)
    finally:
        if own_executor:
            pool_executor.shutdown()
    # Validators are saved last: a 304 next time must mean "nothing left to do", so not
    # after a crash mid-feed, and not while entries wait beyond max_articles_per_feed.
    if result.ok and len(pending) <= len(todo):
        with pool.connection() as conn:
            save_validators(conn, state.id, result.etag, result.last_modified)
    if progress:
        progress.feed_done(report)
    return report


@dataclass(frozen=True)
class _Extracted:
    """A fetched and extracted article waiting for its features and staging. Its
    `article.declared_url` is only ever one on the page's own site (see `_extracted`)."""

    entry: FeedEntry
    result: FetchResult
    article: ExtractedArticle
    fetched_at: datetime
    warning: str | None = None  # for the article's fetch row

    def dedup_input(self) -> DedupInput:
        published = self.entry.published_at or self.article.published_at
        return DedupInput(
            canonical_url=self.entry.canonical_url,
            declared_url=canonical_or_none(self.article.declared_url),
            title=self.article.title or self.entry.title,
            text=self.article.text,
            language=self.article.language,
            published_at=published,
            event_time=published or self.fetched_at,
        )


def _fetch_and_extract(
    pool: ConnectionPool,
    feed: Feed,
    source_id: int,
    entry: FeedEntry,
    config: Config,
    fetcher: Fetcher,
    run_id: str | None,
) -> _Extracted | None:
    """Fetch and extract one article; None on failure (recorded in fetches and
    failed_items)."""
    fetched_at = datetime.now(UTC)
    result = fetcher.get(
        entry.url,
        max_bytes=config.fetch.max_article_bytes,
        accept=ARTICLE_ACCEPT,
        check_robots=True,
    )
    if not result.ok:
        error = f"{entry.url}: {result.error or result.outcome}"
        with pool.connection() as conn:
            record_fetch(conn, run_id=run_id, source_id=source_id, kind="article", result=result)
            record_failure(
                conn,
                source_id=source_id,
                entry=entry,
                stage="fetch",
                error=error,
                retryable=result.retryable,
            )
        log.warning("feed %s: article %s", feed.name, error)
        return None
    try:
        if result.content_type and not result.content_type.startswith(HTML_TYPES):
            raise ExtractionError(f"not an HTML page ({result.content_type})")
        article = extract_article(
            decode_html(result.content, result.charset),
            url=result.final_url,
            language_hint=feed.language,
        )
    except ExtractionError as exc:
        error = f"{entry.url}: {exc}"
        with pool.connection() as conn:
            record_fetch(
                conn,
                run_id=run_id,
                source_id=source_id,
                kind="article",
                result=result,
                outcome="extract_error",
                error=str(exc),
            )
            # Retryable: live pages are often a stub first and filled in minutes later.
            record_failure(
                conn, source_id=source_id, entry=entry, stage="extract", error=error, retryable=True
            )
        log.warning("feed %s: article %s", feed.name, error)
        return None
    return _extracted(feed, entry, result, article, fetched_at)


def _extracted(
    feed: Feed,
    entry: FeedEntry,
    result: FetchResult,
    article: ExtractedArticle,
    fetched_at: datetime,
) -> _Extracted:
    """rel=canonical is evidence, not a command: a page may name any URL as its own, so only
    a declaration on the page's own site (or an alias of the feed's) is kept."""
    declared = article.declared_url
    if declared and not declared_on_own_site(declared, result.final_url, feed.aliases):
        warning = f"rel=canonical names another site, ignored: {clean_line(declared, 300)}"
        log.info("feed %s: article %s: %s", feed.name, entry.url, warning)
        return _Extracted(entry, result, replace(article, declared_url=None), fetched_at, warning)
    return _Extracted(entry, result, article, fetched_at)


def _stage(
    pool: ConnectionPool,
    engine: StoryEngine,
    source_id: int,
    batch: list[_Extracted],
    run_id: str | None,
) -> list[str]:
    """Compute the batch's features in one call and stage each article; returns the
    canonical URLs staged. An article's ok fetch row and its staged row are written in one
    transaction, so news.fetches never says ok for an article that was not staged; one that
    cannot be staged is a failed item (stage 'stage'), and the others go on."""
    if not batch:
        return []
    features = engine.prepare([extracted.dedup_input() for extracted in batch])
    staged = []
    with pool.connection() as conn:
        for extracted, feature in zip(batch, features, strict=True):
            try:
                with conn.transaction():
                    record_fetch(
                        conn,
                        run_id=run_id,
                        source_id=source_id,
                        kind="article",
                        result=extracted.result,
                        warnings=extracted.warning,
                    )
                    stage_article(
                        conn,
                        source_id=source_id,
                        entry=extracted.entry,
                        article=extracted.article,
                        fetched_at=extracted.fetched_at,
                        features=feature,
                        run_id=run_id,
                    )
            except Exception as exc:
                if conn.broken:
                    raise  # the database is gone: the feed ends here (reported as crashed)
                _staging_failed(conn, source_id, extracted, run_id, exc)
                continue
            staged.append(extracted.entry.canonical_url)
    return staged


def _staging_failed(
    conn: Any, source_id: int, extracted: _Extracted, run_id: str | None, exc: Exception
) -> None:
    error = f"cannot be staged: {type(exc).__name__}: {exc}"
    log.warning("article %s %s", extracted.entry.url, error)
    with conn.transaction():
        record_fetch(
            conn,
            run_id=run_id,
            source_id=source_id,
            kind="article",
            result=extracted.result,
            outcome="stage_error",
            error=error,
        )
        # Retryable: a database that refused one row (a full disk, a trigger) may take it
        # next time; attempts are capped by fetch.max_article_attempts.
        record_failure(
            conn,
            source_id=source_id,
            entry=extracted.entry,
            stage="stage",
            error=f"{extracted.entry.url}: {error}",
            retryable=True,
        )


def _feed_failed(
    report: FeedReport,
    conn: Any,
    source_id: int,
    run_id: str | None,
    result: FetchResult,
    outcome: str,
    error: str,
) -> FeedReport:
    report.status = "failed"
    report.error = f"{result.url}: {error}"
    report.transient = outcome != "parse_error" and result.retryable
    record_fetch(
        conn,
        run_id=run_id,
        source_id=source_id,
        kind="feed",
        result=result,
        outcome=outcome,
        error=error,
    )
    log.warning("feed %s failed: %s", report.feed, report.error)
    return report


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


def _content_type_header(result: FetchResult) -> str | None:
    if not result.content_type:
        return None
    return (
        f"{result.content_type}; charset={result.charset}"
        if result.charset
        else (result.content_type)
    )


def _unique_by_url(entries: list[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.canonical_url not in seen:
            seen.add(entry.canonical_url)
            unique.append(entry)
    return unique


def store(
    pool: ConnectionPool,
    config: Config,
    *,
    schema: str,
    run_id: str | None,
    engine: StoryEngine | None = None,
    progress: Progress | None = None,
) -> StoreReport:
    """The serialised store step over everything staged (this run's and any leftovers)."""
    engine = engine or build_engine(config.dedup)
    with pool.connection() as conn:
        return store_staged(
            conn,
            engine,
            schema=schema,
            run_id=run_id,
            on_batch=progress.storing if progress else None,
        )


@contextmanager
def open_cycle(
    config: Config, *, url: str | None, schema: str, run_id: str, trigger: str
) -> Iterator[ConnectionPool]:
    """Migrated database, sources synced from the config, the run recorded."""
    db.migrate(url, schema=schema)
    with db.pool(url, schema=schema, max_size=config.fetch.concurrency + 2) as pool:
        with pool.connection() as conn:
            sync_sources(conn, config.feeds)
            start_run(conn, run_id, trigger)
        yield pool


def run_cycle(
    config: Config,
    *,
    url: str | None = None,
    schema: str = db.DEFAULT_SCHEMA,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Everything `news-ingest run` does, for all enabled feeds of `config`."""
    started = time.monotonic()
    run_id = run_id or new_run_id("cli")
    engine = build_engine(config.dedup)
    feeds = config.enabled_feeds
    with open_cycle(config, url=url, schema=schema, run_id=run_id, trigger="cli") as pool:
        with (
            Fetcher(
                config.fetch,
                allow_private_networks=config.allow_private_networks,
                private_hosts=config.allow_private_hosts,
            ) as fetcher,
            ThreadPoolExecutor(
                max_workers=config.fetch.concurrency, thread_name_prefix="article"
            ) as articles,
            ThreadPoolExecutor(
                max_workers=max(1, min(len(feeds), 4)), thread_name_prefix="feed"
            ) as feed_workers,
        ):
            futures = [
                feed_workers.submit(
                    collect_feed,
                    pool,
                    feed,
                    config,
                    fetcher,
                    engine,
                    run_id=run_id,
                    executor=articles,
                    progress=progress,
                )
                for feed in feeds
            ]
            crashed = {
                report.feed: report.error or "crashed"
                for report in (
                    _report_or_crash(feed, future)
                    for feed, future in zip(feeds, futures, strict=True)
                )
                if report.crashed
            }
        store(pool, config, schema=schema, run_id=run_id, engine=engine, progress=progress)
        with pool.connection() as conn:
            summaries = _with_crashes(feed_summaries(conn, run_id), crashed)
            run = RunReport(run_id, summaries, time.monotonic() - started)
            finish_run(conn, run_id, run.stats())
    return run


def _with_crashes(summaries: list[FeedSummary], crashed: dict[str, str]) -> list[FeedSummary]:
    """Summaries come from what the run recorded; a feed that crashed half-way (its database
    connection died, a bug) may have recorded only successes, yet did not finish: report it
    as failed, or the run would claim success for articles it never got to."""
    return [
        replace(summary, status="failed", error=f"crashed: {crashed[summary.feed]}")
        if summary.feed in crashed
        else summary
        for summary in summaries
    ]


def _report_or_crash(feed: Feed, future: Any) -> FeedReport:
    """A bug or a database error in one feed must not take the others down with it."""
    try:
        return future.result()
    except Exception as exc:
        log.exception("feed %s crashed", feed.name)
        return FeedReport(
            feed=feed.name,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            crashed=True,
            transient=True,
        )
