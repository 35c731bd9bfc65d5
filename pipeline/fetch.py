"""The HTTP fetch layer: one guarded, polite, bounded GET that never raises for what the web does.

Every fetch in the pipeline (feeds, articles, robots.txt) goes through `Fetcher.get`, which

- refuses URLs and addresses that are not public (`pipeline.netguard`), checking each redirect
  hop and connecting to the very IP that was checked, so DNS rebinding cannot slip past;
- bounds the work a hostile server can cause: connect/read timeouts, a wall-clock deadline per
  request (a slow drip cannot hold a worker), a cap on decoded bytes (a gzip bomb costs at most
  the cap), a cap on redirects;
- retries what is worth retrying (network errors, connect timeouts, 408/429/5xx) with
  exponential backoff and Retry-After, and nothing else;
- is polite: a per-host concurrency cap, robots.txt and its Crawl-delay when asked;
- reports everything as a `FetchResult` whose `outcome` and `error` say what happened.

One `Fetcher` is shared by the worker threads of a run; it is thread-safe.
"""

from __future__ import annotations

import contextvars
import email.utils
import functools
import http.cookiejar
import logging
import random
import re
import threading
import time
import urllib.robotparser
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx
import tenacity

from .config import FetchSettings
from .netguard import (
    PrivateHosts,
    Resolver,
    UnsafeURLError,
    check_url,
    resolve_checked,
    system_resolver,
)

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB
MAX_CRAWL_DELAY = 10.0  # seconds; a larger Crawl-delay would stall a whole run on one host
ACCEPT_ENCODING = "gzip, deflate"  # only what _decoded can inflate with bounded memory
# What we ask feed servers for (the pipeline's feed polls and `feeds add`/`feeds check`).
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
_PIECE = 64 * 1024  # most decoded bytes produced per step, so the byte cap bounds memory

_T = TypeVar("_T")


class FetchOutcome(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    HTTP_ERROR = "http_error"
    NETWORK_ERROR = "network_error"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    REFUSED = "refused"
    ROBOTS_DISALLOWED = "robots_disallowed"
    # robots.txt unreachable, 5xx or 429: RFC 9309 says assume everything is disallowed,
    # for now; the article is tried again in a later run
    ROBOTS_UNAVAILABLE = "robots_unavailable"
    REDIRECT_ERROR = "redirect_error"


@dataclass(frozen=True)
class FetchResult:
    """What one `Fetcher.get` did. `attempts` counts HTTP requests made (hops and retries)."""

    url: str
    final_url: str
    outcome: FetchOutcome
    status: int | None
    content: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    elapsed_ms: int
    bytes_read: int
    attempts: int
    error: str | None
    redirects: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome is FetchOutcome.OK

    @property
    def retryable(self) -> bool:
        """Whether trying again later may succeed."""
        if self.outcome in (
            FetchOutcome.NETWORK_ERROR,
            FetchOutcome.TIMEOUT,
            FetchOutcome.ROBOTS_UNAVAILABLE,
        ):
            return True
        if self.outcome is FetchOutcome.HTTP_ERROR and self.status is not None:
            return self.status in (408, 429) or self.status >= 500
        return False


# --- one request's wall-clock deadline -------------------------------------------------------
#
# httpx's read timeout restarts with every byte, so a server dripping one byte a second never
# trips it. The deadline is enforced where the bytes move: the network stream below clamps
# every connect/read/write timeout to the time left. A context variable carries it there
# because the stream is owned by the connection pool and shared between threads over time.


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.tripped = False
        self._end = time.monotonic() + seconds

    def clamp(self, timeout: float | None, exc_type: type[Exception]) -> tuple[float, bool]:
        """The timeout to use and whether the deadline (not `timeout`) is what limits it."""
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            self.tripped = True
            raise exc_type(f"total deadline of {self.seconds:g} s exceeded")
        if timeout is None or remaining < timeout:
            return remaining, True
        return timeout, False

    def check(self) -> None:
        if time.monotonic() >= self._end:
            self.tripped = True
            raise httpx.ReadTimeout(f"total deadline of {self.seconds:g} s exceeded")


_DEADLINE: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "news_ingest_fetch_deadline", default=None
)


