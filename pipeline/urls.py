"""Canonical article URLs: one spelling per article, tracking parameters removed."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit, urlunsplit

from courlan import normalize_url

from .config import parse_host_entry

ARTICLE_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Longest article URL we accept, as a link and in canonical form (percent-encoding can
# triple a non-ASCII link), in UTF-8 bytes. Canonical URLs are the key of articles,
# staged_articles and failed_items (btree indexes hold at most 2,704 bytes per row);
# 2,048 is the longest URL the web's tooling (sitemaps, search engines, CDNs) supports.
MAX_URL_BYTES = 2048


def url_too_long(url: str) -> bool:
    return len(url.encode("utf-8", errors="surrogatepass")) > MAX_URL_BYTES


def canonical_url(url: str) -> str:
    """Normalise `url` so that every spelling of one article URL compares equal.

    courlan lowercases scheme and host, drops default ports, resolves dot segments, sorts
    the query and strips tracking parameters (utm_*, fbclid, ...). The fragment never
    names a different article, so it goes too.
    """
    normalized = normalize_url(url.strip(), strict=False, trailing_slash=False)
    scheme, netloc, path, query, _fragment = urlsplit(normalized)
    return urlunsplit((scheme, netloc, path or "/", query, ""))


def canonical_or_none(url: str | None) -> str | None:
    """canonical_url of an http(s) URL; None for anything else (a page's declared URL can be
    empty, relative, garbage or longer than MAX_URL_BYTES)."""
    if not url or not url.lower().startswith(("http://", "https://")) or url_too_long(url):
        return None
    try:
        canonical = canonical_url(url)
    except ValueError:
        return None
    return None if url_too_long(canonical) else canonical


def absolute_http_url(link: str | None, base: str) -> str | None:
    """Resolve a feed entry's (possibly relative) link; None unless it is http(s).

    Feeds carry relative links and the occasional javascript:, data: or file: link;
    only http(s) links name articles we may fetch.
    """
    if not link:
        return None
    resolved = urljoin(base, link.strip())
    parts = urlsplit(resolved)
    if parts.scheme.lower() not in ARTICLE_SCHEMES or not parts.hostname:
        return None
    return resolved


def _site(url: str) -> tuple[str, int | None] | None:
    """(host without a leading 'www.', port) of an http(s) URL, None if it has no host."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower().removeprefix("www."), port


def declared_on_own_site(declared: str, page_url: str, aliases: Iterable[str] = ()) -> bool:
    """Whether a page's declared canonical URL (rel=canonical, og:url) is on the page's own
    site (same host and port, 'www.' aside) or on a host the feed's editor declared as an
    alias of the source (`aliases:` in the config, 'host' or 'host:port').

    A page may claim any URL as its canonical one; only a claim about its own site is
    evidence that two URLs are one article.
    """
    site = _site(declared)
    if site is None:
        return False
    if site == _site(page_url):
        return True
    for entry in aliases:
        host, port = parse_host_entry(entry)
        if host.removeprefix("www.") == site[0] and port in (None, site[1]):
            return True
    return False
