"""The fetch layer against real local servers: pytest-httpserver (threaded werkzeug) for
well-formed HTTP, raw sockets (tests/hostile_http.py) for resets, hangs and drips.

Nothing here mocks httpx or the network. Where a test needs a "public" host, a resolver maps
news.example to 127.0.0.1 and, for the redirect-hop test only, the guard is told that this one
name is public (`news_example_is_public`).
"""

from __future__ import annotations

import functools
import gzip
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
import pytest
from hostile_http import (
    RawServer,
    closed_port,
    drip_body,
    drip_head,
    never_answer,
    read_request,
    record_sni,
    reset_after_request,
    unaccepting_port,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import FetchSettings
from pipeline.http import Fetcher, FetchOutcome, FetchResult, netguard
from pipeline.http.headers import parse_retry_after
from pipeline.http.netguard import UnsafeURLError, check_address, check_url
from pipeline.http.robots import ROBOTS_MAX_BYTES
from pipeline.http.transport import _replace_pool

CAP = 200_000
USER_AGENT = "news-ingest-test/1.0 (+https://example.invalid/bot)"


def make_settings(**overrides: Any) -> FetchSettings:
    base: dict[str, Any] = {
        "user_agent": USER_AGENT,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 1.5,
        "max_feed_bytes": CAP,
        "max_article_bytes": CAP,
        "max_redirects": 3,
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "max_retry_after": 2.0,
        "per_host_concurrency": 2,
    }
    return FetchSettings(**(base | overrides))


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[HTTPServer]:
    """A threaded server, so slow handlers and concurrent requests do not queue.

    Shared by the module because stopping one takes half a second (werkzeug's poll interval).
    """
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.stop()


@pytest.fixture
def server(threaded_server: HTTPServer) -> Iterator[HTTPServer]:
    """The shared server with no handlers and an empty log."""
    threaded_server.clear()
    yield threaded_server
    threaded_server.clear()


def local_fetcher(**overrides: Any) -> Fetcher:
    """A fetcher allowed to reach the local test servers."""
    return Fetcher(make_settings(**overrides), allow_private_networks=True)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with local_fetcher() as instance:
        yield instance


def get(fetcher: Fetcher, url: str, **kwargs: Any) -> FetchResult:
    return fetcher.get(url, max_bytes=kwargs.pop("max_bytes", CAP), **kwargs)


def resolver_for(
    mapping: dict[str, list[str]], calls: list[tuple[str, int]] | None = None
) -> netguard.Resolver:
    """A resolver that knows only `mapping` (so nothing can quietly reach real DNS)."""

    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        if host not in mapping:
            raise OSError(f"test resolver does not know {host}")
        return mapping[host]

    return resolve


@pytest.fixture
def news_example_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat addresses resolved from news.example as public, everything else as usual.

    The only way to have a "public" first hop that really connects (to a local server) and
    then see the guard refuse the redirect target.
    """
    real_check = netguard.check_address

    def check(ip: str, *, allow_private: bool, source: str | None = None) -> None:
        real_check(ip, allow_private=allow_private or source == "news.example", source=source)

    monkeypatch.setattr(netguard, "check_address", check)


# --- success, metadata, conditional GET ------------------------------------------------------


def test_ok_returns_body_headers_and_sends_user_agent(server: HTTPServer, fetcher: Fetcher) -> None:
    seen: dict[str, str] = {}

    def handler(request: Request) -> Response:
        seen.update(request.headers)
        return Response(
            "<html>Grüße</html>".encode("latin-1"),
            headers={
                "Content-Type": "text/html; charset=ISO-8859-1",
                "ETag": '"v1"',
                "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
        )

    server.expect_request("/page").respond_with_handler(handler)
    result = get(fetcher, server.url_for("/page"), accept="text/html")

    assert result.ok
    assert result.outcome is FetchOutcome.OK
    assert result.status == 200
    assert result.content == "<html>Grüße</html>".encode("latin-1")
    assert result.content_type == "text/html"
    assert result.charset == "iso-8859-1"
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert result.bytes_read == len(result.content)
    assert result.attempts == 1
    assert result.error is None
    assert result.final_url == result.url == server.url_for("/page")
    assert result.redirects == ()
    assert result.elapsed_ms >= 0
    assert seen["User-Agent"] == USER_AGENT
    assert seen["Accept"] == "text/html"
    assert seen["Accept-Encoding"] == "gzip, deflate"


def test_conditional_get_with_etag_is_not_modified(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/feed", headers={"If-None-Match": '"abc"'}).respond_with_data(
        "", status=304, headers={"ETag": '"abc"'}
    )
    result = get(fetcher, server.url_for("/feed"), etag='"abc"')
    assert result.outcome is FetchOutcome.NOT_MODIFIED
    assert result.status == 304
    assert result.content == b""
    assert result.etag == '"abc"'
    assert result.error is None
    assert not result.ok
    assert not result.retryable


def test_conditional_get_with_last_modified_keeps_validator(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    # A 304 without validators: the ones we sent stay current.
    server.expect_request("/feed", headers={"If-Modified-Since": stamp}).respond_with_data(
        "", status=304
    )
    result = get(fetcher, server.url_for("/feed"), last_modified=stamp)
    assert result.outcome is FetchOutcome.NOT_MODIFIED
    assert result.last_modified == stamp
    assert result.content == b""


def test_wrong_content_type_still_returns_content(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/feed.xml").respond_with_data(b"\x89PNG\r\n", content_type="image/png")
    result = get(fetcher, server.url_for("/feed.xml"), accept="application/rss+xml")
    assert result.ok
    assert result.content_type == "image/png"
    assert result.charset is None
    assert result.content == b"\x89PNG\r\n"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
)
def test_compressed_body_is_decoded(
    server: HTTPServer, fetcher: Fetcher, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = b"<p>news</p>" * 5000
    server.expect_request("/c").respond_with_data(
        compress(body), headers={"Content-Encoding": encoding}, content_type="text/html"
    )
    result = get(fetcher, server.url_for("/c"))
    assert result.ok, result.error
    assert result.content == body
    assert result.bytes_read == len(body)


def test_unsupported_content_encoding_is_an_error_not_an_exception(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    server.expect_request("/br").respond_with_data(
        b"\x0b\x02\x80", headers={"Content-Encoding": "br"}
    )
    result = get(fetcher, server.url_for("/br"))
    assert result.outcome is FetchOutcome.HTTP_ERROR
    assert result.error == "unsupported Content-Encoding 'br'"
    assert not result.retryable


# --- redirects -------------------------------------------------------------------------------


def test_redirect_chain_is_followed(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/a").respond_with_data("", status=301, headers={"Location": "/b"})
    server.expect_request("/b").respond_with_data(
        "", status=302, headers={"Location": server.url_for("/dir/c")}
    )
    server.expect_request("/dir/c").respond_with_data(
        "",
        status=307,
        headers={"Location": "d?x=1"},  # relative to /dir/
    )
    server.expect_request("/dir/d").respond_with_data("done")

    result = get(fetcher, server.url_for("/a"))

    assert result.ok, result.error
    assert result.content == b"done"
    assert result.url == server.url_for("/a")
    assert result.final_url == server.url_for("/dir/d?x=1")
    assert result.redirects == (
        server.url_for("/b"),
        server.url_for("/dir/c"),
        server.url_for("/dir/d?x=1"),
    )
    assert result.attempts == 4


def test_redirect_loop_is_reported(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    server.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    result = get(fetcher, server.url_for("/a"))
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    a, b = server.url_for("/a"), server.url_for("/b")
    assert result.error == f"redirect loop: {a} → {b} → {a}"
    assert result.status == 302
    assert not result.retryable


def test_redirect_back_to_the_same_url_spelled_differently_is_a_loop(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    server.expect_request("/").respond_with_data(
        "", status=301, headers={"Location": server.url_for("/")}
    )
    start = f"http://127.0.0.1:{server.port}"  # no path: httpx spells it with "/"
    result = get(fetcher, start)
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    assert result.error is not None
    assert result.error.startswith("redirect loop: ")


def test_too_many_redirects(server: HTTPServer, fetcher: Fetcher) -> None:
    for hop in range(10):
        server.expect_request(f"/r{hop}").respond_with_data(
            "", status=301, headers={"Location": f"/r{hop + 1}"}
        )
    result = get(fetcher, server.url_for("/r0"))
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    assert result.error is not None
    assert result.error.startswith("too many redirects (limit 3): ")
    assert len(result.redirects) == 3
    assert result.attempts == 4
    assert len(server.log) == 4


def test_redirect_without_location_is_an_error(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/a").respond_with_data("", status=302)
    result = get(fetcher, server.url_for("/a"))
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    assert result.error == "HTTP 302 Found without a Location header"


@pytest.mark.parametrize("location", ["ftp://files.example/feed.xml", "file:///etc/passwd"])
def test_redirect_to_non_http_url_is_refused(
    server: HTTPServer, fetcher: Fetcher, location: str
) -> None:
    server.expect_request("/a").respond_with_data("", status=302, headers={"Location": location})
    result = get(fetcher, server.url_for("/a"))
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert "is not an http:// or https:// URL" in result.error
    assert f"(redirected from {server.url_for('/a')})" in result.error
    assert result.final_url.startswith(location.split(":")[0] + ":")


@pytest.mark.usefixtures("news_example_is_public")
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433:{port}/secret",
        "http://intranet.example:{port}/secret",
    ],
)
def test_public_url_redirecting_to_internal_address_is_refused(
    server: HTTPServer, target: str
) -> None:
    port = server.port
    location = target.format(port=port)
    server.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": location}
    )
    server.expect_request("/secret").respond_with_data("internal")
    resolver = resolver_for({"news.example": ["127.0.0.1"], "intranet.example": ["10.1.2.3"]})

    with Fetcher(make_settings(), resolver=resolver) as guarded:
        result = guarded.get(f"http://news.example:{port}/start", max_bytes=CAP)

    assert result.outcome is FetchOutcome.REFUSED, result.error
    assert result.error is not None
    assert result.error.startswith("refused: ")
    assert "allow_private_hosts" in result.error
    assert result.status is None
    assert result.final_url.startswith(location.split(":")[0] + ":")
    assert result.attempts == 1  # the first hop; the refused hop made no request
    assert [request.path for request, _ in server.log] == ["/start"]


# --- HTTP errors and retries -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "text"),
    [(404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone"), (403, "HTTP 403 Forbidden")],
)
def test_client_errors_are_not_retried(
    server: HTTPServer, fetcher: Fetcher, status: int, text: str
) -> None:
    server.expect_request("/x").respond_with_data("nope", status=status)
    result = get(fetcher, server.url_for("/x"))
    assert result.outcome is FetchOutcome.HTTP_ERROR
    assert result.status == status
    assert result.error == text
    assert result.content == b""
    assert result.attempts == 1
    assert not result.retryable


def test_unknown_status_keeps_the_server_reason_phrase() -> None:
    head = b"HTTP/1.1 599 Custom Trouble\r\nContent-Length: 0\r\n\r\n"
    with RawServer(_respond(head)) as raw, local_fetcher() as fetcher:
        result = get(fetcher, raw.url("/x"))
    assert result.error == "HTTP 599 Custom Trouble"
    assert result.attempts == 1  # only 500/502/503/504 are retried at once
    assert result.retryable  # but any 5xx may work in a later run


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_transient_statuses_are_retried_then_reported(
    server: HTTPServer, fetcher: Fetcher, status: int
) -> None:
    server.expect_request("/x").respond_with_data("busy", status=status)
    result = get(fetcher, server.url_for("/x"))
    assert result.outcome is FetchOutcome.HTTP_ERROR
    assert result.status == status
    assert result.attempts == 3  # max_retries=2
    assert len(server.log) == 3
    assert result.error is not None
    assert result.error.endswith("(gave up after 3 attempts)")
    assert result.retryable


def test_503_then_success(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_oneshot_request("/x").respond_with_data("busy", status=503)
    server.expect_request("/x").respond_with_data("fine")
    result = get(fetcher, server.url_for("/x"))
    assert result.ok
    assert result.content == b"fine"
    assert result.attempts == 2


def test_429_with_retry_after_is_honoured(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_oneshot_request("/x").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    server.expect_request("/x").respond_with_data("fine")
    started = time.monotonic()
    result = get(fetcher, server.url_for("/x"))
    waited = time.monotonic() - started
    assert result.ok
    assert result.attempts == 2
    assert waited >= 0.95  # Retry-After, not the 0.01 s backoff


def test_too_long_retry_after_gives_up_at_once(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/x").respond_with_data(
        "later", status=429, headers={"Retry-After": "3600"}
    )
    started = time.monotonic()
    result = get(fetcher, server.url_for("/x"))
    assert time.monotonic() - started < 1
    assert result.outcome is FetchOutcome.HTTP_ERROR
    assert result.status == 429
    assert result.attempts == 1
    assert result.error == (
        "HTTP 429 Too Many Requests; Retry-After 3600 s exceeds max_retry_after 2 s, not retried"
    )
    assert result.retryable


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after(" 0 ", now=now) == 0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0  # in the past
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after("²", now=now) is None  # str.isdigit() says yes, int() no
    assert parse_retry_after("١٢", now=now) is None  # digits, but not ASCII ones
    assert parse_retry_after(None, now=now) is None


# --- network failures and timeouts -----------------------------------------------------------


def test_connection_reset_is_a_retried_network_error() -> None:
    with RawServer(reset_after_request) as raw:
        with Fetcher(make_settings(), allow_private_networks=True) as fetcher:
            result = get(fetcher, raw.url("/x"))
        connections = raw.connections
    assert result.outcome is FetchOutcome.NETWORK_ERROR
    assert result.status is None
    assert result.attempts == 3
    assert connections == 3
    assert result.error is not None
    assert "reset" in result.error.lower() or "disconnected" in result.error.lower()
    assert result.retryable


def test_connection_refused_is_a_network_error(fetcher: Fetcher) -> None:
    result = get(fetcher, f"http://127.0.0.1:{closed_port()}/x")
    assert result.outcome is FetchOutcome.NETWORK_ERROR
    assert result.error is not None
    assert result.error.startswith("ConnectError: ")
    assert "refused" in result.error.lower()
    assert result.attempts == 3
    assert result.retryable


def test_unresolvable_name_is_a_network_error() -> None:
    with Fetcher(make_settings(max_retries=0), resolver=resolver_for({})) as fetcher:
        result = get(fetcher, "http://nowhere.example/")
    assert result.outcome is FetchOutcome.NETWORK_ERROR
    assert result.error == (
        "ConnectError: cannot resolve nowhere.example: test resolver does not know nowhere.example"
    )


def test_server_that_never_answers_times_out() -> None:
    with RawServer(never_answer) as raw, local_fetcher() as fetcher:
        started = time.monotonic()
        result = get(fetcher, raw.url("/x"))
        elapsed = time.monotonic() - started
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error == "read timeout: no data for 1 s"
    assert result.attempts == 1  # a hanging server gets no second chance within this fetch
    assert 0.9 < elapsed < 3
    assert result.retryable


@pytest.mark.parametrize("handler", [drip_body(0.2), drip_head(0.2)], ids=["body", "head"])
def test_slow_drip_ends_at_the_total_deadline(handler: Callable[..., None]) -> None:
    # A byte every 0.2 s never trips the 1 s read timeout; only the 1.5 s deadline stops it.
    with RawServer(handler) as raw:
        with Fetcher(make_settings(), allow_private_networks=True) as fetcher:
            started = time.monotonic()
            result = get(fetcher, raw.url("/x"))
            elapsed = time.monotonic() - started
        connections = raw.connections
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error == "total deadline of 1.5 s exceeded"
    assert result.content == b""
    assert result.attempts == 1  # not retried
    assert connections == 1
    assert 1.4 < elapsed < 5


def test_connect_timeout_is_retried() -> None:
    settings = make_settings(connect_timeout=0.3, max_retries=1)
    with unaccepting_port() as port, Fetcher(settings, allow_private_networks=True) as fetcher:
        started = time.monotonic()
        result = get(fetcher, f"http://127.0.0.1:{port}/x")
        elapsed = time.monotonic() - started
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error is not None
    assert result.error.startswith("connect timeout after 0.3 s")
    assert result.attempts == 2
    assert 0.5 < elapsed < 3


# --- byte caps -------------------------------------------------------------------------------


def test_content_length_over_the_cap_is_refused_before_reading(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    server.expect_request("/big").respond_with_data(b"x" * (CAP + 1))
    result = get(fetcher, server.url_for("/big"))
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert result.error == f"Content-Length {CAP + 1} exceeds the limit of {CAP} bytes"
    assert result.bytes_read == 0
    assert result.content == b""
    assert not result.retryable


def test_chunked_body_over_the_cap_stops_streaming(server: HTTPServer, fetcher: Fetcher) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        while True:  # the server would stream forever; the client must hang up
            sent += 10_000
            yield b"y" * 10_000

    server.expect_request("/stream").respond_with_handler(
        lambda _request: Response(endless(), content_type="text/html")
    )
    result = get(fetcher, server.url_for("/stream"))
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert result.error == f"body exceeds the limit of {CAP} bytes (decoded)"
    assert CAP < result.bytes_read <= CAP + 64 * 1024
    assert result.content == b""


@functools.cache
def _zeros_gzipped(megabytes: int, layers: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    data = b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, compresslevel=9)
    return data


@pytest.mark.parametrize(
    ("megabytes", "layers", "encoding"), [(20, 1, "gzip"), (100, 2, "gzip, gzip")]
)
def test_gzip_bomb_stops_at_the_cap(
    server: HTTPServer, fetcher: Fetcher, megabytes: int, layers: int, encoding: str
) -> None:
    bomb = _zeros_gzipped(megabytes, layers)
    assert len(bomb) < CAP  # small on the wire: only decoded bytes reveal it
    server.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": encoding}, content_type="text/html"
    )
    result = get(fetcher, server.url_for("/bomb"))
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert CAP < result.bytes_read <= CAP + 64 * 1024  # decoding stopped right at the cap


def test_robots_txt_over_the_cap_is_parsed_up_to_it(server: HTTPServer, fetcher: Fetcher) -> None:
    padding = "# " + "x" * 1000 + "\n"
    robots = "User-agent: *\nDisallow: /private\n" + padding * (ROBOTS_MAX_BYTES // 1000 + 50)
    server.expect_request("/robots.txt").respond_with_data(robots, content_type="text/plain")
    server.expect_request("/public").respond_with_data("hello")
    assert get(fetcher, server.url_for("/public"), check_robots=True).ok
    denied = get(fetcher, server.url_for("/private"), check_robots=True)
    assert denied.outcome is FetchOutcome.ROBOTS_DISALLOWED


# --- SSRF guard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "is the link-local cloud metadata address"),
        ("http://[::1]:{port}/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/", "an IPv6 form of 127.0.0.1, a loopback address"),
        ("http://2130706433:{port}/", "127.0.0.1 (resolved from 2130706433) is a loopback"),
        ("http://0x7f.1:{port}/", "127.0.0.1 (resolved from 0x7f.1) is a loopback"),
        ("https://100.64.0.1/", "is a carrier-grade NAT (shared) address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is the unspecified address"),
    ],
)
def test_internal_addresses_are_refused_without_connecting(
    server: HTTPServer, url: str, reason: str
) -> None:
    server.expect_request("/").respond_with_data("internal")
    with Fetcher(make_settings()) as guarded:
        result = guarded.get(url.format(port=server.port), max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert reason in result.error
    assert result.error.endswith("under allow_private_hosts in the config")
    assert "allow_private_networks" not in result.error
    assert result.attempts == 0
    assert not result.retryable
    assert server.log == []


def test_name_resolving_to_loopback_is_refused(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("internal")
    calls: list[tuple[str, int]] = []
    resolver = resolver_for({"news.example": ["127.0.0.1"]}, calls)
    with Fetcher(make_settings(), resolver=resolver) as guarded:
        result = guarded.get(f"http://news.example:{server.port}/", max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error == (
        "refused: 127.0.0.1 (resolved from news.example) is a loopback address; "
        "to allow it, list news.example (or news.example:PORT) under allow_private_hosts "
        "in the config"
    )
    assert result.attempts == 0
    assert calls == [("news.example", server.port)]
    assert server.log == []


def test_name_with_one_internal_address_among_public_ones_is_refused() -> None:
    resolver = resolver_for({"mixed.example": ["93.184.215.14", "10.0.0.7"]})
    with Fetcher(make_settings(), resolver=resolver) as guarded:
        result = guarded.get("http://mixed.example/", max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert "10.0.0.7 (resolved from mixed.example) is a private address" in result.error


def test_localhost_is_refused_with_the_system_resolver() -> None:
    with Fetcher(make_settings()) as guarded:
        result = guarded.get("http://localhost:9/", max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert "(resolved from localhost) is a loopback address" in result.error


def test_allowed_name_connects_to_the_vetted_address_with_the_original_host(
    server: HTTPServer,
) -> None:
    hosts: list[str] = []

    def handler(request: Request) -> Response:
        hosts.append(request.headers["Host"])
        return Response("hello")

    server.expect_request("/").respond_with_handler(handler)
    calls: list[tuple[str, int]] = []
    resolver = resolver_for({"news.example": ["127.0.0.1"]}, calls)
    with Fetcher(make_settings(), allow_private_networks=True, resolver=resolver) as fetcher:
        result = fetcher.get(f"http://news.example:{server.port}/", max_bytes=CAP)
    # news.example exists only in our resolver, so reaching the server proves the connection
    # went to the address it returned, not to a second (system) lookup.
    assert result.ok, result.error
    assert result.content == b"hello"
    assert hosts == [f"news.example:{server.port}"]
    assert calls == [("news.example", server.port)]


def test_tls_sni_carries_the_original_name() -> None:
    names: list[str] = []
    resolver = resolver_for({"news.example": ["127.0.0.1"]})
    with RawServer(record_sni(names)) as raw:
        settings = make_settings(max_retries=0)
        with Fetcher(settings, allow_private_networks=True, resolver=resolver) as fetcher:
            result = get(fetcher, raw.url("/", host="news.example", scheme="https"))
    assert result.outcome is FetchOutcome.NETWORK_ERROR  # the test server has no certificate
    assert names == ["news.example"]


def test_httpx_transport_keeps_its_pool_in_private_attribute() -> None:
    """pipeline.http.transport swaps HTTPTransport._pool to plug in its network backend; if an httpx
    upgrade moves it, this fails here rather than the guard silently falling away."""
    transport = httpx.HTTPTransport()
    assert isinstance(transport._pool, httpcore.ConnectionPool)
    transport.close()

    class NoPool:
        pass

    with pytest.raises(RuntimeError, match="_replace_pool must be adapted"):
        _replace_pool(NoPool(), httpcore.ConnectionPool())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "the link-local cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT (shared) address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("255.255.255.255", "a private address"),
        ("192.0.0.8", "a special-purpose address"),
        ("::1", "a loopback address"),
        ("::", "the unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("fec0::1", "a site-local address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:10.0.0.1", "an IPv6 form of 10.0.0.1, a private address"),
        ("::7f00:1", "an IPv6 form of 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "an IPv6 form of 169.254.169.254"),
        ("2002:c0a8:101::1", "an IPv6 form of 192.168.1.1, a private address"),
    ],
)
def test_check_address_refuses_internal_addresses(ip: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        check_address(ip, allow_private=False)
    assert str(caught.value).startswith(f"refused: {ip} is {reason}")
    check_address(ip, allow_private=True)  # tests and local development may


@pytest.mark.parametrize(
    "ip", ["93.184.215.14", "8.8.8.8", "2606:4700::6810:84e5", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_check_address_accepts_public_addresses(ip: str) -> None:
    check_address(ip, allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "is not an http:// or https:// URL"),
        ("javascript:alert(1)", "is not an http:// or https:// URL"),
        ("http:///path", "has no host"),
        ("https://user:pw@example.com/", "carries a user name or password"),
        ("https://example.com:99999/", "is not a valid URL"),
        ("http://127.1/", "127.0.0.1 (resolved from 127.1) is a loopback address"),
        ("http://017700000001/", "127.0.0.1 (resolved from 017700000001) is a loopback"),
    ],
)
def test_check_url_refuses(url: str, message: str) -> None:
    with pytest.raises(UnsafeURLError, match=r"^refused: ") as caught:
        check_url(url, allow_private=False)
    assert message in str(caught.value)


def test_check_url_accepts_public_urls() -> None:
    check_url("https://www.tagesschau.de/xml/rss2/", allow_private=False)
    check_url("http://93.184.215.14:8080/feed", allow_private=False)
    check_url("http://127.0.0.1:8080/", allow_private=True)


# --- robots.txt ------------------------------------------------------------------------------


def _robots_requests(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path == "/robots.txt")


def test_robots_disallow_and_allow(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private\n", content_type="text/plain"
    )
    server.expect_request("/private/page").respond_with_data("secret")
    server.expect_request("/public/page").respond_with_data("hello")

    denied = get(fetcher, server.url_for("/private/page"), check_robots=True)
    allowed = get(fetcher, server.url_for("/public/page"), check_robots=True)
    unchecked = get(fetcher, server.url_for("/private/page"))  # check_robots=False: no check

    assert denied.outcome is FetchOutcome.ROBOTS_DISALLOWED
    assert denied.error == f"disallowed for news-ingest-test by {server.url_for('/robots.txt')}"
    assert denied.attempts == 0
    assert not denied.retryable
    assert allowed.ok
    assert unchecked.ok
    assert _robots_requests(server) == 1  # cached per origin


def test_robots_rules_for_our_user_agent(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: news-ingest-test\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.outcome is FetchOutcome.ROBOTS_DISALLOWED


@pytest.mark.parametrize("status", [404, 403, 410])
def test_robots_4xx_allows_everything(server: HTTPServer, fetcher: Fetcher, status: int) -> None:
    server.expect_request("/robots.txt").respond_with_data("", status=status)
    server.expect_request("/page").respond_with_data("hello")
    result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.ok, result.error


@pytest.mark.parametrize("status", [500, 503, 429])
def test_robots_5xx_is_a_retryable_failure_cached_for_the_run(
    server: HTTPServer, fetcher: Fetcher, status: int
) -> None:
    server.expect_request("/robots.txt").respond_with_data("", status=status)
    server.expect_request("/page").respond_with_data("hello")
    result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.outcome is FetchOutcome.ROBOTS_UNAVAILABLE
    assert result.retryable  # RFC 9309: disallowed for now, not for good
    assert result.error is not None
    assert result.error.startswith(f"robots.txt unavailable: {server.url_for('/robots.txt')}: ")
    assert [request.path for request, _ in server.log] == ["/robots.txt"] * 3  # retried, no page
    # The outcome is cached with the rules: the next article of the origin asks no one.
    again = get(fetcher, server.url_for("/other"), check_robots=True)
    assert again.outcome is FetchOutcome.ROBOTS_UNAVAILABLE
    assert _robots_requests(server) == 3


def test_robots_unreachable_host_is_a_retryable_failure() -> None:
    port = closed_port()
    with Fetcher(make_settings(max_retries=0), allow_private_networks=True) as fetcher:
        result = get(fetcher, f"http://127.0.0.1:{port}/page", check_robots=True)
    assert result.outcome is FetchOutcome.ROBOTS_UNAVAILABLE
    assert result.retryable
    assert result.error is not None
    assert result.error.startswith("robots.txt unavailable: ")
    assert "ConnectError" in result.error


@pytest.mark.parametrize(
    "line", ["Crawl-delay: ²", "Crawl-delay: ５", "Request-rate: 1/³", "Crawl-delay: 10²"]
)
def test_robots_numbers_that_are_not_ascii_digits_are_ignored(
    server: HTTPServer, fetcher: Fetcher, line: str
) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\n{line}\nDisallow: /private/\n"
    )
    server.expect_request("/page").respond_with_data("hello")
    assert get(fetcher, server.url_for("/page"), check_robots=True).ok
    denied = get(fetcher, server.url_for("/private/x"), check_robots=True)
    assert denied.outcome is FetchOutcome.ROBOTS_DISALLOWED  # the other rules still hold
    assert _robots_requests(server) == 1


def test_retry_after_that_is_not_ascii_digits_is_ignored(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    server.expect_request("/feed").respond_with_data(
        "busy", status=503, headers={"Retry-After": "²"}
    )
    result = get(fetcher, server.url_for("/feed"))
    assert result.outcome is FetchOutcome.HTTP_ERROR
    assert result.status == 503
    assert result.error == "HTTP 503 Service Unavailable (gave up after 3 attempts)"


def test_robots_ignored_when_settings_say_so(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    server.expect_request("/page").respond_with_data("hello")
    settings = make_settings(respect_robots=False)
    with Fetcher(settings, allow_private_networks=True) as fetcher:
        result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.ok
    assert _robots_requests(server) == 0


def test_robots_fetched_once_by_concurrent_threads(server: HTTPServer, fetcher: Fetcher) -> None:
    def slow_robots(_request: Request) -> Response:
        time.sleep(0.2)  # every thread arrives while the first is still fetching
        return Response("User-agent: *\nDisallow: /no\n")

    server.expect_request("/robots.txt").respond_with_handler(slow_robots)
    server.expect_request("/yes").respond_with_data("ok")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: get(fetcher, server.url_for("/yes"), check_robots=True), range(6))
        )
    assert all(result.ok for result in results)
    assert _robots_requests(server) == 1


def test_robots_crawl_delay_spaces_requests(server: HTTPServer, fetcher: Fetcher) -> None:
    starts: list[float] = []

    def page(_request: Request) -> Response:
        starts.append(time.monotonic())
        return Response("hello")

    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nCrawl-delay: 1\n")
    server.expect_request("/page").respond_with_handler(page)
    first = get(fetcher, server.url_for("/page"), check_robots=True)
    second = get(fetcher, server.url_for("/page"), check_robots=True)
    assert first.ok
    assert second.ok
    assert starts[1] - starts[0] >= 0.9


# --- politeness and logging ------------------------------------------------------------------


def test_per_host_concurrency_is_capped(server: HTTPServer) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def slow(_request: Request) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.25)
        with lock:
            active -= 1
        return Response("ok")

    server.expect_request("/slow").respond_with_handler(slow)
    with local_fetcher(per_host_concurrency=2) as fetcher, ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: get(fetcher, server.url_for("/slow")), range(6)))
    assert all(result.ok for result in results)
    assert peak == 2


def test_fetches_are_logged_with_their_url(
    server: HTTPServer, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    server.expect_request("/ok").respond_with_data("fine")
    server.expect_request("/missing").respond_with_data("", status=404)
    with caplog.at_level(logging.INFO, logger="pipeline.http.fetcher"):
        get(fetcher, server.url_for("/ok"))
        get(fetcher, server.url_for("/missing"))
    by_level = {
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == "pipeline.http.fetcher"
    }
    assert any(
        level == logging.INFO and server.url_for("/ok") in message for level, message in by_level
    )
    assert any(
        level == logging.WARNING and server.url_for("/missing") in message and "404" in message
        for level, message in by_level
    )


@pytest.mark.parametrize("url", ["http://a\x00b.example/", "http://xn--zz.example/"])
def test_url_httpx_cannot_parse_is_refused(fetcher: Fetcher, url: str) -> None:
    result = get(fetcher, url)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert "is not a valid URL" in result.error
    assert result.attempts == 0


def test_max_bytes_must_be_positive(fetcher: Fetcher) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        fetcher.get("http://example.com/", max_bytes=0)


def _respond(raw_response: bytes) -> Callable[..., None]:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(raw_response)

    return handler


def test_numbers_in_headers_are_ascii_digits() -> None:
    from pipeline.http.headers import ascii_number

    assert ascii_number(" 1234 ") == 1234
    for value in ("²", "١٢", "５", "12a", "", "-1", "1e3", None):
        assert ascii_number(value) is None