def _bounded(
    call: Callable[[float | None], _T], timeout: float | None, exc_type: type[Exception]
) -> _T:
    """Run a blocking network call with its timeout cut to the current deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return call(timeout)
    limit, by_deadline = deadline.clamp(timeout, exc_type)
    try:
        return call(limit)
    except httpcore.TimeoutException:
        if by_deadline:
            deadline.tripped = True
        raise


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _bounded(
            functools.partial(self._inner.read, max_bytes), timeout, httpcore.ReadTimeout
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _bounded(functools.partial(self._inner.write, buffer), timeout, httpcore.WriteTimeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = _bounded(
            functools.partial(self._inner.start_tls, ssl_context, server_hostname),
            timeout,
            httpcore.ConnectTimeout,
        )
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


# --- the guarded connection path --------------------------------------------------------------


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves once, checks every address, and connects to a checked IP.

    httpcore hands us the URL's host name; TLS SNI and certificate checks still use that name
    (httpcore passes it to start_tls), and the Host header is httpx's, so only the TCP
    destination changes: from "whatever a second DNS lookup says" to "the address we checked".
    """

    def __init__(
        self, resolver: Resolver, *, allow_private: bool, private_hosts: PrivateHosts
    ) -> None:
        self._inner = httpcore.SyncBackend()
        self._resolver = resolver
        self._allow_private = allow_private
        self._private_hosts = private_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_checked(
                host,
                port,
                resolver=self._resolver,
                allow_private=self._allow_private or self._private_hosts.allows(host, port),
            )
        except OSError as exc:  # UnsafeURLError is not one: it passes through httpx unchanged
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        options = list(socket_options or [])
        error: httpcore.ConnectError | None = None
        for address in addresses:
            connect = functools.partial(
                self._inner.connect_tcp,
                address,
                port,
                local_address=local_address,
                socket_options=options,
            )
            try:
                stream = _bounded(connect, timeout, httpcore.ConnectTimeout)
            except httpcore.ConnectError as exc:
                error = exc  # try the next address, as socket.create_connection would
                continue
            return _DeadlineStream(stream)
        assert error is not None  # resolve_checked never returns an empty list
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise UnsafeURLError(f"refused: unix socket {path!r}")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _guarded_transport(backend: httpcore.NetworkBackend) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(trust_env=False)
    pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=None,  # the thread count bounds connections; never wait for the pool
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    _replace_pool(transport, pool)
    return transport


def _replace_pool(transport: httpx.HTTPTransport, pool: httpcore.ConnectionPool) -> None:
    """Make `transport` send through `pool`.

    httpx 0.28 builds its httpcore pool inside HTTPTransport.__init__ and has no parameter for
    a network backend, so this swaps the private `_pool`: the only private attribute we touch.
    test_fetch.py::test_httpx_transport_keeps_its_pool_in_private_attribute fails if it moves.
    """
    old = getattr(transport, "_pool", None)
    if not isinstance(old, httpcore.ConnectionPool):
        raise RuntimeError(
            "httpx.HTTPTransport no longer keeps an httpcore.ConnectionPool in `_pool`; "
            "pipeline.fetch._replace_pool must be adapted to this httpx version"
        )
    transport._pool = pool
    old.close()


# --- bounded body decoding --------------------------------------------------------------------


class _BodyError(Exception):
    """The body cannot be decoded; the server's fault, not worth retrying."""


