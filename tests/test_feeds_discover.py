"""pipeline.feeds.discover: the feed behind a URL an editor pastes (the URL itself, a feed the
page links, a well-known path), fetched through our guarded Fetcher from a real local site."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import TEST_FETCH_SETTINGS
from feeddocs import parse, rss
from feedsite import ARTICLES, home_page, publish_atom, publish_rss, rss_link
from newssite import NewsSite, render_rss
from pytest_httpserver import HTTPServer

from pipeline.config import Config, FetchSettings
from pipeline.feeds.discover import (
    WELL_KNOWN_FEED_PATHS,
    FeedDiscoveryError,
    discover_feed,
    feed_language,
    well_known_feed_urls,
)
from pipeline.http.fetcher import Fetcher

SETTINGS = FetchSettings.model_validate(TEST_FETCH_SETTINGS)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(SETTINGS, allow_private_networks=True) as guarded:
        yield guarded


def publish_empty(site: NewsSite, path: str) -> str:
    """A valid RSS channel with no items."""
    return site.add_feed(path, render_rss([], title="Leer", link=site.url("/")))


def requested(site: NewsSite) -> list[str]:
    return [entry.path for entry in site.request_log()]


def test_relative_feed_link_resolves_against_the_page(httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    feed_url = publish_atom(site, "/nachrichten/atom.xml")
    page_url = site.add_page("/nachrichten/", home_page(rss_link("atom.xml")))
    config = Config.model_validate({"allow_private_networks": True, "fetch": TEST_FETCH_SETTINGS})

    with Fetcher(config.fetch, allow_private_networks=True) as fetcher:
        found = discover_feed(page_url, fetcher, config.fetch)

    assert (found.url, found.via, found.language, found.title) == (
        feed_url,
        "linked",
        "de",
        "Abendkurier",
    )
    assert found.probe.entries == len(ARTICLES)


def test_a_feed_url_is_its_own_feed(site: NewsSite, fetcher: Fetcher) -> None:
    feed_url = publish_rss(site, "/rss.php")
    found = discover_feed(feed_url, fetcher, SETTINGS)
    assert (found.url, found.via, found.page_url) == (feed_url, "direct", feed_url)
    assert found.others == ()
    assert found.title == "Weltblick"
    assert requested(site) == ["/rss.php"]  # nothing else probed


def test_the_first_linked_feed_wins_and_the_others_are_named(
    site: NewsSite, fetcher: Fetcher
) -> None:
    first = publish_rss(site, "/news.xml")
    second = publish_atom(site, "/sport.xml")
    page = site.add_page("/", home_page(rss_link("/news.xml"), rss_link("/sport.xml", "Sport")))
    found = discover_feed(page, fetcher, SETTINGS)
    assert (found.url, found.via, found.others) == (first, "linked", (second,))
    assert "/sport.xml" not in requested(site)  # the first with entries ends the search


def test_a_feed_with_entries_beats_an_empty_linked_one(site: NewsSite, fetcher: Fetcher) -> None:
    empty = publish_empty(site, "/empty.xml")
    full = publish_rss(site, "/feed.xml")  # a well-known path, not linked
    page = site.add_page("/", home_page(rss_link("/empty.xml")))
    found = discover_feed(page, fetcher, SETTINGS)
    assert (found.url, found.via, found.others) == (full, "well-known", (empty,))
    assert found.probe.entries == len(ARTICLES)


def test_an_empty_feed_is_taken_when_nothing_better_turns_up(
    site: NewsSite, fetcher: Fetcher
) -> None:
    empty = publish_empty(site, "/empty.xml")
    page = site.add_page("/", home_page(rss_link("/empty.xml")))
    found = discover_feed(page, fetcher, SETTINGS)
    assert (found.url, found.via, found.probe.entries) == (empty, "linked", 0)


def test_linked_candidates_come_before_the_well_known_paths(
    site: NewsSite, fetcher: Fetcher
) -> None:
    page = site.add_page("/", home_page(rss_link("/gone.xml")))  # linked but missing
    with pytest.raises(FeedDiscoveryError) as caught:
        discover_feed(page, fetcher, SETTINGS)
    probed = [path for path in requested(site) if path != "/"]
    assert probed == ["/gone.xml", *WELL_KNOWN_FEED_PATHS]
    message = str(caught.value)
    assert message.startswith(f"no feed found on {page}; tried:")
    assert "(the page links no feed)" not in message
    assert f"\n  {site.url('/gone.xml')}: " in message


def test_a_page_linking_no_feed_says_so_and_lists_what_was_tried(
    site: NewsSite, fetcher: Fetcher
) -> None:
    page = site.add_page("/", home_page())
    with pytest.raises(FeedDiscoveryError) as caught:
        discover_feed(page, fetcher, SETTINGS)
    message = str(caught.value)
    assert message.startswith(f"no feed found on {page} (the page links no feed); tried:")
    assert message.count("\n  ") == len(WELL_KNOWN_FEED_PATHS)


def test_candidates_are_bounded(site: NewsSite, fetcher: Fetcher) -> None:
    links = [rss_link(f"/missing-{n}.xml") for n in range(20)]
    page = site.add_page("/", home_page(*links))
    with pytest.raises(FeedDiscoveryError) as caught:
        discover_feed(page, fetcher, SETTINGS, max_candidates=3)
    assert requested(site) == ["/", "/missing-0.xml", "/missing-1.xml", "/missing-2.xml"]
    assert str(caught.value).count("\n  ") == 3


def test_a_page_that_cannot_be_fetched_is_named(site: NewsSite, fetcher: Fetcher) -> None:
    with pytest.raises(FeedDiscoveryError, match=r"^cannot fetch .*/nowhere: HTTP 404 Not Found"):
        discover_feed(site.url("/nowhere"), fetcher, SETTINGS)


def test_well_known_paths_are_on_the_pages_origin() -> None:
    urls = well_known_feed_urls("https://news.example:8443/politik/artikel.html?x=1")
    assert urls == [f"https://news.example:8443{path}" for path in WELL_KNOWN_FEED_PATHS]
    assert urls[0] == "https://news.example:8443/feed/"


@pytest.mark.parametrize(
    ("declared", "code"),
    [("de-DE", "de"), ("EN_us", "en"), (" fr ", "fr"), ("english", None), ("12", None)],
)
def test_feed_language_is_the_primary_iso_639_1_code(declared: str, code: str | None) -> None:
    parsed = parse(rss(f"<language>{declared}</language>"))
    assert feed_language(parsed) == code


def test_a_feed_without_a_language_has_none() -> None:
    assert feed_language(parse(rss(""))) is None
    assert feed_language(None) is None
