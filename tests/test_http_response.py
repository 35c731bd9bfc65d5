"""pipeline.http.response: one HTTP response classified (redirect, 304, error worth a retry,
body under the cap) before the fetcher decides what to do next."""

from __future__ import annotations

from fetching import CAP, get
from pytest_httpserver import HTTPServer

from pipeline.http import Fetcher, FetchOutcome


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
