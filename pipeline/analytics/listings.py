"""`news-ingest stories`: recent stories with their articles, for a quick look without SQL.

The queries read the analysts' objects of sql/0005_analyst_views.sql (v_stories, the
`search` column, search_query/ts_config_for), so the command and docs/QUERIES.md agree
on what a story, a source list and a search match are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Group
from rich.text import Text
from rich.tree import Tree

#: Articles shown under one story; the rest are counted ("… 12 more articles").
MAX_ARTICLES_PER_STORY = 10
TIME_FORMAT = "%Y-%m-%d %H:%M"
#: How an article joined its story (article_links.layer), for readers.
LAYER_LABELS = {
    "url": "copy: same URL",
    "exact": "copy: same text",
    "near_copy": "copy: nearly the same text",
    "same_story": "same story",
}

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """'30m', '24h', '7d', '2w' (also s) → timedelta; ValueError for anything else."""
    match = _DURATION_RE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration: use a positive number and a unit, e.g. 30m, 24h, 7d, 2w"
        )
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})


@dataclass(frozen=True)
class ListedArticle:
    source: str
    title: str | None
    url: str
    time: datetime  # published, else fetched: the time stories are dated by
    match_layer: str | None  # None: opened the story


@dataclass(frozen=True)
class ListedStory:
    story_id: int
    headline: str | None
    first_seen: datetime
    last_seen: datetime
    article_count: int
    sources: list[str]
    articles: list[ListedArticle] = field(default_factory=list)


@dataclass(frozen=True)
class Listing:
    since: datetime
    stories: list[ListedStory]
    more: bool  # stories beyond the limit exist


def source_names(conn: psycopg.Connection[Any]) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM sources ORDER BY name")]


def recent_stories(
    conn: psycopg.Connection[Any],
    *,
    since: datetime,
    source: str | None = None,
    search: str | None = None,
    limit: int = 20,
) -> Listing:
    """Stories with an article published or fetched at or after `since` (what was just
    ingested counts, whatever its date), newest first; only those with an article from
    `source` and/or an article matching `search` if given."""
    conditions = [
        sql.SQL(
            "(st.last_seen >= %(since)s OR st.id IN"
            " (SELECT story_id FROM articles WHERE fetched_at >= %(since)s))"
        )
    ]
    if source is not None:
        conditions.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM articles a JOIN sources s ON s.id = a.source_id"
                " WHERE a.story_id = st.id AND s.name = %(source)s)"
            )
        )
    if search is not None:
        # search_query() lets the GIN index find candidates in any language; the second
        # test matches the query parsed in the article's own language, as search_articles().
        conditions.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM articles a WHERE a.story_id = st.id"
                " AND a.search @@ (SELECT search_query(%(search)s))"
                " AND a.search @@ websearch_to_tsquery(ts_config_for(a.language), %(search)s))"
            )
        )
    # Stories are picked from the table first, so v_stories aggregates the outlets of the
    # shown stories only, not of every story in a long --since window.
    query = sql.SQL(
        """WITH picked AS (
               SELECT st.id FROM stories st WHERE {conditions}
               ORDER BY st.last_seen DESC, st.id DESC
               LIMIT %(limit)s
           )
           SELECT v.story_id, v.headline, v.first_seen, v.last_seen, v.article_count, v.sources
           FROM picked JOIN v_stories v ON v.story_id = picked.id
           ORDER BY v.last_seen DESC, v.story_id DESC"""
    ).format(conditions=sql.SQL(" AND ").join(conditions))
    params = {"since": since, "source": source, "search": search, "limit": limit + 1}
    rows = conn.execute(query, params).fetchall()
    stories = [ListedStory(*row[:5], sources=list(row[5])) for row in rows[:limit]]
    articles = _articles_of(conn, [story.story_id for story in stories])
    return Listing(
        since=since,
        stories=[replace(story, articles=articles.get(story.story_id, [])) for story in stories],
        more=len(rows) > limit,
    )


def _articles_of(
    conn: psycopg.Connection[Any], story_ids: list[int]
) -> dict[int, list[ListedArticle]]:
    """The first MAX_ARTICLES_PER_STORY articles of each story, in the order they appeared."""
    rows = conn.execute(
        """SELECT story_id, source, title, url, article_time, match_layer FROM (
               SELECT story_id, source, title, url,
                      coalesce(published_at, fetched_at) AS article_time, match_layer,
                      row_number() OVER (PARTITION BY story_id
                                         ORDER BY coalesce(published_at, fetched_at),
                                                  article_id) AS n
               FROM v_articles WHERE story_id = ANY(%s)
           ) numbered
           WHERE n <= %s
           ORDER BY story_id, n""",
        (story_ids, MAX_ARTICLES_PER_STORY),
    ).fetchall()
    articles: dict[int, list[ListedArticle]] = {}
    for story_id, *article in rows:
        articles.setdefault(story_id, []).append(ListedArticle(*article))
    return articles


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def render(listing: Listing, *, window: str) -> Group:
    """A tree per story: headline, dates, outlets; under it its articles with their URLs
    on a line of their own, so terminals keep them whole and clickable."""
    count = len(listing.stories)
    heading = Text(
        f"{count}{'+' if listing.more else ''} {'story' if count == 1 else 'stories'} "
        f"active in the last {window} (since {_when(listing.since)} UTC), newest first",
        style="bold",
    )
    parts: list[Any] = [heading]
    for story in listing.stories:
        parts.append(Text())
        parts.append(_story_tree(story))
    if listing.more:
        parts.append(Text())
        parts.append(Text("More stories match: raise --limit or narrow --since.", style="dim"))
    return Group(*parts)


def _story_tree(story: ListedStory) -> Tree:
    label = Text.assemble(
        (f"#{story.story_id}  ", "cyan"), (story.headline or "(no headline)", "bold")
    )
    label.append(
        f"\n{_when(story.first_seen)} → {_when(story.last_seen)} UTC · "
        f"{story.article_count} article{'' if story.article_count == 1 else 's'} · "
        f"{', '.join(story.sources)}",
        style="dim",
    )
    tree = Tree(label, guide_style="dim")
    width = max((len(article.source) for article in story.articles), default=0)
    for article in story.articles:
        line = Text(f"{_when(article.time)}  {article.source:<{width}}  ")
        line.append(article.title or "(no title)")
        if article.match_layer:
            label = LAYER_LABELS.get(article.match_layer, article.match_layer)
            line.append(f"  [{label}]", style="dim")
        # A URL is folded, never cut or broken at a hyphen, so it can still be copied.
        tree.add(Group(line, Text(article.url, style="blue", overflow="fold")))
    hidden = story.article_count - len(story.articles)
    if hidden > 0:
        tree.add(Text(f"… {hidden} more article{'' if hidden == 1 else 's'}", style="dim"))
    return tree
