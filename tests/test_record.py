"""pipeline.record: one article record from extraction to storage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pipeline.extract import ExtractedArticle
from pipeline.feeds import FeedEntry
from pipeline.record import ARTICLE_COLUMNS, ArticleRecord
from pipeline.store.staging import stage_article
from pipeline.urls import canonical_url

FEED_DATE = datetime(2024, 7, 3, 8, 0, tzinfo=UTC)
PAGE_DATE = datetime(2024, 7, 4, 9, 30, tzinfo=UTC)
FETCHED = datetime(2024, 7, 4, 10, 0, tzinfo=UTC)


def entry(**changes: Any) -> FeedEntry:
    url = "https://news.example/politik/gipfel-astana?utm_source=rss"
    fields = {
        "url": url,
        "canonical_url": canonical_url(url),
        "guid": "tag:news.example,2024:4711",
        "title": "Gipfel in Astana +++ Liveblog",
        "published_at": FEED_DATE,
        "summary": "Die SOZ trifft sich in Astana.",
    }
    return FeedEntry(**{**fields, **changes})


def extraction(**changes: Any) -> ExtractedArticle:
    fields = {
        "text": "Die Staats- und Regierungschefs der SOZ kamen in Astana zusammen.",
        "title": "Gipfel in Astana",
        "author": "Anna Beispiel",
        "published_at": PAGE_DATE,
        "sitename": "News Example",
        "description": "Der Gipfel der SOZ.",
        "language": "de",
        "declared_url": "https://NEWS.example/politik/gipfel-astana#top",
        "word_count": 10,
    }
    return ExtractedArticle(**{**fields, **changes})


def test_page_title_and_feed_date_win() -> None:
    record = ArticleRecord.from_extraction(entry(), extraction(), fetched_at=FETCHED)
    assert record.title == "Gipfel in Astana"  # feeds decorate titles
    assert record.published_at == FEED_DATE  # pages show "updated" times
    assert record.event_time == FEED_DATE
    assert record.canonical_url == "https://news.example/politik/gipfel-astana"
    assert record.declared_url == "https://news.example/politik/gipfel-astana"
    assert record.description == "Der Gipfel der SOZ."


def test_feed_fills_what_the_page_lacks() -> None:
    record = ArticleRecord.from_extraction(
        entry(published_at=None),
        extraction(title=None, description=None, published_at=None, declared_url="/relative"),
        fetched_at=FETCHED,
    )
    assert record.title == "Gipfel in Astana +++ Liveblog"
    assert record.description == "Die SOZ trifft sich in Astana."
    assert record.published_at is None
    assert record.event_time == FETCHED  # no date at all: the story happened when we saw it
    assert record.declared_url is None  # a relative or garbage rel=canonical is no evidence


def test_story_input_carries_what_the_engine_compares() -> None:
    record = ArticleRecord.from_extraction(entry(), extraction(), fetched_at=FETCHED)
    item = record.story_input()
    assert (item.canonical_url, item.declared_url) == (record.canonical_url, record.declared_url)
    assert (item.title, item.text, item.language) == (record.title, record.text, "de")
    assert (item.published_at, item.event_time) == (FEED_DATE, FEED_DATE)


def test_columns_are_those_staging_and_articles_share(conn: psycopg.Connection[Any]) -> None:
    def columns(table: str) -> set[str]:
        rows = conn.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = 'news' AND table_name = %s""",
            (table,),
        ).fetchall()
        return {row[0] for row in rows}

    assert set(ARTICLE_COLUMNS) <= columns("staged_articles")
    assert set(ARTICLE_COLUMNS) <= columns("articles")


def test_staged_row_reads_back_as_the_same_record(conn: psycopg.Connection[Any]) -> None:
    (source_id,) = conn.execute(
        "INSERT INTO sources (name, url) VALUES ('example', 'https://news.example/feed')"
        " RETURNING id"
    ).fetchone()
    record = ArticleRecord.from_extraction(entry(), extraction(), fetched_at=FETCHED)
    assert stage_article(conn, record, source_id=source_id, features=None, run_id=None)
    assert not stage_article(conn, record, source_id=source_id, features=None, run_id=None)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM staged_articles").fetchone()
    assert row is not None
    assert ArticleRecord.from_row(row) == record