def _decoded(raw: Iterable[bytes], content_encoding: str | None) -> Iterator[bytes]:
    """Decode a body lazily in pieces of at most _PIECE bytes.

    httpx's own decoders inflate a whole network chunk at once; 64 KiB of a nested gzip bomb
    can become gigabytes before the caller could count them.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    stream: Iterable[bytes] = raw
    for coding in reversed(codings):  # the last coding applied is undone first
        if coding in ("gzip", "x-gzip"):
            stream = _inflate(stream, gzip=True)
        elif coding == "deflate":
            stream = _inflate(stream, gzip=False)
        elif coding != "identity":
            raise _BodyError(f"unsupported Content-Encoding {coding!r}")
    return iter(stream)


def _inflate(chunks: Iterable[bytes], *, gzip: bool) -> Iterator[bytes]:
    wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    first = True
    try:
        for chunk in chunks:
            data = chunk
            if first and data and not gzip:
                first = False
                if not _has_zlib_header(data):
                    # RFC 9110 deflate is zlib-wrapped, but some servers send raw deflate.
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            while data:
                if inflater.eof:
                    if not (gzip and data.startswith(b"\x1f\x8b")):
                        return  # trailing bytes after the stream are ignored, as browsers do
                    inflater = zlib.decompressobj(wbits)  # next member of a multi-member gzip
                piece = inflater.decompress(data, _PIECE)
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
                if piece:
                    yield piece
            # zlib may hold back output although it has consumed all input so far.
            while not inflater.eof:
                piece = inflater.decompress(b"", _PIECE)
                if not piece:
                    break
                yield piece
    except zlib.error as exc:
        kind = "gzip" if gzip else "deflate"
        raise _BodyError(f"cannot decode {kind} body: {exc}") from None


def _has_zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0


# --- small parsers ----------------------------------------------------------------------------


# Numbers in headers and robots.txt are ASCII digits (RFC 9110 `1*DIGIT`). str.isdigit()
# also accepts '²' or '①', which int() and float() then refuse with ValueError.
_ASCII_NUMBER = re.compile(r"[0-9]{1,15}")


def ascii_number(value: str | None) -> int | None:
    """The integer `value` spells in ASCII digits (surrounding spaces allowed), else None."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if _ASCII_NUMBER.fullmatch(value) else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date), None if unusable."""
    if value is None:
        return None
    value = value.strip()
    seconds = ascii_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, charset) of a Content-Type header."""
    if not value:
        return None, None
    media_type, *params = value.split(";")
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset" and raw.strip().strip("\"'"):
            charset = raw.strip().strip("\"'").lower()
    return media_type.strip().lower() or None, charset


def _content_length(value: str | None) -> int | None:
    return ascii_number(value)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    seconds = parse_retry_after(value)
    if value is not None and seconds is None:
        logger.warning("%s: ignoring Retry-After %r (not a number or date)", response.url, value)
    return seconds


def _status_text(response: httpx.Response) -> str:
    """ "HTTP 404 Not Found": the standard phrase, so errors read alike whatever the server says."""
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase
    return f"HTTP {response.status_code} {phrase}".rstrip()


# --- per-host politeness ----------------------------------------------------------------------


class _HostGate:
    """At most `limit` requests to one host at a time, starting at least `interval` s apart."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._interval = 0.0
        self._next_start = 0.0

    def set_interval(self, seconds: float) -> None:
        with self._lock:
            self._interval = max(self._interval, seconds)

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self._interval
            if start > now:
                time.sleep(start - now)
            yield


# --- robots.txt -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Robots:
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


def _robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "/robots.txt", "", ""))


def _robots_from(result: FetchResult, user_agent: str) -> _Robots:
    """Rules from a robots.txt fetch, following RFC 9309 section 2.3.1."""
    url = result.url
    if result.ok:
        parser = urllib.robotparser.RobotFileParser(url)
        text = result.content.decode("utf-8", errors="replace").lstrip("\ufeff")
        parser.parse(_robots_lines(url, text))
        delay = parser.crawl_delay(user_agent)
        return _Robots(url, parser, crawl_delay=float(delay) if delay is not None else None)
    status = result.status
    if result.outcome is FetchOutcome.HTTP_ERROR and status is not None:
        # 429 is a 4xx, but it says "slow down", not "there are no rules": treat as a 5xx.
        if 400 <= status < 500 and status != 429:
            return _Robots(url)
        return _Robots(url, unreachable=result.error or f"HTTP {status}")
    if result.outcome is FetchOutcome.REDIRECT_ERROR:
        return _Robots(url)  # RFC 9309: past five redirects it MAY be treated as unavailable
    if result.outcome is FetchOutcome.REFUSED and not result.redirects:
        return _Robots(url, unreachable=result.error, refused=result.error)
    return _Robots(url, unreachable=result.error or str(result.outcome))


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


