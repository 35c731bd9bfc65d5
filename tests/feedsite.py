"""A small news site for the tests of feed discovery and the editors' commands
(test_feeds_discover, test_cli_feeds): a home page linking its feeds, and an RSS or Atom
feed of three real articles published on it."""

from __future__ import annotations

from newssite import NewsSite, feed_item, fixture_article, load_seed, render_atom, render_rss

ARTICLES = (
    load_seed("000"),
    fixture_article("hochwasser-nahe-bad-kreuznach"),
    fixture_article("oberliga-rheinau-talheim"),
)


def home_page(*head_links: str, body_links: str = "") -> str:
    links = "\n".join(head_links)
    return (
        "<!DOCTYPE html><html lang='de'><head><meta charset='utf-8'><title>Weltblick</title>"
        f"{links}</head><body><h1>Weltblick</h1><p>Nachrichten aus aller Welt.</p>"
        f"{body_links}</body></html>"
    )


def rss_link(href: str, title: str = "RSS") -> str:
    return f'<link rel="alternate" type="application/rss+xml" title="{title}" href="{href}">'


def publish_rss(site: NewsSite, path: str) -> str:
    items = [feed_item(a, site.url(f"/artikel/{a.slug}.html")) for a in ARTICLES]
    body = render_rss(items, title="Weltblick", link=site.url("/"), language="de")
    return site.add_feed(path, body, kind="rss")


def publish_atom(site: NewsSite, path: str) -> str:
    items = [feed_item(a, site.url(f"/artikel/{a.slug}.html")) for a in ARTICLES]
    body = render_atom(items, title="Abendkurier", link=site.url("/"), language="de")
    return site.add_feed(path, body, kind="atom")
