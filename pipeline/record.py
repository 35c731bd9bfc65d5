"""`ArticleRecord`: the one record type that travels the flow.

Built once, where an article is known completely: from a feed entry plus what extraction
found on its page (`from_extraction`), or from a line of `news-ingest cluster` input. From
there it is staged, stored and handed to the story engine without being re-assembled:
`row()` is its staging/article row (the columns `ARTICLE_COLUMNS` that both tables share),
`from_row()` reads it back, `story_input()` is what the story engine sees of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg import sql

from .stories.engine import DedupInput
from .urls import canonical_or_none

if TYPE_CHECKING:
    from .extract import ExtractedArticle
    from .feeds import FeedEntry


@dataclass(frozen=True)
class ArticleRecord:
    """One article, as staged and as stored (news.staged_articles, news.articles)."""

    canonical_url: str  # identity: the normalised feed link (pipeline.urls.canonical_url)
    url: str  # the link as the feed gave it
    declared_url: str | None  # canonical form of the page's rel=canonical, if any
    guid: str | None
    title: str | None
    author: str | None
    sitename: str | None
    description: str | None
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    text: str

    @classmethod
    def from_extraction(
        cls, entry: FeedEntry, article: ExtractedArticle, *, fetched_at: datetime
    ) -> ArticleRecord:
        """The record of a feed entry whose page was extracted.

        The page's title beats the feed's (feeds truncate and decorate titles); the feed's
        date beats the page's (pages show "updated" times and dates of embedded items).
        """
        return cls(
            canonical_url=entry.canonical_url,
            url=entry.url,
            declared_url=canonical_or_none(article.declared_url),
            guid=entry.guid,
            title=article.title or entry.title,
            author=article.author,
            sitename=article.sitename,
            description=article.description or entry.summary,
            published_at=entry.published_at or article.published_at,
            fetched_at=fetched_at,
            language=article.language,
            text=article.text,
        )

    @property
    def event_time(self) -> datetime:
        """When the story happened, as far as we know: published, else fetched."""
        return self.published_at or self.fetched_at

    def row(self) -> tuple[Any, ...]:
        """Values in the order of `ARTICLE_COLUMNS`."""
        return astuple(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ArticleRecord:
        """The record from a staged or stored row (a dict row with at least ARTICLE_COLUMNS)."""
        return cls(**{column: row[column] for column in ARTICLE_COLUMNS})

    def story_input(self) -> DedupInput:
        return DedupInput(
            canonical_url=self.canonical_url,
            declared_url=self.declared_url,
            title=self.title,
            text=self.text,
            language=self.language,
            published_at=self.published_at,
            event_time=self.event_time,
        )


# The columns news.staged_articles and news.articles share, in ArticleRecord's field order.
ARTICLE_COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(ArticleRecord))


def insert_sql(table: str, *extra_columns: str) -> sql.Composed:
    """`INSERT INTO table (ARTICLE_COLUMNS..., extra_columns...) VALUES (%s, ...)`: the
    staging and the article insert share their column list through this."""
    columns = (*ARTICLE_COLUMNS, *extra_columns)
    return sql.SQL("INSERT INTO {table} ({columns}) VALUES ({values})").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
