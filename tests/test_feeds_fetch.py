"""pipeline.feeds.fetch: one way to read a feed, for the cycle and the editors' commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from newssite import NewsSite

from pipeline.config import FetchSettings
from pipeline.feeds.fetch import fetch_feed
from pipeline.http import Fetcher

SETTINGS = FetchSettings(connect_timeout=2, read_timeout=2, total_timeout=5, max_retries=0)
RSS = """<rss version="2.0"><channel><title>Kurier</title><link>https://k.example/</link>
<item><title>{title}</title><link>https://k.example/a</link>
<pubDate>Wed, 03 Jul 2024 10:15:00 +0200</pubDate></item></channel></rss>"""


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(SETTINGS, allow_private_networks=True) as guarded:
        yield guarded


def test_a_feed_parses_and_a_conditional_poll_is_not_modified(
    site: NewsSite, fetcher: Fetcher
) -> None:
    url = site.add_feed("/feed.xml", RSS.format(title="Gipfel"))
    fetched = fetch_feed(fetcher, url, SETTINGS)
    assert (fetched.ok, fetched.outcome, fetched.entries, fetched.status) == (True, "ok", 1, "200")
    assert fetched.newest is not None
    assert fetched.describe() == "feed, 1 entries"

    again = fetch_feed(fetcher, url, SETTINGS, etag=fetched.result.etag)
    assert (again.ok, again.not_modified, again.outcome, again.error) == (
        False,
        True,
        "not_modified",
        None,
    )


def test_the_http_charset_decides_a_feed_without_a_declaration(
    site: NewsSite, fetcher: Fetcher
) -> None:
    """The pipeline and `feeds check` read the same bytes the same way: a KOI8-R feed whose
    only charset label is the Content-Type header is Cyrillic, not cp1252 mojibake."""
    body = RSS.format(title="Газпром и Москва").encode("koi8-r")
    site.server.expect_request("/koi8.xml").respond_with_data(
        body, content_type="application/rss+xml; charset=KOI8-R"
    )
    fetched = fetch_feed(fetcher, site.url("/koi8.xml"), SETTINGS)
    assert fetched.parsed is not None
    assert fetched.parsed.entries[0].title == "Газпром и Москва"


def test_a_web_page_is_a_permanent_parse_error_naming_its_type(
    site: NewsSite, fetcher: Fetcher
) -> None:
    url = site.add_page("/index.html", "<html><body><h1>Kurier</h1></body></html>")
    fetched = fetch_feed(fetcher, url, SETTINGS)
    assert (fetched.ok, fetched.outcome, fetched.retryable) == (False, "parse_error", False)
    assert fetched.error is not None
    assert fetched.error.endswith("(served as text/html)")


def test_a_server_error_is_a_retryable_fetch_failure(site: NewsSite, fetcher: Fetcher) -> None:
    url = site.add_page("/feed.xml", "oops", status=503)
    fetched = fetch_feed(fetcher, url, SETTINGS)
    assert (fetched.ok, fetched.outcome, fetched.retryable, fetched.status) == (
        False,
        "http_error",
        True,
        "503",
    )
    assert fetched.describe() == "HTTP 503 Service Unavailable"
