"""Small RSS documents for the tests of pipeline/feeds (test_feeds_parse, test_feeds_repair):
a channel around some items, an item with just the fields a test needs, and `parse` with a
fixed feed URL and clock."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.feeds.parse import ParsedFeed, parse_feed

FEED_URL = "https://news.example/feeds/all.xml"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def rss(items: str, *, encoding: str = "utf-8", declaration: bool = True) -> str:
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n' if declaration else ""
    return (
        f'{head}<rss version="2.0"><channel><title>Example</title>'
        f"<link>https://news.example/</link>{items}</channel></rss>"
    )


def item(
    link: str | None,
    *,
    title: str = "T",
    guid: str | None = None,
    date: str | None = None,
    description: str = "",
) -> str:
    parts = [f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    if description:
        parts.append(f"<description><![CDATA[{description}]]></description>")
    return "<item>" + "".join(parts) + "</item>"


def parse(text: str | bytes, **kwargs: object) -> ParsedFeed:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_feed(data, feed_url=FEED_URL, now=NOW, **kwargs)  # type: ignore[arg-type]
