"""pipeline.http.fetcher: `Fetcher.get` against a real local server (pytest-httpserver,
threaded werkzeug): success and its metadata, conditional GETs, redirects, HTTP errors and
retries, logging. Nothing here mocks httpx or the network; the other jobs of the fetch layer
have their own test modules (test_http_body, _headers, _netguard, _robots, _transport...)."""

from __future__ import annotations

import logging
import time

import pytest
from fetching import USER_AGENT, get
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.http import Fetcher, FetchOutcome

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


# --- logging and misuse ----------------------------------------------------------------------


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
