"""One ingest cycle: begin a run, collect feeds, store, finish the run.

This is the API both faces of the pipeline call: `news-ingest run` calls `run_cycle`, and
each Airflow task calls one step (`begin_run`, `collect_feeds`, `store_articles`,
`finish_run`) in a process of its own. A `Cycle` holds what the steps share within one
process: the connection pool, the fetcher (its per-host gates and robots.txt cache), the
story engine (its encoder, loaded once) and the article threads.

Nothing here raises for what a feed or a web server does: every outcome is recorded
(`Recorder`) and reported (`FeedReport`, then `RunReport` read back from the database).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from ..analytics import rollup
from ..analytics.rollup import Refreshed
from ..config import Config, Feed
from ..feeds.fetch import fetch_feed
from ..http import Fetcher
from ..store import db, migrations
from ..store.store_step import StoreReport, store_staged
from ..stories import encoders
from ..stories.engine import StoryEngine
from ..stories.factory import build_engine
from .collect import Extracted, Failed, download_article, features_of
from .overlap import Frontier, map_in_order, oldest_first, store_early
from .recorder import Recorder
from .runs import FeedSummary, feed_summaries, finish_run_row, new_run_id, run_stats, start_run
from .sources import source_state, sync_sources
from .workers import ExtractorPool, worker_count

log = logging.getLogger(__name__)

# Articles whose story features (the embedding above all) are computed in one call.
FEATURE_BATCH = 16
# Feeds collected at the same time within one process; their articles share the
# article threads (fetch.concurrency), so more feed threads would only queue.
FEED_THREADS = 4
# `run_cycle` stores while it collects, which needs every feed's article list early (a
# feed not listed yet may hold the oldest article): it collects this many feeds at once.
STORING_FEED_THREADS = 16


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
    """A finished run: one summary per feed, read back from what the run recorded."""

    run_id: str
    feeds: list[FeedSummary]
    seconds: float

    def stats(self) -> dict[str, Any]:
        return run_stats(self.feeds, self.seconds)


class Cycle:
    """The resources one process shares across the steps of a run."""

    def __init__(
        self,
        config: Config,
        *,
        run_id: str,
        pool: ConnectionPool[Any],
        fetcher: Fetcher,
        engine: StoryEngine,
        articles: ThreadPoolExecutor,
        schema: str,
        extract: ExtractorPool | None = None,
    ) -> None:
        self.config = config
        self.run_id = run_id
        self.pool = pool
        self.fetcher = fetcher
        self.engine = engine
        self.articles = articles
        self.schema = schema
        self.extract = extract  # worker processes, else extraction in the article threads
        # Set while `collect_and_store` runs: collect_feed reports its progress to it.
        self.frontier: Frontier | None = None

    @classmethod
    @contextmanager
    def open(
        cls,
        config: Config,
        *,
        run_id: str,
        url: str | None = None,
        schema: str = db.DEFAULT_SCHEMA,
        fetcher: Fetcher | None = None,
        processes: int | None = None,
    ) -> Iterator[Cycle]:
        """`fetcher`: one of the caller's (closed by the caller), else one from the config.
        `processes`: extraction worker processes (default `extract.processes`; 0 = none);
        they start once more than `extract.start_after_pages` pages are due, so steps that
        fetch no page never pay for them."""
        concurrency = config.fetch.concurrency
        workers = worker_count(config, processes)
        with (
            # Feed threads, the finish step, and the thread that stores while collecting.
            db.pool(url, schema=schema, max_size=FEED_THREADS + 3) as pool,
            nullcontext(fetcher) if fetcher else Fetcher.from_config(config) as cycle_fetcher,
            # Closed after the article threads that use it (exits run in reverse order).
            ExtractorPool(
                workers,
                config.dedup,
                timeout=config.extract.timeout,
                start_after=config.extract.start_after_pages,
                extract_while_loading=True,
            )
            if workers
            else nullcontext() as pool_of_workers,
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="article") as articles,
        ):
            yield cls(
                config,
                run_id=run_id,
                pool=pool,
                fetcher=cycle_fetcher,
                engine=build_engine(config.dedup),
                articles=articles,
                schema=schema,
                extract=pool_of_workers,
            )

    # -- collect ---------------------------------------------------------------------------
    def collect(
        self,
        feeds: Sequence[Feed],
        progress: Progress | None = None,
        *,
        feed_threads: int = FEED_THREADS,
    ) -> list[FeedReport]:
        """Collect every feed, `feed_threads` at a time; a feed that crashes (a bug, a lost
        database connection) is reported as failed and never takes the others down."""

        def collect_one(feed: Feed) -> FeedReport:
            try:
                return self.collect_feed(feed, progress)
            finally:
                if self.frontier is not None:
                    self.frontier.finished(feed.name)

        with ThreadPoolExecutor(
            max_workers=max(1, min(len(feeds), feed_threads)), thread_name_prefix="feed"
        ) as threads:
            futures = [threads.submit(collect_one, feed) for feed in feeds]
            return [
                _report_or_crash(feed, future) for feed, future in zip(feeds, futures, strict=True)
            ]

    def collect_and_store(
        self, feeds: Sequence[Feed], progress: Progress | None = None
    ) -> list[FeedReport]:
        """Collect every feed while a thread stores what may be stored already (see
        `Frontier`), then store the rest: the store step's work overlaps the downloads and
        the extraction workers instead of following them."""
        frontier = Frontier(feed.name for feed in feeds)
        engine = build_engine(self.config.dedup)  # its own: the feed threads prepare too

        storer = threading.Thread(
            target=store_early,
            args=(frontier, self.pool, engine),
            kwargs={"schema": self.schema, "run_id": self.run_id, "progress": progress},
            name="store",
            daemon=True,
        )
        self.frontier = frontier
        storer.start()
        try:
            # Models first used while the extraction (workers, or the article threads) keeps
            # the cores busy get one thread, not two that spin; after collection, two.
            with encoders.threads_at_most(1):
                reports = self.collect(feeds, progress, feed_threads=STORING_FEED_THREADS)
        finally:
            frontier.close()
            storer.join()
            self.frontier = None
        self.store(progress)
        return reports

    def collect_feed(self, feed: Feed, progress: Progress | None = None) -> FeedReport:
        """Fetch one feed, then fetch, extract and stage its new (and retryable) articles."""
        settings = self.config.fetch
        with self.pool.connection() as conn:
            source = source_state(conn, feed.name)
        recorder = Recorder(self.pool, source, self.run_id)
        fetched = fetch_feed(
            self.fetcher, feed.url, settings, etag=source.etag, last_modified=source.last_modified
        )
        recorder.feed_fetched(fetched)
        report = FeedReport(feed=feed.name, http_status=fetched.result.status)
        if not fetched.ok and not fetched.not_modified:
            report.status = "failed"
            report.error = f"{fetched.result.url}: {fetched.error or 'fetch failed'}"
            report.transient = fetched.retryable
            log.warning("feed %s failed: %s", feed.name, report.error)
            if progress:
                progress.feed_done(report)
            return report
        entries = fetched.parsed.entries if fetched.parsed else []
        if fetched.not_modified:
            report.status = "not_modified"
        else:
            report.entries = len(entries)
            report.skipped = len(fetched.parsed.skipped) if fetched.parsed else 0

        limit = settings.max_articles_per_feed
        pending = recorder.pending(entries, max_attempts=settings.max_article_attempts, limit=limit)
        # Oldest first (undated first: their time is known once extracted): what is staged
        # early can be stored early, while the newer articles are still downloading.
        todo = sorted(pending[:limit], key=oldest_first)
        frontier = self.frontier
        if frontier is not None:
            frontier.listed(feed.name, todo)
        log.info(
            "feed %s: %s, %d entries, %d articles to fetch",
            feed.name,
            report.status,
            report.entries,
            len(todo),
        )
        if progress:
            progress.feed_started(feed.name, len(todo))
        if self.extract is not None:
            self.extract.expect(len(todo))  # many pages: the workers start now

        def work(entry: Any) -> Extracted | Failed:
            try:
                return download_article(self.fetcher, entry, settings, feed, self.extract)
            finally:
                if progress:
                    progress.article_done(feed.name)

        # Threads download and extract; story features (the embedding above all) are
        # computed here, in batches, so the encoder runs once per batch instead of once per
        # article in competing threads. Articles whose features a worker computed are
        # staged at once: the sooner staged, the sooner they can be stored.
        # A few pages of each feed in flight at a time, not all of them queued at once:
        # the article threads serve the feeds in turn, and each feed's oldest articles
        # come first (what the early store step waits for).
        batch: list[Extracted] = []
        window = self.config.fetch.concurrency
        for outcome in map_in_order(self.articles, work, todo, window):
            if isinstance(outcome, Failed):
                recorder.failed(outcome)
                report.failed += 1
                if frontier is not None:
                    frontier.resolved(feed.name, [outcome.entry])
                continue
            batch.append(outcome)
            # Extracted here while the workers load: their features wait for the workers.
            loading = self.extract is not None and self.extract.loading
            if outcome.features is not None or (len(batch) >= FEATURE_BATCH and not loading):
                report.staged += self._stage(recorder, batch, feed.name)
                batch = []
        report.staged += self._stage(recorder, batch, feed.name)
        report.fetched = len(report.staged)
        # Validators are saved last: a 304 next time must mean "nothing left to do", so not
        # after a crash mid-feed, and not while entries wait beyond max_articles_per_feed.
        if fetched.ok and len(pending) <= len(todo):
            recorder.feed_done(fetched)
        if progress:
            progress.feed_done(report)
        return report

    def _stage(self, recorder: Recorder, batch: list[Extracted], feed: str) -> list[str]:
        if not batch:
            return []
        workers = self.extract.prepare if self.extract is not None else None
        staged = recorder.stage(batch, features_of(self.engine, batch, workers))
        if self.frontier is not None:  # staged or a failed item: resolved either way
            self.frontier.resolved(feed, [extracted.entry for extracted in batch])
        return staged

    # -- store and finish --------------------------------------------------------------------
    def store(self, progress: Progress | None = None) -> StoreReport:
        """The serialised store step over everything staged (this run's and any leftovers)."""
        with self.pool.connection() as conn:
            return store_staged(
                conn,
                self.engine,
                schema=self.schema,
                run_id=self.run_id,
                on_batch=progress.storing if progress else None,
            )

    def finish(self, seconds: float, crashed: Sequence[FeedReport] = ()) -> RunReport:
        """Summarise the run from what it recorded, and record the summary in news.runs."""
        with self.pool.connection() as conn:
            summaries = _with_crashes(feed_summaries(conn, self.run_id), crashed)
            run = RunReport(self.run_id, summaries, seconds)
            finish_run_row(conn, self.run_id, run.stats())
        return run


# -- the steps, one call each ----------------------------------------------------------------


def begin_run(
    config: Config,
    *,
    run_id: str,
    trigger: str,
    url: str | None = None,
    schema: str = db.DEFAULT_SCHEMA,
) -> list[Feed]:
    """Migrate the schema, sync news.sources from the config, record the run (idempotent);
    return the enabled feeds."""
    migrations.migrate(url, schema=schema)
    with db.connection(url, schema=schema, autocommit=True) as conn:
        sync_sources(conn, config.feeds)
        start_run(conn, run_id, trigger)
    return config.enabled_feeds


def collect_feeds(
    config: Config,
    names: Sequence[str],
    *,
    run_id: str,
    url: str | None = None,
    schema: str = db.DEFAULT_SCHEMA,
    progress: Progress | None = None,
) -> list[FeedReport]:
    """Collect the named feeds of `config` (concurrently) and stage their new articles."""
    feeds = [config.feed(name) for name in names]
    with Cycle.open(config, run_id=run_id, url=url, schema=schema) as cycle:
        return cycle.collect(feeds, progress)


def store_articles(
    config: Config,
    *,
    run_id: str,
    url: str | None = None,
    schema: str = db.DEFAULT_SCHEMA,
    progress: Progress | None = None,
) -> StoreReport:
    """Assign stories to everything staged and store it."""
    with Cycle.open(config, run_id=run_id, url=url, schema=schema) as cycle:
        return cycle.store(progress)


def finish_run(
    config: Config,
    *,
    run_id: str,
    seconds: float,
    url: str | None = None,
    schema: str = db.DEFAULT_SCHEMA,
) -> RunReport:
    """The run's summary, read back from news.fetches and news.articles, saved in news.runs."""
    with Cycle.open(config, run_id=run_id, url=url, schema=schema) as cycle:
        return cycle.finish(seconds)


def refresh_rollups(*, url: str | None = None, schema: str = db.DEFAULT_SCHEMA) -> list[Refreshed]:
    """Refresh the analysts' materialised rollups (news.v_daily_stories) after a run."""
    with db.connection(url, schema=schema, autocommit=True) as conn:
        return rollup.refresh_rollups(conn)


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
    feeds = begin_run(config, run_id=run_id, trigger="cli", url=url, schema=schema)
    with Cycle.open(config, run_id=run_id, url=url, schema=schema) as cycle:
        reports = cycle.collect_and_store(feeds, progress)
        crashed = [report for report in reports if report.crashed]
        return cycle.finish(time.monotonic() - started, crashed)


def _with_crashes(summaries: list[FeedSummary], crashed: Sequence[FeedReport]) -> list[FeedSummary]:
    """Summaries come from what the run recorded; a feed that crashed half-way (its database
    connection died, a bug) may have recorded only successes, yet did not finish: report it
    as failed, or the run would claim success for articles it never got to."""
    errors = {report.feed: report.error or "crashed" for report in crashed}
    return [
        replace(summary, status="failed", error=f"crashed: {errors[summary.feed]}")
        if summary.feed in errors
        else summary
        for summary in summaries
    ]


def _report_or_crash(feed: Feed, future: Future[FeedReport]) -> FeedReport:
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