# --- the fetcher ------------------------------------------------------------------------------


@dataclass
class _Trace:
    """What one `get` accumulates across hops and retries."""

    attempts: int = 0
    redirects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Reply:
    """The result of one request (or of a check that prevented it)."""

    outcome: FetchOutcome
    error: str | None = None
    status: int | None = None
    content: bytes = b""
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    bytes_read: int = 0
    location: str | None = None  # set on a redirect still to be followed
    retry: bool = False  # worth another attempt now
    retry_after: float | None = None


class Fetcher:
    """Guarded, polite HTTP GETs; share one instance between threads."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        allow_private_networks: bool = False,
        private_hosts: Iterable[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        """`private_hosts`: host or host:port entries exempt from the private-address check
        (config `allow_private_hosts`), for intranet feeds; everything else stays guarded."""
        self._settings = settings
        self._allow_private = allow_private_networks
        self._private_hosts = PrivateHosts(private_hosts)
        backend = _GuardedBackend(
            resolver or system_resolver,
            allow_private=allow_private_networks,
            private_hosts=self._private_hosts,
        )
        self._client = httpx.Client(
            transport=_guarded_transport(backend),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            follow_redirects=False,
            trust_env=False,  # no proxies or .netrc from the environment: they bypass the guard
            # Stateless fetches: a cookie set by one site must not follow us to the next request.
            cookies=http.cookiejar.CookieJar(
                http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
            ),
        )
        self._lock = threading.Lock()
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
        check_robots: bool = False,
    ) -> FetchResult:
        """GET `url`; never raises for anything the network or the server does."""
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive (got {max_bytes})")
        started = time.monotonic()
        trace = _Trace()
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        robots = check_robots and self._settings.respect_robots
        try:
            reply = self._follow(
                url, headers, max_bytes, robots=robots, truncate=False, trace=trace
            )
        except Exception as exc:
            # A bug or a failure mode nobody foresaw; the run must go on with the next URL.
            logger.exception("fetch %s: unexpected error", url)
            reply = _Reply(FetchOutcome.NETWORK_ERROR, error=f"unexpected error: {exc!r}")
        if reply.outcome is FetchOutcome.NOT_MODIFIED:
            # A 304 may omit the validators; the ones we sent are still the current ones.
            reply = replace(
                reply, etag=reply.etag or etag, last_modified=reply.last_modified or last_modified
            )
        result = _result(url, reply, trace, started)
        _log_result(result)
        return result

    # -- redirects -----------------------------------------------------------------------------

    def _follow(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        *,
        robots: bool,
        truncate: bool,
        trace: _Trace,
    ) -> _Reply:
        current = url
        chain = [_normalized(url)]  # targets come normalised from httpx; compare like with like
        while True:
            try:
                allow = self._allow_private or self._private_hosts.allows_url(current)
                check_url(current, allow_private=allow)
            except UnsafeURLError as exc:
                via = f" (redirected from {chain[-2]})" if len(chain) > 1 else ""
                return _Reply(FetchOutcome.REFUSED, error=f"{exc}{via}")
            if robots:
                denial = self._robots_denial(current)
                if denial is not None:
                    return denial
            reply = self._request_with_retries(current, headers, max_bytes, truncate, trace)
            if reply.location is None:
                return reply
            try:
                target = str(httpx.URL(current).join(reply.location))
            except (httpx.InvalidURL, ValueError) as exc:
                return replace(
                    reply,
                    outcome=FetchOutcome.REDIRECT_ERROR,
                    error=f"invalid redirect Location {reply.location!r}: {exc}",
                )
            if target in chain:
                loop = " → ".join([*chain[chain.index(target) :], target])
                return replace(
                    reply, outcome=FetchOutcome.REDIRECT_ERROR, error=f"redirect loop: {loop}"
                )
            if len(trace.redirects) >= self._settings.max_redirects:
                hops = " → ".join([*chain, target])
                error = f"too many redirects (limit {self._settings.max_redirects}): {hops}"
                return replace(reply, outcome=FetchOutcome.REDIRECT_ERROR, error=error)
            logger.info("redirect %s → %s (HTTP %s)", current, target, reply.status)
            trace.redirects.append(target)
            chain.append(target)
            current = target

    # -- retries -------------------------------------------------------------------------------

    def _request_with_retries(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        truncate: bool,
        trace: _Trace,
    ) -> _Reply:
        settings = self._settings
        retrying = tenacity.Retrying(
            stop=tenacity.stop_any(
                tenacity.stop_after_attempt(settings.max_retries + 1), self._retry_after_too_long
            ),
            wait=self._wait,
            retry=tenacity.retry_if_result(lambda reply: reply.retry),
            retry_error_callback=_last_reply,  # give up with the last reply, not RetryError
            before_sleep=functools.partial(_log_retry, url, settings.max_retries + 1),
        )
        reply: _Reply = retrying(self._request_once, url, headers, max_bytes, truncate, trace)
        too_long = reply.retry_after is not None and reply.retry_after > settings.max_retry_after
        if reply.retry and too_long:
            note = (
                f"Retry-After {reply.retry_after:g} s exceeds max_retry_after "
                f"{settings.max_retry_after:g} s, not retried"
            )
            return replace(reply, error=f"{reply.error}; {note}")
        attempts = retrying.statistics.get("attempt_number", 1)
        if reply.retry and attempts > 1:
            return replace(reply, error=f"{reply.error} (gave up after {attempts} attempts)")
        return reply

    def _retry_after_too_long(self, state: tenacity.RetryCallState) -> bool:
        reply = _last_reply(state)
        return reply.retry_after is not None and reply.retry_after > self._settings.max_retry_after

    def _wait(self, state: tenacity.RetryCallState) -> float:
        reply = _last_reply(state)
        if reply.retry_after is not None:
            return reply.retry_after
        delay = self._settings.backoff_seconds * 2 ** (state.attempt_number - 1)
        return delay + random.uniform(0, delay / 2)

    # -- one request ---------------------------------------------------------------------------

    def _request_once(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        truncate: bool,
        trace: _Trace,
    ) -> _Reply:
        try:
            request = self._client.build_request("GET", url, headers=headers)
        except (httpx.InvalidURL, ValueError) as exc:  # idna raises UnicodeError, a ValueError
            return _Reply(
                FetchOutcome.REFUSED, error=f"refused: {url!r} is not a valid URL ({exc})"
            )
        with self._gate(url).slot():
            deadline = _Deadline(self._settings.total_timeout)
            token = _DEADLINE.set(deadline)
            trace.attempts += 1
            try:
                response = self._client.send(request, stream=True)
                try:
                    return self._read(response, max_bytes, truncate, deadline)
                finally:
                    response.close()
            except UnsafeURLError as exc:
                trace.attempts -= 1  # refused before connecting: no request was made
                return _Reply(FetchOutcome.REFUSED, error=str(exc))
            except httpx.TimeoutException as exc:
                return self._timeout_reply(exc, deadline)
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                return _Reply(FetchOutcome.NETWORK_ERROR, error=_describe(exc), retry=True)
            except httpx.HTTPError as exc:
                return _Reply(FetchOutcome.NETWORK_ERROR, error=_describe(exc))
            finally:
                _DEADLINE.reset(token)

    def _timeout_reply(self, exc: httpx.TimeoutException, deadline: _Deadline) -> _Reply:
        settings = self._settings
        if deadline.tripped:
            error = f"total deadline of {settings.total_timeout:g} s exceeded"
            return _Reply(FetchOutcome.TIMEOUT, error=error)
        if isinstance(exc, httpx.ConnectTimeout):
            error = f"connect timeout after {settings.connect_timeout:g} s: {exc}"
            return _Reply(FetchOutcome.TIMEOUT, error=error, retry=True)
        if isinstance(exc, httpx.ReadTimeout):
            error = f"read timeout: no data for {settings.read_timeout:g} s"
            return _Reply(FetchOutcome.TIMEOUT, error=error)
        return _Reply(FetchOutcome.TIMEOUT, error=_describe(exc))

    def _read(
        self, response: httpx.Response, max_bytes: int, truncate: bool, deadline: _Deadline
    ) -> _Reply:
        status = response.status_code
        media_type, charset = _content_type(response.headers.get("content-type"))
        meta: dict[str, Any] = {
            "status": status,
            "content_type": media_type,
            "charset": charset,
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
        }
        if status in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                error = f"{_status_text(response)} without a Location header"
                return _Reply(FetchOutcome.REDIRECT_ERROR, error=error, **meta)
            error = f"{_status_text(response)} redirect not followed"
            return _Reply(FetchOutcome.REDIRECT_ERROR, error=error, location=location, **meta)
        if status == 304:
            return _Reply(FetchOutcome.NOT_MODIFIED, **meta)
        if not 200 <= status < 300:
            retry = status in RETRY_STATUSES
            retry_after = _retry_after(response) if retry else None
            return _Reply(
                FetchOutcome.HTTP_ERROR,
                error=_status_text(response),
                retry=retry,
                retry_after=retry_after,
                **meta,
            )
        length = _content_length(response.headers.get("content-length"))
        if length is not None and length > max_bytes and not truncate:
            error = f"Content-Length {length} exceeds the limit of {max_bytes} bytes"
            return _Reply(FetchOutcome.TOO_LARGE, error=error, **meta)
        try:
            content, count = _read_capped(response, max_bytes, truncate, deadline)
        except _BodyError as exc:
            return _Reply(FetchOutcome.HTTP_ERROR, error=str(exc), **meta)
        if content is None:
            error = f"body exceeds the limit of {max_bytes} bytes (decoded)"
            return _Reply(FetchOutcome.TOO_LARGE, error=error, bytes_read=count, **meta)
        return _Reply(FetchOutcome.OK, content=content, bytes_read=count, **meta)

    # -- politeness ----------------------------------------------------------------------------

    def _gate(self, url: str) -> _HostGate:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = _HostGate(self._settings.per_host_concurrency)
            return gate

    def _robots_denial(self, url: str) -> _Reply | None:
        robots = self._robots_for(url)
        if robots.refused is not None:
            # The guard refused robots.txt because of the origin's address (a name resolving
            # to a private address): the article is refused for the same reason, and must be
            # recorded as such, not as a robots.txt problem.
            return _Reply(FetchOutcome.REFUSED, error=robots.refused)
        if robots.unreachable is not None:
            error = f"robots.txt unavailable: {robots.url}: {robots.unreachable}"
            return _Reply(FetchOutcome.ROBOTS_UNAVAILABLE, error=error)
        denial = robots.denial(url, self._settings.user_agent)
        return None if denial is None else _Reply(FetchOutcome.ROBOTS_DISALLOWED, error=denial)

    def _robots_for(self, url: str) -> _Robots:
        robots_url = _robots_url(url)
        with self._lock:
            origin_lock = self._robots_locks.setdefault(robots_url, threading.Lock())
        # One fetch per origin and Fetcher (one run), its outcome cached whatever it was;
        # other threads wanting the same origin wait for it.
        with origin_lock:
            robots = self._robots.get(robots_url)
            if robots is None:
                try:
                    robots = self._load_robots(robots_url)
                except Exception as exc:  # a bug must not mean one robots.txt GET per article
                    logger.exception("robots.txt %s: unexpected error", robots_url)
                    robots = _Robots(robots_url, unreachable=f"unexpected error: {exc!r}")
                self._robots[robots_url] = robots
        return robots

    def _load_robots(self, robots_url: str) -> _Robots:
        started = time.monotonic()
        trace = _Trace()
        headers = {"Accept": "text/plain, */*;q=0.5"}
        reply = self._follow(
            robots_url, headers, ROBOTS_MAX_BYTES, robots=False, truncate=True, trace=trace
        )
        result = _result(robots_url, reply, trace, started)
        robots = _robots_from(result, self._settings.user_agent)
        if robots.crawl_delay:
            self._gate(robots_url).set_interval(min(robots.crawl_delay, MAX_CRAWL_DELAY))
        if robots.unreachable is not None:
            logger.warning(
                "robots.txt %s unavailable (%s): its articles wait for a later run",
                robots_url,
                robots.unreachable,
            )
        else:
            logger.info(
                "robots.txt %s: %s, crawl-delay %s",
                robots_url,
                f"HTTP {result.status}" if result.status else result.outcome,
                robots.crawl_delay,
            )
        return robots


def _read_capped(
    response: httpx.Response, max_bytes: int, truncate: bool, deadline: _Deadline
) -> tuple[bytes | None, int]:
    """(content, decoded byte count); content is None when the cap was exceeded."""
    parts: list[bytes] = []
    count = 0
    for piece in _decoded(response.iter_raw(), response.headers.get("content-encoding")):
        deadline.check()
        count += len(piece)
        if count > max_bytes:
            if not truncate:
                return None, count
            parts.append(piece[: len(piece) - (count - max_bytes)])
            return b"".join(parts), max_bytes
        parts.append(piece)
    return b"".join(parts), count


def _normalized(url: str) -> str:
    try:
        return str(httpx.URL(url))
    except (httpx.InvalidURL, ValueError):
        return url


def _last_reply(state: tenacity.RetryCallState) -> _Reply:
    assert state.outcome is not None
    reply: _Reply = state.outcome.result()
    return reply


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _result(url: str, reply: _Reply, trace: _Trace, started: float) -> FetchResult:
    ok = reply.outcome is FetchOutcome.OK
    return FetchResult(
        url=url,
        final_url=trace.redirects[-1] if trace.redirects else url,
        outcome=reply.outcome,
        status=reply.status,
        content=reply.content if ok else b"",
        content_type=reply.content_type,
        charset=reply.charset,
        etag=reply.etag,
        last_modified=reply.last_modified,
        elapsed_ms=round((time.monotonic() - started) * 1000),
        bytes_read=reply.bytes_read,
        attempts=trace.attempts,
        error=None if ok or reply.outcome is FetchOutcome.NOT_MODIFIED else reply.error,
        redirects=tuple(trace.redirects),
    )


def _log_retry(url: str, max_attempts: int, state: tenacity.RetryCallState) -> None:
    reply = _last_reply(state)
    wait = state.next_action.sleep if state.next_action else 0.0
    logger.info(
        "retrying %s in %.2f s after %s (attempt %d of %d)",
        url,
        wait,
        reply.error,
        state.attempt_number + 1,
        max_attempts,
    )


def _log_result(result: FetchResult) -> None:
    if result.outcome in (FetchOutcome.OK, FetchOutcome.NOT_MODIFIED):
        logger.info(
            "GET %s: %s HTTP %s, %d bytes, %d ms, %d attempt(s)",
            result.url,
            result.outcome,
            result.status,
            result.bytes_read,
            result.elapsed_ms,
            result.attempts,
        )
    else:
        logger.warning(
            "GET %s failed [%s] %s (%d ms, %d attempt(s))",
            result.url,
            result.outcome,
            result.error,
            result.elapsed_ms,
            result.attempts,
        )
