"""pipeline.http.response: one HTTP response classified (redirect, 304, error worth a retry,
body under the cap) before the fetcher decides what to do next."""

from __future__ import annotations

import httpx
import pytest
from fetching import CAP, get
from pytest_httpserver import HTTPServer

from pipeline.http import Fetcher, FetchOutcome
from pipeline.http.response import REDIRECT_STATUSES, Reply, read_response
from pipeline.http.transport import Deadline


def test_wrong_content_type_still_returns_content(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/feed.xml").respond_with_data(b"\x89PNG\r\n", content_type="image/png")
    result = get(fetcher, server.url_for("/feed.xml"), accept="application/rss+xml")
    assert result.ok
    assert result.content_type == "image/png"
    assert result.charset is None
    assert result.content == b"\x89PNG\r\n"


def test_redirect_without_location_is_an_error(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/a").respond_with_data("", status=302)
    result = get(fetcher, server.url_for("/a"))
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    assert result.error == "HTTP 302 Found without a Location header"


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


def respond(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    """A response as the client receives it: headers, then a body still to be streamed."""
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return httpx.Response(status, headers=named, stream=httpx.ByteStream(body))


def read(response: httpx.Response, max_bytes: int = 100, truncate: bool = False) -> Reply:
    return read_response(response, max_bytes, truncate, Deadline(5))


@pytest.mark.parametrize("status", sorted(REDIRECT_STATUSES))
def test_a_redirect_hands_its_location_to_the_fetcher(status: int) -> None:
    reply = read(respond(status, location="/next"))
    assert reply.outcome is FetchOutcome.REDIRECT_ERROR  # unless the fetcher follows it
    assert reply.location == "/next"
    assert reply.error is not None
    assert reply.error.endswith("redirect not followed")
    assert not reply.retry


def test_not_modified_keeps_the_validators_and_reads_no_body() -> None:
    reply = read(respond(304, b"ignored", etag='"v2"', last_modified="Wed, 21 Oct 2015"))
    assert (reply.outcome, reply.etag, reply.last_modified) == (
        FetchOutcome.NOT_MODIFIED,
        '"v2"',
        "Wed, 21 Oct 2015",
    )
    assert reply.content == b""


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_errors_ask_for_a_retry_with_their_retry_after(status: int) -> None:
    reply = read(respond(status, retry_after="7"))
    assert reply.outcome is FetchOutcome.HTTP_ERROR
    assert reply.retry
    assert reply.retry_after == 7


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 501])
def test_other_errors_ask_for_no_retry_and_ignore_retry_after(status: int) -> None:
    reply = read(respond(status, retry_after="7"))
    assert reply.outcome is FetchOutcome.HTTP_ERROR
    assert reply.error == f"HTTP {status} {httpx.codes.get_reason_phrase(status)}"
    assert (reply.retry, reply.retry_after) == (False, None)


def test_ok_reads_the_body_with_its_media_type_and_charset() -> None:
    reply = read(respond(200, b"<p>ok</p>", content_type="text/HTML; Charset=UTF-8"))
    assert (reply.outcome, reply.content, reply.bytes_read) == (FetchOutcome.OK, b"<p>ok</p>", 9)
    assert (reply.content_type, reply.charset) == ("text/html", "utf-8")


def test_a_declared_length_over_the_cap_is_read_up_to_it_when_truncating() -> None:
    """robots.txt: RFC 9309 asks to parse the first 500 KiB, not to refuse a longer file."""
    body = b"x" * 150
    refused = read(respond(200, body, content_length="150"))
    kept = read(respond(200, body, content_length="150"), truncate=True)
    assert refused.outcome is FetchOutcome.TOO_LARGE
    assert refused.bytes_read == 0
    assert (kept.outcome, kept.content, kept.bytes_read) == (FetchOutcome.OK, b"x" * 100, 100)


def test_an_undecodable_body_is_an_http_error() -> None:
    reply = read(respond(200, b"not gzip at all", content_encoding="gzip"))
    assert reply.outcome is FetchOutcome.HTTP_ERROR
    assert reply.error is not None
    assert reply.error.startswith("cannot decode gzip body: ")
    assert not reply.retry
