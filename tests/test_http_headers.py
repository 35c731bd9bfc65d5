"""pipeline.http.headers: numbers, dates, media types and reason phrases read from response
headers, strictly (ASCII digits only), and what the fetcher makes of them."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fetching import get, local_fetcher
from hostile_http import RawServer, read_request
from pytest_httpserver import HTTPServer

from pipeline.http import Fetcher, FetchOutcome
from pipeline.http.headers import ascii_number, content_type, parse_retry_after


def test_unknown_status_keeps_the_server_reason_phrase() -> None:
    head = b"HTTP/1.1 599 Custom Trouble\r\nContent-Length: 0\r\n\r\n"
    with RawServer(_respond(head)) as raw, local_fetcher() as fetcher:
        result = get(fetcher, raw.url("/x"))
    assert result.error == "HTTP 599 Custom Trouble"
    assert result.attempts == 1  # only 500/502/503/504 are retried at once
    assert result.retryable  # but any 5xx may work in a later run


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


def test_a_standard_status_reads_alike_whatever_phrase_the_server_sends() -> None:
    head = b"HTTP/1.1 404 Nope Nope\r\nContent-Length: 0\r\n\r\n"
    with RawServer(_respond(head)) as raw, local_fetcher() as fetcher:
        result = get(fetcher, raw.url("/x"))
    assert result.error == "HTTP 404 Not Found"


@pytest.mark.parametrize(
    ("header", "media_type", "charset"),
    [
        ("text/html; charset=ISO-8859-1", "text/html", "iso-8859-1"),
        ('Application/RSS+XML; Charset="UTF-8"', "application/rss+xml", "utf-8"),
        ("text/xml; q=1; charset='windows-1252'", "text/xml", "windows-1252"),
        ("text/html; charset=", "text/html", None),
        ("text/html", "text/html", None),
        ("; charset=utf-8", None, "utf-8"),
        ("", None, None),
        (None, None, None),
    ],
)
def test_content_type_gives_media_type_and_charset_lowercased(
    header: str | None, media_type: str | None, charset: str | None
) -> None:
    assert content_type(header) == (media_type, charset)


def test_a_number_of_more_than_15_digits_is_no_number() -> None:
    """A Content-Length or Retry-After of a thousand digits must not become a huge int."""
    assert ascii_number("9" * 15) == 999_999_999_999_999
    assert ascii_number("9" * 16) is None
    assert ascii_number("9" * 5000) is None


def test_an_unusable_retry_after_is_ignored_with_a_warning(
    server: HTTPServer, fetcher: Fetcher, caplog: pytest.LogCaptureFixture
) -> None:
    server.expect_request("/x").respond_with_data(
        "busy", status=503, headers={"Retry-After": "soon"}
    )
    with caplog.at_level(logging.WARNING, logger="pipeline.http.headers"):
        result = get(fetcher, server.url_for("/x"))
    assert result.attempts == 3  # retried with the backoff, as without the header
    assert any("ignoring Retry-After 'soon'" in record.getMessage() for record in caplog.records)
