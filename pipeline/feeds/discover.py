"""Find and probe feeds for editors: `news-ingest feeds add` and `news-ingest feeds check`.

Every request goes through our `Fetcher` (SSRF guard, timeouts, byte caps); trafilatura only
reads HTML we already downloaded. Its own downloader (`find_feed_urls`) is never used: it would
bypass the guard and would also ask Google News about the site.

Discovery, for a URL an editor pastes:

1. fetch it; if it parses as a feed, that is the feed;
2. else read it as HTML and take the candidates `trafilatura.feeds.determine_feed` finds:
   `<link rel="alternate">` with a feed media type (or a feed-like href), else `<a href>`
   that look like feeds; comment feeds are dropped;
3. then a few well-known paths on the same origin (WordPress `/feed/`, Hugo `/index.xml`,
   Jekyll `/feed.xml`, the common `/rss`...), because many sites serve a feed there without
   linking it;
4. fetch candidates in that order and keep the first that parses with entries (an empty but
   valid feed only if nothing better turns up).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..config import FetchSettings
from ..http import Fetcher, FetchResult
from .fetch import FeedFetch, fetch_feed, parse_fetched_feed
from .parse import ParsedFeed

log = logging.getLogger(__name__)

# What an editor pastes may be a feed or a page: ask for either, feeds first.
PAGE_OR_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, application/xhtml+xml;q=0.8, */*;q=0.5"
)
# Where sites commonly serve an unlinked feed; tried only after the linked candidates.
WELL_KNOWN_FEED_PATHS = ("/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
# Bounds the requests one `feeds add` makes to a site (linked candidates + well-known paths).
MAX_CANDIDATES = 12


@dataclass(frozen=True)
class DiscoveredFeed:
    """The feed `discover_feed` settled on, and how it got there."""

    url: str
    probe: FeedFetch
    # "direct" (the URL given is a feed), "linked" (found on the page), "well-known" (a path
    # sites commonly use, not linked from the page)
    via: str
    page_url: str
    language: str | None
    # candidates that were found but not needed, for the editor to consider
    others: tuple[str, ...]

    @property
    def title(self) -> str | None:
        return self.probe.parsed.title if self.probe.parsed else None


class FeedDiscoveryError(Exception):
    """No usable feed; the message lists what was tried and why each failed."""


def discover_feed(
    url: str, fetcher: Fetcher, settings: FetchSettings, *, max_candidates: int = MAX_CANDIDATES
) -> DiscoveredFeed:
    """The feed behind `url` (a feed or a web page); raise FeedDiscoveryError if none."""
    page = fetcher.get(
        url,
        max_bytes=max(settings.max_feed_bytes, settings.max_article_bytes),
        accept=PAGE_OR_FEED_ACCEPT,
    )
    if not page.ok:
        raise FeedDiscoveryError(f"cannot fetch {url}: {page.error}")
    direct = parse_fetched_feed(url, page, settings)
    if direct.ok:
        return DiscoveredFeed(url, direct, "direct", url, feed_language(direct.parsed), ())

    linked = linked_feed_urls(page)
    candidates = _unique(
        [*linked, *well_known_feed_urls(page.final_url)], exclude={url, page.final_url}
    )
    tried = candidates[:max_candidates]
    probes: list[FeedFetch] = []
    for candidate in tried:
        probe = fetch_feed(fetcher, candidate, settings)
        probes.append(probe)
        if probe.ok and probe.entries:
            break
    best = next((p for p in probes if p.ok and p.entries), None)
    best = best or next((p for p in probes if p.ok), None)
    if best is None:
        raise FeedDiscoveryError(_nothing_found(url, probes, linked))
    others = tuple(c for c in linked if c != best.url)
    via = "linked" if best.url in linked else "well-known"
    language = feed_language(best.parsed)
    return DiscoveredFeed(best.url, best, via, page.final_url, language, others)


def linked_feed_urls(page: FetchResult) -> list[str]:
    """Feed URLs a fetched HTML page links to, in document order (trafilatura's heuristics)."""
    # Imported here: trafilatura takes about a second to import, and only `feeds add` needs it.
    from trafilatura.feeds import FeedParameters, determine_feed

    base = page.final_url
    host = urlsplit(base).hostname or ""
    # trafilatura resolves relative links against `base`: give it the page's own URL, not just
    # the origin, so href="feed.xml" on /news/ means /news/feed.xml as in a browser.
    params = FeedParameters(base, host, base)
    found = determine_feed(_page_text(page), params)
    return [link for link in found if urlsplit(link).scheme in ("http", "https")]


def well_known_feed_urls(page_url: str) -> list[str]:
    """The WELL_KNOWN_FEED_PATHS on the page's origin."""
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(page_url))
    return [urljoin(origin, path) for path in WELL_KNOWN_FEED_PATHS]


def feed_language(parsed: ParsedFeed | None) -> str | None:
    """The ISO 639-1 code a feed declares (`<language>de-DE</language>`, Atom xml:lang)."""
    declared = parsed.language if parsed else None
    if not isinstance(declared, str):
        return None
    primary = declared.strip().lower().replace("_", "-").split("-")[0]
    return primary if len(primary) == 2 and primary.isalpha() and primary.isascii() else None


def _page_text(page: FetchResult) -> str:
    """Decode a page for link discovery: hrefs are ASCII in practice, so a lossy fallback is
    harmless. Always hand trafilatura a str: given bytes, it would also unpack a gzip body,
    around our byte cap."""
    for charset in (page.charset, "utf-8"):
        if not charset:
            continue
        try:
            return page.content.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return page.content.decode("cp1252", errors="replace")


def _unique(urls: list[str], *, exclude: set[str]) -> list[str]:
    seen = set(exclude)
    unique = []
    for url in urls:
        if url not in seen:
            seen.add(url)
            unique.append(url)
    return unique


def _nothing_found(url: str, probes: list[FeedFetch], linked: list[str]) -> str:
    if not probes:
        return f"no feed found on {url}: the page links no feed and no candidates were left"
    tried = "".join(f"\n  {p.url}: {p.describe()}" for p in probes)
    hint = "" if linked else " (the page links no feed)"
    return f"no feed found on {url}{hint}; tried:{tried}"
