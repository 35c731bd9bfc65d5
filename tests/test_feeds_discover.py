"""pipeline.feeds.discover: the feed behind a URL an editor pastes (the URL itself, a feed the
page links, a well-known path), fetched through our guarded Fetcher from a real local site."""

from __future__ import annotations

from conftest import TEST_FETCH_SETTINGS
from feedsite import ARTICLES, home_page, publish_atom, rss_link
from newssite import NewsSite
from pytest_httpserver import HTTPServer


def test_relative_feed_link_resolves_against_the_page(httpserver_ipv4: HTTPServer) -> None:
    from pipeline.config import Config
    from pipeline.feeds.discover import discover_feed
    from pipeline.http.fetcher import Fetcher

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
