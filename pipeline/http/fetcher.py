"""`Fetcher`: one guarded, polite, bounded GET that never raises for what the web does.

Every fetch in the pipeline (feeds, articles, robots.txt) goes through `Fetcher.get`, which

- refuses URLs and addresses that are not public (`netguard`), checking each redirect hop and
  connecting to the very IP that was checked (`transport`), so DNS rebinding cannot slip past;
- bounds the work a hostile server can cause: connect/read timeouts, a wall-clock deadline per
  request (a slow drip cannot hold a worker), a cap on decoded bytes (`body`: a gzip bomb costs
  at most the cap), a cap on redirects;
- retries what is worth retrying (network errors, connect timeouts, 408/429/5xx) with
  exponential backoff and Retry-After, and nothing else;
- is polite (`politeness`, `robots`): a per-host concurrency cap, robots.txt and its
  Crawl-delay when asked;
- reports everything as a `FetchResult` whose `outcome` and `error` say what happened.

One `Fetcher` is shared by the worker threads of a run; it is thread-safe.
"""

from __future__ import annotations

import functools
import http.cookiejar
import logging
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

import httpx
import tenacity

from ..config import FetchSettings
from .body import ACCEPT_ENCODING
from .netguard import PrivateHosts, Resolver, UnsafeURLError, check_url, system_resolver
from .politeness import HostGate
from .response import Reply, read_response
from .result import FetchOutcome, FetchResult
from .robots import MAX_CRAWL_DELAY, ROBOTS_MAX_BYTES, RobotsCache
from .transport import DEADLINE, Deadline, GuardedBackend, guarded_transport

if TYPE_CHECKING:
    from ..config import Config

logger = logging.getLogger(__name__)

# What we ask feed servers for (the pipeline's feed polls and `feeds add`/`feeds check`).
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
ARTICLE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass
class _Trace:
    """What one `get` accumulates across hops and retries."""

    attempts: int = 0
    redirects: list[str] = field(default_factory=list)


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
        backend = GuardedBackend(
            resolver or system_resolver,
            allow_private=allow_private_networks,
            private_hosts=self._private_hosts,
        )
        self._client = httpx.Client(
            transport=guarded_transport(backend),
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
        self._gates: dict[str, HostGate] = {}
        self._robots = RobotsCache(self._fetch_robots, settings.user_agent, self._slow_down)

    @classmethod
    def from_config(cls, config: Config) -> Fetcher:
        """The fetcher a run uses: the config's fetch settings and network allowances."""
        return cls(
            config.fetch,
            allow_private_networks=config.allow_private_networks,
            private_hosts=config.allow_private_hosts,
        )

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
            reply = Reply(FetchOutcome.NETWORK_ERROR, error=f"unexpected error: {exc!r}")
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
    ) -> Reply:
        current = url
        chain = [_normalized(url)]  # targets come normalised from httpx; compare like with like
        while True:
            try:
                allow = self._allow_private or self._private_hosts.allows_url(current)
                check_url(current, allow_private=allow)
            except UnsafeURLError as exc:
                via = f" (redirected from {chain[-2]})" if len(chain) > 1 else ""
                return Reply(FetchOutcome.REFUSED, error=f"{exc}{via}")
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
    ) -> Reply:
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
        reply: Reply = retrying(self._request_once, url, headers, max_bytes, truncate, trace)
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
    ) -> Reply:
        try:
            request = self._client.build_request("GET", url, headers=headers)
        except (httpx.InvalidURL, ValueError) as exc:  # idna raises UnicodeError, a ValueError
            return Reply(FetchOutcome.REFUSED, error=f"refused: {url!r} is not a valid URL ({exc})")
        with self._gate(url).slot():
            deadline = Deadline(self._settings.total_timeout)
            token = DEADLINE.set(deadline)
            trace.attempts += 1
            try:
                response = self._client.send(request, stream=True)
                try:
                    return read_response(response, max_bytes, truncate, deadline)
                finally:
                    response.close()
            except UnsafeURLError as exc:
                trace.attempts -= 1  # refused before connecting: no request was made
                return Reply(FetchOutcome.REFUSED, error=str(exc))
            except httpx.TimeoutException as exc:
                return self._timeout_reply(exc, deadline)
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                return Reply(FetchOutcome.NETWORK_ERROR, error=_describe(exc), retry=True)
            except httpx.HTTPError as exc:
                return Reply(FetchOutcome.NETWORK_ERROR, error=_describe(exc))
            finally:
                DEADLINE.reset(token)

    def _timeout_reply(self, exc: httpx.TimeoutException, deadline: Deadline) -> Reply:
        settings = self._settings
        if deadline.tripped:
            error = f"total deadline of {settings.total_timeout:g} s exceeded"
            return Reply(FetchOutcome.TIMEOUT, error=error)
        if isinstance(exc, httpx.ConnectTimeout):
            error = f"connect timeout after {settings.connect_timeout:g} s: {exc}"
            return Reply(FetchOutcome.TIMEOUT, error=error, retry=True)
        if isinstance(exc, httpx.ReadTimeout):
            error = f"read timeout: no data for {settings.read_timeout:g} s"
            return Reply(FetchOutcome.TIMEOUT, error=error)
        return Reply(FetchOutcome.TIMEOUT, error=_describe(exc))

    # -- politeness ----------------------------------------------------------------------------

    def _gate(self, url: str) -> HostGate:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = HostGate(self._settings.per_host_concurrency)
            return gate

    def _robots_denial(self, url: str) -> Reply | None:
        robots = self._robots.rules_for(url)
        if robots.refused is not None:
            # The guard refused robots.txt because of the origin's address (a name resolving
            # to a private address): the article is refused for the same reason, and must be
            # recorded as such, not as a robots.txt problem.
            return Reply(FetchOutcome.REFUSED, error=robots.refused)
        if robots.unreachable is not None:
            error = f"robots.txt unavailable: {robots.url}: {robots.unreachable}"
            return Reply(FetchOutcome.ROBOTS_UNAVAILABLE, error=error)
        denial = robots.denial(url, self._settings.user_agent)
        return None if denial is None else Reply(FetchOutcome.ROBOTS_DISALLOWED, error=denial)

    def _fetch_robots(self, robots_url: str) -> FetchResult:
        """GET a robots.txt: guarded like any fetch, truncated (not refused) past the cap."""
        started = time.monotonic()
        trace = _Trace()
        headers = {"Accept": "text/plain, */*;q=0.5"}
        reply = self._follow(
            robots_url, headers, ROBOTS_MAX_BYTES, robots=False, truncate=True, trace=trace
        )
        return _result(robots_url, reply, trace, started)

    def _slow_down(self, robots_url: str, crawl_delay: float) -> None:
        self._gate(robots_url).set_interval(min(crawl_delay, MAX_CRAWL_DELAY))


def _normalized(url: str) -> str:
    try:
        return str(httpx.URL(url))
    except (httpx.InvalidURL, ValueError):
        return url


def _last_reply(state: tenacity.RetryCallState) -> Reply:
    assert state.outcome is not None
    reply: Reply = state.outcome.result()
    return reply


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _result(url: str, reply: Reply, trace: _Trace, started: float) -> FetchResult:
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
