"""`news-ingest cluster`: articles from a JSON-lines file through the pipeline's own story
engine and store step, in file order, in a scratch schema that is dropped afterwards."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

import psycopg

from . import db
from .config import DedupSettings
from .extract import ExtractedArticle
from .feed_parser import FeedEntry
from .runs import new_run_id, start_run
from .staging import stage_article
from .store import store_staged
from .stories.engine import DedupInput
from .stories.factory import build_engine
from .textnorm import clean_line, clean_text, word_count
from .urls import canonical_or_none

log = logging.getLogger(__name__)

BATCH = 32  # articles embedded together; stored one by one in file order


@dataclass(frozen=True)
class InputArticle:
    id: str
    language: str | None
    title: str | None
    text: str
    published: date | None
    url: str | None
    source: str


class InputError(ValueError):
    """A line of the input cannot be used; the message names the line."""


def parse_line(line: str, number: int) -> InputArticle:
    """One JSON object → InputArticle; extra fields are ignored."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {number}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InputError(f"line {number}: expected a JSON object")
    if data.get("id") in (None, ""):
        raise InputError(f"line {number}: missing 'id'")
    text = clean_text(data.get("text") if isinstance(data.get("text"), str) else None)
    if not text:
        raise InputError(f"line {number} (id {data['id']}): missing or empty 'text'")
    published = None
    if data.get("date"):
        try:
            published = date.fromisoformat(str(data["date"]))
        except ValueError:
            raise InputError(
                f"line {number} (id {data['id']}): 'date' must be YYYY-MM-DD or null"
            ) from None
    return InputArticle(
        id=str(data["id"]),
        language=clean_line(data.get("lang"), 10),
        title=clean_line(data.get("title")),
        text=text,
        published=published,
        url=data.get("url") if isinstance(data.get("url"), str) else None,
        source=clean_line(data.get("source"), 200) or "unknown",
    )


def read_input(lines: Iterable[str]) -> Iterator[InputArticle | InputError]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse_line(line, number)
        except InputError as exc:
            yield exc


def cluster(
    articles: Iterable[InputArticle],
    settings: DedupSettings,
    *,
    url: str | None = None,
    batch: int = BATCH,
) -> Iterator[tuple[str, int]]:
    """(article id, story id) for every article, in input order, as a stream."""
    url = url or db.database_url()
    schema = f"news_cluster_{secrets.token_hex(4)}"
    try:
        db.migrate(url, schema=schema)
        with db.connection(url, schema=schema, autocommit=True) as conn:
            yield from _cluster_in(conn, schema, articles, settings, batch)
    finally:
        db.drop_schema(url, schema)


def _cluster_in(
    conn: psycopg.Connection[Any],
    schema: str,
    articles: Iterable[InputArticle],
    settings: DedupSettings,
    batch: int,
) -> Iterator[tuple[str, int]]:
    engine = build_engine(settings)
    run_id = new_run_id("cluster")
    start_run(conn, run_id, "cluster")
    sources: dict[str, int] = {}
    iterator = iter(articles)
    while chunk := list(islice(iterator, batch)):
        items = [_dedup_input(article) for article in chunk]
        features = engine.prepare(items)  # one embedding batch per chunk
        for article, item, feature in zip(chunk, items, features, strict=True):
            _stage(conn, article, item, feature, _source_id(conn, article.source, sources), run_id)
        report = store_staged(conn, engine, schema=schema, run_id=run_id, arrival_order=True)
        for article, item in zip(chunk, items, strict=True):
            if item.canonical_url in report.quarantined:  # the database refused it
                reason = report.quarantined[item.canonical_url]
                log.error("article %s could not be stored: %s", article.id, reason)
                continue
            yield article.id, report.story_ids[item.canonical_url]


def _source_id(conn: psycopg.Connection[Any], name: str, cache: dict[str, int]) -> int:
    if name not in cache:
        row = conn.execute(
            """INSERT INTO sources (name, url) VALUES (%s, %s)
               ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING id""",
            (name, f"https://{name}/"),
        ).fetchone()
        assert row is not None
        cache[name] = row[0]
    return cache[name]


def _dedup_input(article: InputArticle) -> DedupInput:
    # Two lines with the same URL are one article (the url layer); no URL: a key of its own.
    key = canonical_or_none(article.url) or f"urn:news-ingest:cluster:{article.id}"
    published = (
        datetime(article.published.year, article.published.month, article.published.day, tzinfo=UTC)
        if article.published
        else None
    )
    return DedupInput(
        canonical_url=key,
        declared_url=None,
        title=article.title,
        text=article.text,
        language=article.language,
        published_at=published,
        event_time=published or datetime.now(UTC),
    )


def _stage(
    conn: psycopg.Connection[Any],
    article: InputArticle,
    item: DedupInput,
    features: dict[str, Any],
    source_id: int,
    run_id: str,
) -> None:
    """Stage one article exactly as the pipeline stages an extracted page."""
    entry = FeedEntry(
        url=article.url or item.canonical_url,
        canonical_url=item.canonical_url,
        guid=article.id,
        title=article.title,
        published_at=item.published_at,
        summary=None,
    )
    extracted = ExtractedArticle(
        text=article.text,
        title=article.title,
        author=None,
        published_at=item.published_at,
        sitename=article.source,
        description=None,
        language=article.language,
        declared_url=None,
        word_count=word_count(article.text),
    )
    stage_article(
        conn,
        source_id=source_id,
        entry=entry,
        article=extracted,
        fetched_at=datetime.now(UTC),
        features=features,
        run_id=run_id,
    )
