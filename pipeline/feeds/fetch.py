"""Fetching and parsing one feed, the same way for every caller.

`fetch_feed` is what an ingest cycle does with a configured feed (a conditional GET when it
has validators) and what `feeds check` and `feeds add` do with a URL, so the editors'
commands read a feed exactly as the pipeline will.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config import FetchSettings
from ..http import FEED_ACCEPT, Fetcher, FetchOutcome, FetchResult
from .parse import FeedParseError, ParsedFeed, parse_feed


@dataclass(frozen=True)
class FeedFetch:
    """One fetch of a URL as a feed, and what parsing it gave."""

    url: str
    result: FetchResult
    parsed: ParsedFeed | None
    parse_error: str | None

    @property
    def ok(self) -> bool:
        """The URL answered with a feed document (possibly without entries)."""
        return self.parsed is not None

    @property
    def not_modified(self) -> bool:
        """The server answered 304 to our validators: nothing new since the last fetch."""
        return self.result.outcome is FetchOutcome.NOT_MODIFIED

    @property
    def outcome(self) -> str:
        """As recorded in news.fetches: ok, not_modified, parse_error or the fetch's failure."""
        if self.parse_error is not None:
            return "parse_error"
        return str(self.result.outcome)

    @property
    def error(self) -> str | None:
        return self.result.error if not self.result.ok else self.parse_error

    @property
    def retryable(self) -> bool:
        """Whether fetching again later may succeed (a document that is not a feed will not)."""
        return self.parse_error is None and self.result.retryable

    @property
    def entries(self) -> int | None:
        return len(self.parsed.entries) if self.parsed is not None else None

    @property
    def newest(self) -> datetime | None:
        """Publication time of the newest entry that has one."""
        if self.parsed is None:
            return None
        dates = [entry.published_at for entry in self.parsed.entries if entry.published_at]
        return max(dates, default=None)

    @property
    def status(self) -> str:
        """HTTP status if there was a response, else the fetch outcome ("timeout", ...)."""
        result = self.result
        return str(result.status) if result.status is not None else str(result.outcome)

    def describe(self) -> str:
        """A short verdict for error messages: "HTTP 404 Not Found", "feed, 3 entries"."""
        if self.parsed is not None:
            return f"feed, {len(self.parsed.entries)} entries"
        return self.error or "failed"


def fetch_feed(
    fetcher: Fetcher,
    url: str,
    settings: FetchSettings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedFetch:
    """GET `url` as a feed (conditionally when validators are given) and parse it."""
    result = fetcher.get(
        url,
        max_bytes=settings.max_feed_bytes,
        etag=etag,
        last_modified=last_modified,
        accept=FEED_ACCEPT,
    )
    return parse_fetched_feed(url, result, settings)


def parse_fetched_feed(url: str, result: FetchResult, settings: FetchSettings) -> FeedFetch:
    """Parse an already fetched document as a feed (discovery fetches a page first)."""
    if not result.ok:
        return FeedFetch(url, result, None, None)
    try:
        parsed = parse_feed(
            result.content,
            feed_url=result.final_url,
            content_type=_content_type_header(result),
            max_entries=settings.max_entries_per_feed,
        )
    except FeedParseError as exc:
        # The media type tells an editor at once that a "feed" link leads to a web page.
        served_as = f" (served as {result.content_type})" if result.content_type else ""
        return FeedFetch(url, result, None, f"{exc}{served_as}")
    return FeedFetch(url, result, parsed, None)


def _content_type_header(result: FetchResult) -> str | None:
    """The Content-Type as the server sent it: feedparser weighs its charset against the
    document's own declaration."""
    if not result.content_type:
        return None
    if result.charset:
        return f"{result.content_type}; charset={result.charset}"
    return result.content_type
