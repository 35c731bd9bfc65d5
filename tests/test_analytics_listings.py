"""pipeline.analytics.listings: the recent stories `news-ingest stories` shows, read from the
analysts' views on a real PostgreSQL, and how they render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from newsrows import add_article, add_source, add_story
from rich.console import Console

from pipeline.analytics.listings import (
    MAX_ARTICLES_PER_STORY,
    Listing,
    parse_duration,
    recent_stories,
    render,
    source_names,
)

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        (" 7d ", timedelta(days=7)),
        ("2W", timedelta(weeks=2)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_durations(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["0h", "24", "h", "1.5h", "-1d", "24 hours", "3y", ""])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration: use a positive number and a unit"):
        parse_duration(text)


def story(
    conn: psycopg.Connection[Any],
    headline: str,
    articles: list[tuple[int, datetime | None, datetime]],
    *,
    text: str = "Ein Bericht.",
) -> int:
    """A story of (source id, published, fetched) articles, each after the first a report of
    the same story; returns its id."""
    source, published, fetched = articles[0]
    story_id = add_story(conn, headline, at=published or fetched)
    first = None
    for n, (source, published, fetched) in enumerate(articles):
        article_id = add_article(
            conn,
            story_id=story_id,
            source_id=source,
            url=f"https://news.example/{story_id}/{n}",
            title=f"{headline} ({n})",
            published_at=published,
            fetched_at=fetched,
            text=text,
            matched=None if first is None else (first, "same_story"),
        )
        first = first or article_id
    return story_id


def listed(listing: Listing) -> list[str | None]:
    return [story.headline for story in listing.stories]


def test_the_window_counts_publication_and_fetch_time(conn: psycopg.Connection[Any]) -> None:
    kurier = add_source(conn, "kurier")
    story(conn, "Fresh", [(kurier, NOW - timedelta(hours=2), NOW - timedelta(hours=2))])
    # published long ago, but just ingested: what was just fetched counts, whatever its date
    story(conn, "Late find", [(kurier, NOW - 10 * DAY, NOW - timedelta(hours=1))])
    story(conn, "Old", [(kurier, NOW - 3 * DAY, NOW - 3 * DAY)])
    story(conn, "Undated", [(kurier, None, NOW - timedelta(hours=5))])

    listing = recent_stories(conn, since=NOW - DAY)

    assert listed(listing) == ["Fresh", "Undated", "Late find"]  # newest article time first
    assert not listing.more
    assert listed(recent_stories(conn, since=NOW - 4 * DAY)) == [
        "Fresh",
        "Undated",
        "Old",
        "Late find",
    ]


def test_source_and_search_narrow_the_stories(conn: psycopg.Connection[Any]) -> None:
    kurier, blatt = add_source(conn, "kurier"), add_source(conn, "blatt")
    at = NOW - timedelta(hours=1)
    story(conn, "Both", [(kurier, at, at), (blatt, at, at)], text="Die Radwege werden gebaut.")
    story(conn, "Kurier only", [(kurier, at, at)], text="Der Haushalt steht.")
    since = NOW - DAY
    assert listed(recent_stories(conn, since=since, source="blatt")) == ["Both"]
    # German stemming in the article's language: "Radweg" finds "Radwege"
    assert listed(recent_stories(conn, since=since, search="Radweg")) == ["Both"]
    assert listed(recent_stories(conn, since=since, source="blatt", search="Haushalt")) == []
    assert source_names(conn) == ["blatt", "kurier"]


def test_the_limit_keeps_the_newest_and_says_there_is_more(conn: psycopg.Connection[Any]) -> None:
    kurier = add_source(conn, "kurier")
    for hours in (1, 2, 3):
        at = NOW - timedelta(hours=hours)
        story(conn, f"{hours}h ago", [(kurier, at, at)])
    listing = recent_stories(conn, since=NOW - DAY, limit=2)
    assert listed(listing) == ["1h ago", "2h ago"]
    assert listing.more


def test_a_story_lists_its_first_articles_in_the_order_they_appeared(
    conn: psycopg.Connection[Any],
) -> None:
    kurier, blatt = add_source(conn, "kurier"), add_source(conn, "blatt")
    count = MAX_ARTICLES_PER_STORY + 2
    times = [NOW - timedelta(minutes=10 * (count - n)) for n in range(count)]
    story(conn, "Big", [(kurier if n % 2 else blatt, t, t) for n, t in enumerate(times)])

    (big,) = recent_stories(conn, since=NOW - DAY).stories

    assert big.article_count == count
    assert big.sources == ["blatt", "kurier"]
    assert [article.time for article in big.articles] == times[:MAX_ARTICLES_PER_STORY]
    assert big.articles[0].match_layer is None  # it opened the story
    assert {article.match_layer for article in big.articles[1:]} == {"same_story"}


def test_render_shows_headline_outlets_articles_and_what_is_hidden(
    conn: psycopg.Connection[Any],
) -> None:
    kurier = add_source(conn, "kurier")
    count = MAX_ARTICLES_PER_STORY + 2
    times = [NOW - timedelta(minutes=n + 1) for n in range(count)]
    story_id = story(conn, "Gipfel in Astana", [(kurier, t, t) for t in reversed(times)])
    listing = recent_stories(conn, since=NOW - DAY)
    console = Console(record=True, width=120)

    console.print(render(listing, window="24h"))

    output = console.export_text()
    assert output.startswith("1 story active in the last 24h (since ")
    assert f"#{story_id}  Gipfel in Astana" in output
    assert f"· {count} articles · kurier" in output
    assert "Gipfel in Astana (1)  [same story]" in output
    assert f"https://news.example/{story_id}/0" in output
    assert "… 2 more articles" in output
