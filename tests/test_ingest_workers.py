"""pipeline.ingest.workers: pages extracted in worker processes, stored exactly as the
in-process path stores them; a page that hangs or kills its worker costs only itself."""

from __future__ import annotations

import base64
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from conftest import write_config
from newssite import (
    NewsSite,
    SiteMap,
    feed_item,
    load_fixture_articles,
    render_article_page,
    render_rss,
)

from pipeline.config import Config, DedupSettings, Feed
from pipeline.feeds import FeedEntry
from pipeline.http import ARTICLE_ACCEPT, Fetcher, FetchResult
from pipeline.ingest import load_config, run_cycle
from pipeline.ingest.collect import Extracted, Failed
from pipeline.ingest.workers import MAX_DEFAULT_PROCESSES, ExtractorPool, worker_count
from pipeline.store import db
from pipeline.urls import canonical_url

FEED = Feed(name="kurier", url="https://kurier.example/feed.xml")
# Workers from the first page on (the default waits for start_after_pages pages).
EAGER = {"processes": 2, "start_after_pages": 0}


def slow_page() -> str:
    """A real page that takes trafilatura many seconds (~4 MB of paragraphs)."""
    paragraphs = "".join(
        f"<div><p>Absatz {i}: Das Hochwasser an der Nahe steigt weiter, sagt der Kreis.</p></div>"
        for i in range(40_000)
    )
    return f"<html><head><title>Slow</title></head><body><article>{paragraphs}</article></body>"


ARTICLE_COLUMNS = (
    "canonical_url, url, title, text, author, published_at, language, description, sitename, "
    "declared_url, word_count, text_hash"
)


def stored(url: str, schema: str) -> dict[str, Any]:
    """What a cycle stored in `schema`: article rows, story grouping, embeddings."""
    with db.connection(url, schema=schema, autocommit=True) as conn:
        articles = conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY canonical_url"  # noqa: S608
        ).fetchall()
        stories = conn.execute(
            """SELECT array_agg(canonical_url ORDER BY canonical_url) FROM articles
               GROUP BY story_id ORDER BY 1"""
        ).fetchall()
        embeddings = dict(
            conn.execute(
                """SELECT a.canonical_url, v.vector FROM articles a
                   JOIN story_vectors v ON v.article_id = a.id AND v.encoder = 'use'"""
            ).fetchall()
        )
        fetches = conn.execute(
            "SELECT kind, outcome, count(*) FROM fetches GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    return {
        "articles": articles,
        "stories": stories,
        "fetches": fetches,
        "embeddings": {
            key: np.frombuffer(value, dtype="<f2").astype(np.float32)
            for key, value in embeddings.items()
        },
    }


def with_extract(config: Config, **settings: Any) -> Config:
    return config.model_copy(update={"extract": config.extract.model_copy(update=settings)})


def test_worker_count_comes_from_the_call_the_config_or_the_cores(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, {}))
    assert worker_count(config) == min(os.cpu_count() or 1, MAX_DEFAULT_PROCESSES)
    assert worker_count(with_extract(config, processes=0)) == 0
    assert worker_count(with_extract(config, processes=3)) == 3
    assert worker_count(with_extract(config, processes=3), processes=1) == 1
    with pytest.raises(ValueError, match="at least one process"):
        ExtractorPool(0, DedupSettings(), timeout=1)


def test_worker_processes_store_what_in_process_extraction_stores(
    db_url: str, seed_site: SiteMap, seed_config: Path
) -> None:
    config = load_config(seed_config)
    in_process = run_cycle(with_extract(config, processes=0), url=db_url, schema="local")
    in_workers = run_cycle(with_extract(config, **EAGER), url=db_url, schema="workers")

    assert in_process.stats()["articles_fetched"] == len(seed_site.served) > 0
    assert {**in_workers.stats(), "seconds": 0} == {**in_process.stats(), "seconds": 0}
    local, workers = stored(db_url, "local"), stored(db_url, "workers")
    assert workers["articles"] == local["articles"]
    assert workers["stories"] == local["stories"]
    assert workers["fetches"] == local["fetches"]
    # One BLAS thread in a worker may sum in another order: float16 vectors agree, not bits.
    assert workers["embeddings"].keys() == local["embeddings"].keys()
    for key, vector in local["embeddings"].items():
        assert float(vector @ workers["embeddings"][key]) > 0.999, key


def publish(site: NewsSite, *, slow: bool) -> tuple[str, list[str]]:
    """A feed of the fixture articles (and a slow page among them); returns the feed URL
    and the article URLs."""
    items, urls = [], []
    for article in load_fixture_articles()[:4]:
        url = site.add_page(
            f"/news/{article.slug}", render_article_page(article, site_name="Kurier")
        )
        items.append(feed_item(article, url))
        urls.append(url)
    if slow:
        url = site.add_page("/news/endless", slow_page())
        items.insert(1, feed_item(load_fixture_articles()[5], url))
        urls.insert(1, url)
    feed = site.add_feed("/feed.xml", render_rss(items, title="Kurier", link=site.url("/")))
    return feed, urls


