"""Downloading and extracting one article: the work the article threads do.

`download_article` returns a value, `Extracted` or `Failed`, and writes nothing: the
feed's `Recorder` records every outcome, so the threads never touch the database. The
download stays in the thread; `extract_page` (the CPU-bound part) runs there too, or in a
worker process (`workers.ExtractorPool`) that also computes the story features.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..config import Feed, FetchSettings
from ..extract import ExtractionError, decode_html, extract_article
from ..feeds import FeedEntry
from ..http import ARTICLE_ACCEPT, Fetcher, FetchResult
from ..record import ArticleRecord
from ..stories.engine import DedupInput, Features, StoryEngine
from ..textnorm import clean_line
from ..urls import declared_on_own_site

log = logging.getLogger(__name__)

# Responses we hand to the extractor; anything else (PDF, images, JSON) is not an article page.
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")


@dataclass(frozen=True)
class Extracted:
    """An article downloaded and extracted, ready for its story features and staging. Its
    `record.declared_url` is only ever one on the page's own site (see `download_article`)."""

    entry: FeedEntry
    result: FetchResult
    record: ArticleRecord
    warning: str | None = None  # for the article's fetch row
    # Story features, when a worker process computed them with the extraction; else the
    # feed's thread computes them in batches (`features_of`).
    features: Features | None = None


@dataclass(frozen=True)
class Failed:
    """An article that could not be downloaded or extracted this time."""

    entry: FeedEntry
    result: FetchResult
    stage: str  # "fetch" or "extract" (news.failed_items.stage)
    error: str
    retryable: bool

    @property
    def outcome(self) -> str:
        """news.fetches.outcome: the download's own failure, or extract_error after a good one."""
        return "extract_error" if self.stage == "extract" else str(self.result.outcome)


# What turns a downloaded page into a value: `extract_page` in the calling thread, or a
# worker process pool's call (same arguments, same result).
PageExtractor = Callable[[FeedEntry, FetchResult, Feed, datetime], "Extracted | Failed"]


def download_article(
    fetcher: Fetcher,
    entry: FeedEntry,
    settings: FetchSettings,
    feed: Feed,
    extract: PageExtractor | None = None,
) -> Extracted | Failed:
    """Fetch the entry's page (robots.txt and every guard applied) and extract it, here or
    with `extract` (a worker process pool)."""
    fetched_at = datetime.now(UTC)
    result = fetcher.get(
        entry.url, max_bytes=settings.max_article_bytes, accept=ARTICLE_ACCEPT, check_robots=True
    )
    if not result.ok:
        error = result.error or str(result.outcome)
        return Failed(entry, result, "fetch", error, retryable=result.retryable)
    return (extract or extract_page)(entry, result, feed, fetched_at)


def extract_page(
    entry: FeedEntry, result: FetchResult, feed: Feed, fetched_at: datetime
) -> Extracted | Failed:
    """A downloaded page to its record (no network, no database: runs in any process).

    rel=canonical is evidence, not a command: a page may name any URL as its own, so only a
    declaration on the page's own site (or on one of the feed's `aliases`) is kept."""
    try:
        if result.content_type and not result.content_type.startswith(HTML_TYPES):
            raise ExtractionError(f"not an HTML page ({result.content_type})")
        article = extract_article(
            decode_html(result.content, result.charset),
            url=result.final_url,
            language_hint=feed.language,
        )
    except ExtractionError as exc:
        # Retryable: live pages are often a stub first and filled in minutes later.
        return Failed(entry, result, "extract", str(exc), retryable=True)
    warning = None
    declared = article.declared_url
    if declared and not declared_on_own_site(declared, result.final_url, feed.aliases):
        warning = f"rel=canonical names another site, ignored: {clean_line(declared, 300)}"
        log.info("feed %s: article %s: %s", feed.name, entry.url, warning)
        article = replace(article, declared_url=None)
    record = ArticleRecord.from_extraction(entry, article, fetched_at=fetched_at)
    return Extracted(entry, result, record, warning)


def features_of(
    engine: StoryEngine,
    batch: Sequence[Extracted],
    workers: Callable[[list[DedupInput]], list[Features] | None] | None = None,
) -> list[Features]:
    """The story features of each article: those a worker computed, the others in one
    `prepare` call (the encoder runs once per batch, not once per article), by `workers`
    (`ExtractorPool.prepare`: pages extracted here while the workers were loading) when
    given and able, else by `engine` in this process."""
    missing = [extracted.record.story_input() for extracted in batch if extracted.features is None]
    found = workers(missing) if workers is not None and missing else None
    computed = iter(found if found is not None else engine.prepare(missing))
    return [
        extracted.features if extracted.features is not None else next(computed)
        for extracted in batch
    ]
