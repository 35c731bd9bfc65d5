"""pipeline.ingest.collect: one article downloaded and extracted, returned as a value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from newssite import NewsSite, fixture_article, render_article_page

from pipeline.config import Feed, FetchSettings
from pipeline.feeds import FeedEntry
from pipeline.http import Fetcher
from pipeline.ingest.collect import Extracted, Failed, download_article
from pipeline.urls import canonical_url

SETTINGS = FetchSettings(
    connect_timeout=2, read_timeout=2, total_timeout=5, max_retries=0, respect_robots=False
)
FEED = Feed(name="kurier", url="https://kurier.example/feed.xml")


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(SETTINGS, allow_private_networks=True) as guarded:
        yield guarded


def entry_for(url: str) -> FeedEntry:
    return FeedEntry(url, canonical_url(url), None, "Feed title", None, "Feed summary")


def test_article_page_becomes_a_record(site: NewsSite, fetcher: Fetcher) -> None:
    article = fixture_article("hochwasser-nahe-bad-kreuznach")
    url = site.add_page("/regional/hochwasser", render_article_page(article, site_name="Kurier"))
    outcome = download_article(fetcher, entry_for(url), SETTINGS, FEED)
    assert isinstance(outcome, Extracted)
    record = outcome.record
    assert record.title == article.title
    assert record.language == article.language
    assert article.paragraphs[0] in record.text
    assert record.canonical_url == canonical_url(url)
    assert outcome.result.ok


def test_missing_page_fails_at_fetch_for_good(site: NewsSite, fetcher: Fetcher) -> None:
    outcome = download_article(fetcher, entry_for(site.url("/gone")), SETTINGS, FEED)
    assert isinstance(outcome, Failed)
    assert (outcome.stage, outcome.outcome, outcome.retryable) == ("fetch", "http_error", False)
    assert "404" in outcome.error


def test_server_error_is_retried_in_a_later_run(site: NewsSite, fetcher: Fetcher) -> None:
    url = site.add_page("/busy", "<html>busy</html>", status=503)
    outcome = download_article(fetcher, entry_for(url), SETTINGS, FEED)
    assert isinstance(outcome, Failed)
    assert (outcome.stage, outcome.retryable) == ("fetch", True)


@pytest.mark.parametrize(
    ("body", "headers", "error"),
    [
        (b"%PDF-1.7", {"Content-Type": "application/pdf"}, "not an HTML page (application/pdf)"),
        (b"<html><body><nav>Home</nav></body></html>", None, "too little article text"),
    ],
    ids=["pdf", "menu-only"],
)
def test_page_without_an_article_fails_at_extract_and_is_retried(
    site: NewsSite, fetcher: Fetcher, body: bytes, headers: dict[str, str] | None, error: str
) -> None:
    url = site.add_page("/not-an-article", body, headers=headers)
    outcome = download_article(fetcher, entry_for(url), SETTINGS, FEED)
    assert isinstance(outcome, Failed)
    assert (outcome.stage, outcome.outcome, outcome.retryable) == ("extract", "extract_error", True)
    assert error in outcome.error