def test_a_page_that_outlasts_the_timeout_costs_only_itself_and_is_retried(
    db_url: str, site: NewsSite, tmp_path: Path, conn: psycopg.Connection[Any]
) -> None:
    feed, urls = publish(site, slow=True)
    config = load_config(
        write_config(
            tmp_path,
            {"kurier": feed},
            fetch={"total_timeout": 30, "read_timeout": 10},
            extract={**EAGER, "timeout": 3},
        )
    )
    first = run_cycle(config, url=db_url)
    (summary,) = first.feeds
    assert (summary.status, summary.fetched, summary.failed) == ("ok", 4, 1)
    slow_url = canonical_url(urls[1])
    stage, error, retryable, attempts = conn.execute(
        "SELECT stage, error, retryable, attempts FROM failed_items WHERE canonical_url = %s",
        (slow_url,),
    ).fetchone()
    assert (stage, retryable, attempts) == ("extract", True, 1)
    assert "did not finish within 3 s" in error
    assert urls[1] in error
    assert conn.execute(
        "SELECT outcome FROM fetches WHERE kind = 'article' AND url = %s", (urls[1],)
    ).fetchall() == [("extract_error",)]
    assert sorted(row[0] for row in conn.execute("SELECT canonical_url FROM articles")) == sorted(
        canonical_url(url) for url in urls if url != urls[1]
    )

    # Idempotent: the next run stores nothing twice and tries the slow page once more.
    second = run_cycle(config, url=db_url)
    (again,) = second.feeds
    assert (again.status, again.fetched, again.failed) == ("not_modified", 0, 1)
    assert conn.execute("SELECT count(*) FROM articles").fetchone() == (4,)
    assert conn.execute(
        "SELECT attempts FROM failed_items WHERE canonical_url = %s", (slow_url,)
    ).fetchone() == (2,)


def fetched(fetcher: Fetcher, url: str) -> tuple[FeedEntry, FetchResult]:
    entry = FeedEntry(url, canonical_url(url), None, "Feed title", None, "Feed summary")
    result = fetcher.get(url, max_bytes=10_000_000, accept=ARTICLE_ACCEPT)
    assert result.ok, result.error
    return entry, result


@pytest.mark.parametrize(
    ("processes", "reason"),
    [(1, "was killed by SIGKILL"), (2, "ended unexpectedly")],
    ids=["spawned-worker", "forked-worker"],
)
def test_a_worker_killed_on_a_page_fails_that_page_and_is_replaced(
    site: NewsSite, fetcher: Fetcher, processes: int, reason: str
) -> None:
    _, urls = publish(site, slow=True)
    good, slow, other = (fetched(fetcher, url) for url in (urls[0], urls[1], urls[2]))
    now = datetime.now(UTC)
    with ExtractorPool(processes, DedupSettings(), timeout=120) as pool:
        first = pool(*good, FEED, now)
        assert isinstance(first, Extracted)
        assert first.features is not None  # computed in the worker
        assert base64.b64decode(first.features["vectors"]["use"])
        with ThreadPoolExecutor(1) as thread:
            pending = thread.submit(pool, *slow, FEED, now)
            time.sleep(1.0)  # the worker is busy with the slow page (or about to be)
            # Idle workers queue in turn: the slow page went to the last one (the first
            # worker's fork when there are two: its exit status is not ours to read).
            assert len(pool.pids()) == processes
            pid = pool.pids()[-1]
            os.kill(pid, signal.SIGKILL)  # what the kernel's OOM killer does
            outcome = pending.result(timeout=60)
        assert isinstance(outcome, Failed)
        assert (outcome.stage, outcome.outcome, outcome.retryable) == (
            "extract",
            "extract_error",
            True,
        )
        assert reason in outcome.error
        assert pid not in pool.pids()
        after = pool(*other, FEED, now)
        assert isinstance(after, Extracted)
        assert after.features is not None
        assert after.record.canonical_url == canonical_url(urls[2])


def test_the_first_pages_are_extracted_in_the_calling_thread(
    site: NewsSite, fetcher: Fetcher
) -> None:
    _, urls = publish(site, slow=False)
    pages = [fetched(fetcher, url) for url in urls]
    now = datetime.now(UTC)
    with ExtractorPool(1, DedupSettings(), timeout=60, start_after=2) as pool:
        local = [pool(*page, FEED, now) for page in pages[:2]]
        assert all(isinstance(o, Extracted) and o.features is None for o in local)
        assert pool.pids() == []  # a couple of articles never start a worker
        # The third page starts the worker and waits for it.
        third = pool(*pages[2], FEED, now)
        assert isinstance(third, Extracted)
        assert third.features is not None
        assert len(pool.pids()) == 1

    with ExtractorPool(1, DedupSettings(), timeout=60, start_after=2) as pool:
        pool.expect(3)  # a feed with more new pages than start_after: workers at once
        first = pool(*pages[0], FEED, now)
        assert isinstance(first, Extracted)
        assert first.features is not None


def test_pages_are_extracted_here_while_the_workers_load_and_get_their_features_there(
    site: NewsSite, fetcher: Fetcher
) -> None:
    _, urls = publish(site, slow=False)
    pages = [fetched(fetcher, url) for url in urls]
    now = datetime.now(UTC)
    with ExtractorPool(1, DedupSettings(), timeout=60, extract_while_loading=True) as pool:
        # The worker takes seconds to load (imports, the encoder): this page does not wait.
        early = pool(*pages[0], FEED, now)
        assert isinstance(early, Extracted)
        assert early.features is None
        assert pool.loading
        # Its features come from the worker once it is ready (this process loads no encoder).
        (features,) = pool.prepare([early.record.story_input()]) or [None]
        assert features is not None
        assert not pool.loading
        later = pool(*pages[0], FEED, now)  # a ready worker: extracted there, with features
        assert isinstance(later, Extracted)
        assert later.features is not None
        assert later.record == early.record
        mine = np.frombuffer(base64.b64decode(features["vectors"]["use"]), dtype="<f2")
        theirs = np.frombuffer(base64.b64decode(later.features["vectors"]["use"]), dtype="<f2")
        assert float(mine.astype(np.float32) @ theirs.astype(np.float32)) > 0.999
