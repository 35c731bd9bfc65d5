"""Feed documents (RSS 0.9x/1.0/2.0, Atom) to a clean list of article entries."""

from __future__ import annotations

import calendar
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.html

from ..dates import EARLIEST_PLAUSIBLE_DATE, FUTURE_TOLERANCE, impossible_date
from ..textnorm import bounded_key, clean_line, clean_text
from ..urls import MAX_URL_BYTES, absolute_http_url, canonical_url, url_too_long
from .repair import sanitise_character_references

log = logging.getLogger(__name__)

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# guids are stored and indexed (articles_source_guid_idx); longer ones are cut, keeping a
# digest of the whole so different long guids stay different.
MAX_GUID_BYTES = 1000


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed that names an article we may fetch."""

    url: str
    canonical_url: str
    guid: str | None
    title: str | None
    published_at: datetime | None
    summary: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "guid": self.guid,
            "title": self.title,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedEntry:
        published = data.get("published_at")
        return cls(
            url=data["url"],
            canonical_url=canonical_url(data["url"]),
            guid=data.get("guid"),
            title=data.get("title"),
            published_at=datetime.fromisoformat(published) if published else None,
            summary=data.get("summary"),
        )


@dataclass(frozen=True)
class SkippedEntry:
    title: str | None
    link: str | None
    reason: str


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[FeedEntry]
    skipped: list[SkippedEntry] = field(default_factory=list)
    version: str | None = None
    title: str | None = None
    # feedparser's complaint about a malformed document whose entries we still kept
    problem: str | None = None
    # numeric character references XML forbids (surrogates, beyond U+10FFFF, controls),
    # replaced before parsing
    repaired_references: int = 0
    language: str | None = None  # as the feed declares it (<language>, xml:lang)


class FeedParseError(ValueError):
    """The document is not a feed we can read (not XML, an HTML page, no entries and broken)."""


def parse_feed(
    content: bytes,
    *,
    feed_url: str,
    content_type: str | None = None,
    max_entries: int = 500,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse a fetched feed document into entries; raise FeedParseError if it is unusable.

    A "bozo" document (malformed XML) that still yields entries is kept, its problem noted:
    many real feeds are slightly broken and their entries are fine.
    """
    headers = {"content-location": feed_url}
    if content_type:
        headers["content-type"] = content_type
    content, repaired = sanitise_character_references(content)
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    except Exception as exc:
        # feedparser has no error contract: whatever it raises on a hostile document is this
        # feed's parse error, never a crash of the feed's task.
        log.warning("feed %s: the parser failed", feed_url, exc_info=True)
        raise FeedParseError(f"feed parser failed: {type(exc).__name__}: {exc}") from exc
    problem = _bozo_reason(parsed)
    version = parsed.get("version") or None

    if not parsed.entries:
        if problem:
            raise FeedParseError(f"not a readable feed: {problem}")
        if not version:
            raise FeedParseError("not a feed: no RSS or Atom root element")
        return ParsedFeed(
            entries=[], version=version, title=_feed_title(parsed), language=_language(parsed)
        )

    now = now or datetime.now(UTC)
    entries: list[FeedEntry] = []
    skipped: list[SkippedEntry] = []
    seen: set[str] = set()
    for raw in parsed.entries:
        try:
            entry_or_reason = _entry(raw, feed_url=feed_url, now=now)
        except Exception as exc:  # one unreadable entry costs only itself
            log.warning("feed %s: entry could not be read", feed_url, exc_info=True)
            entry_or_reason = (
                f"entry could not be read: {type(exc).__name__}: {clean_line(str(exc), 200)}"
            )
        if isinstance(entry_or_reason, str):
            skipped.append(
                SkippedEntry(_raw_text(raw, "title"), _raw_text(raw, "link"), entry_or_reason)
            )
            continue
        entry = entry_or_reason
        # The link is the identity: broken feeds reuse one guid for different articles.
        if entry.canonical_url in seen:
            skipped.append(SkippedEntry(entry.title, entry.url, "duplicate of an earlier entry"))
            continue
        seen.add(entry.canonical_url)
        if len(entries) >= max_entries:
            skipped.append(SkippedEntry(entry.title, entry.url, f"beyond {max_entries} entries"))
            continue
        entries.append(entry)
    return ParsedFeed(
        entries=entries,
        skipped=skipped,
        version=version,
        title=_feed_title(parsed),
        problem=problem,
        repaired_references=repaired,
        language=_language(parsed),
    )


def _raw_text(raw: Any, key: str) -> str | None:
    """A field of an entry that could not be read, for its skip record (never raises)."""
    try:
        return clean_line(str(raw.get(key) or "") or None, 300)
    except Exception:
        return None


def _entry(raw: Any, *, feed_url: str, now: datetime) -> FeedEntry | str:
    """A FeedEntry, or the reason this entry names no fetchable article."""
    raw_guid = clean_line(raw.get("id"), 10_000)
    guid = bounded_key(raw_guid, MAX_GUID_BYTES) if raw_guid else None
    link = raw.get("link")
    if not link and raw_guid and raw.get("guidislink", False):
        link = raw_guid
    if not link:
        return "entry has no link"
    link = str(link).strip()
    if url_too_long(link):  # before any parsing: a 100 KB link costs nothing more
        return f"link longer than {MAX_URL_BYTES:,} bytes: {clean_line(link, 200)}"
    if _CONTROL_CHARS.search(link):
        # A NUL cannot even be stored in PostgreSQL, and no real article URL has one.
        return f"link contains control characters: {clean_line(link, 200)}"
    url = absolute_http_url(link, feed_url)
    if url is None:
        return f"link is not an http(s) URL: {clean_line(link, 200)}"
    try:
        canonical = canonical_url(url)
    except ValueError as exc:
        return f"link cannot be normalised: {exc}"
    if url_too_long(url) or url_too_long(canonical):
        return f"link longer than {MAX_URL_BYTES:,} bytes: {clean_line(link, 200)}"
    return FeedEntry(
        url=url,
        canonical_url=canonical,
        guid=guid,
        title=clean_line(raw.get("title")),
        published_at=_plausible_date(raw, now),
        summary=_summary_text(raw.get("summary")),
    )


def _plausible_date(raw: Any, now: datetime) -> datetime | None:
    for key in ("published", "updated", "created"):
        # dict.get: FeedParserDict.get maps missing keys onto others (deprecated fallback)
        value = dict.get(raw, f"{key}_parsed")
        if not isinstance(value, time.struct_time):
            continue
        written = dict.get(raw, key)
        if isinstance(written, str) and impossible_date(written):
            continue  # feedparser normalises it into another moment: unknown, not shifted
        try:
            moment = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        except (OverflowError, ValueError, OSError):
            continue
        if EARLIEST_PLAUSIBLE_DATE <= moment <= now + FUTURE_TOLERANCE:
            return moment
    return None


def _summary_text(summary: str | None) -> str | None:
    if not summary:
        return None
    try:
        text = lxml.html.fromstring(summary).text_content()
    except (ValueError, lxml.etree.ParserError):
        text = summary
    return clean_text(text)[:5000] or None


def _feed_title(parsed: Any) -> str | None:
    return clean_line(parsed.get("feed", {}).get("title"))


def _language(parsed: Any) -> str | None:
    declared = parsed.get("feed", {}).get("language")
    return clean_line(declared, 50) if isinstance(declared, str) else None


def _bozo_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    # A charset other than the declared one, or XML served as text/html or without a
    # Content-Type, is routine on the web and harmless to the entries.
    if isinstance(exc, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)):
        return None
    return f"{type(exc).__name__}: {exc}" if exc else "malformed document"
