"""robots.txt (RFC 9309): what one origin's rules allow, from the fetch of its robots.txt."""

from __future__ import annotations

import logging
import re
import threading
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .result import FetchOutcome, FetchResult

ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB
MAX_CRAWL_DELAY = 10.0  # seconds; a larger Crawl-delay would stall a whole run on one host

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Robots:
    """What one origin's robots.txt allows."""

    url: str
    parser: urllib.robotparser.RobotFileParser | None = None  # None: no rules, allow all
    unreachable: str | None = None  # set: RFC 9309 says assume everything is disallowed
    refused: str | None = None  # set: the SSRF guard refused the origin itself
    crawl_delay: float | None = None

    def denial(self, url: str, user_agent: str) -> str | None:
        """Why `url` may not be fetched by its rules, or None if it may."""
        if self.parser is None or self.parser.can_fetch(user_agent, url):
            return None
        token = user_agent.split("/")[0]
        return f"disallowed for {token} by {self.url}"


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "/robots.txt", "", ""))


def robots_from(result: FetchResult, user_agent: str) -> Robots:
    """Rules from a robots.txt fetch, following RFC 9309 section 2.3.1."""
    url = result.url
    if result.ok:
        parser = urllib.robotparser.RobotFileParser(url)
        text = result.content.decode("utf-8", errors="replace").lstrip("\ufeff")
        parser.parse(_robots_lines(url, text))
        delay = parser.crawl_delay(user_agent)
        return Robots(url, parser, crawl_delay=float(delay) if delay is not None else None)
    status = result.status
    if result.outcome is FetchOutcome.HTTP_ERROR and status is not None:
        # 429 is a 4xx, but it says "slow down", not "there are no rules": treat as a 5xx.
        if 400 <= status < 500 and status != 429:
            return Robots(url)
        return Robots(url, unreachable=result.error or f"HTTP {status}")
    if result.outcome is FetchOutcome.REDIRECT_ERROR:
        return Robots(url)  # RFC 9309: past five redirects it MAY be treated as unavailable
    if result.outcome is FetchOutcome.REFUSED and not result.redirects:
        return Robots(url, unreachable=result.error, refused=result.error)
    return Robots(url, unreachable=result.error or str(result.outcome))


# Lines whose value urllib.robotparser turns into numbers with `isdigit()` then `int()`,
# and the values it can use. A decimal Crawl-delay it ignores by itself, quietly.
_ROBOTS_NUMBERS = {
    "crawl-delay": re.compile(r"[0-9]{1,15}(?:\.[0-9]*)?"),
    "request-rate": re.compile(r"[0-9]{1,15}/[0-9]{1,15}"),
}


def _robots_lines(url: str, text: str) -> list[str]:
    """robots.txt lines for urllib.robotparser, without the numbers it would choke on.

    It checks Crawl-delay and Request-rate with str.isdigit(), which accepts '²', and then
    calls int(), which refuses it: one such line raised ValueError for every article of
    the site. Such a value is ignored with a warning, as RFC 9309 asks of lines a crawler
    cannot use.
    """
    kept = []
    for line in text.splitlines():
        field, colon, value = line.partition("#")[0].partition(":")
        pattern = _ROBOTS_NUMBERS.get(field.strip().lower()) if colon else None
        if pattern is not None and not pattern.fullmatch(value.strip()):
            logger.warning("robots.txt %s: ignoring %r (not a number)", url, line.strip()[:200])
            continue
        kept.append(line)
    return kept


class RobotsCache:
    """Each origin's rules, fetched once per cache (one run's Fetcher), the outcome cached
    whatever it was: the first thread asking for an origin fetches its robots.txt, the
    others wait for that fetch."""

    def __init__(
        self,
        fetch: Callable[[str], FetchResult],
        user_agent: str,
        on_crawl_delay: Callable[[str, float], None],
    ) -> None:
        self._fetch = fetch
        self._user_agent = user_agent
        self._on_crawl_delay = on_crawl_delay
        self._lock = threading.Lock()
        self._rules: dict[str, Robots] = {}
        self._origin_locks: dict[str, threading.Lock] = {}

    def rules_for(self, url: str) -> Robots:
        origin = robots_url(url)
        with self._lock:
            origin_lock = self._origin_locks.setdefault(origin, threading.Lock())
        with origin_lock:
            rules = self._rules.get(origin)
            if rules is None:
                try:
                    rules = self._load(origin)
                except Exception as exc:  # a bug must not mean one robots.txt GET per article
                    logger.exception("robots.txt %s: unexpected error", origin)
                    rules = Robots(origin, unreachable=f"unexpected error: {exc!r}")
                self._rules[origin] = rules
        return rules

    def _load(self, origin: str) -> Robots:
        result = self._fetch(origin)
        rules = robots_from(result, self._user_agent)
        if rules.crawl_delay:
            self._on_crawl_delay(origin, rules.crawl_delay)
        if rules.unreachable is not None:
            logger.warning(
                "robots.txt %s unavailable (%s): its articles wait for a later run",
                origin,
                rules.unreachable,
            )
        else:
            logger.info(
                "robots.txt %s: %s, crawl-delay %s",
                origin,
                f"HTTP {result.status}" if result.status else result.outcome,
                rules.crawl_delay,
            )
        return rules
