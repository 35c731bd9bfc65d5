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

from ..config import DedupSettings
from ..ingest.runs import new_run_id, start_run
from ..record import ArticleRecord
from ..store import db, migrations
from ..store.staging import stage_article
from ..store.store_step import store_staged
from ..stories.factory import build_engine
from ..stories.model import Models
from ..textnorm import clean_line, clean_text
from ..urls import canonical_or_none

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

    def record(self) -> ArticleRecord:
        """The article as the store step takes it; two lines with the same URL are one
        article (the url layer), a line without a URL is an article of its own."""
        key = canonical_or_none(self.url) or f"urn:news-ingest:cluster:{self.id}"
        published = (
            datetime(self.published.year, self.published.month, self.published.day, tzinfo=UTC)
            if self.published
            else None
        )
        return ArticleRecord(
            canonical_url=key,
            url=self.url or key,
            declared_url=None,
            guid=self.id,
            title=self.title,
            author=None,
            sitename=self.source,
            description=None,
            published_at=published,
            fetched_at=datetime.now(UTC),
            language=self.language,
            text=self.text,
        )


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
    models: Models | None = None,
) -> Iterator[tuple[str, int]]:
    """(article id, story id) for every article, in input order, as a stream; `models`
    replaces the shipped same-story models (eval-dedup --cv refits them per fold)."""
    url = url or db.database_url()
    schema = f"news_cluster_{secrets.token_hex(4)}"
    try:
        migrations.migrate(url, schema=schema)
        with db.connection(url, schema=schema, autocommit=True) as conn:
            yield from cluster_in_schema(
                conn, schema, articles, settings, batch=batch, models=models
            )
    finally:
        db.drop_schema(url, schema)


def cluster_in_schema(
    conn: psycopg.Connection[Any],
    schema: str,
    articles: Iterable[InputArticle],
    settings: DedupSettings,
    *,
    batch: int = BATCH,
    models: Models | None = None,
) -> Iterator[tuple[str, int]]:
    """`cluster` on a connection to an existing, migrated schema (whose state it keeps)."""
    engine = build_engine(settings, models)
    run_id = new_run_id("cluster")
    start_run(conn, run_id, "cluster")
    sources: dict[str, int] = {}
    iterator = iter(articles)
    while chunk := list(islice(iterator, batch)):
        records = [article.record() for article in chunk]
        features = engine.prepare([record.story_input() for record in records])
        for article, record, feature in zip(chunk, records, features, strict=True):
            source_id = source_id_of(conn, article.source, sources)
            stage_article(conn, record, source_id=source_id, features=feature, run_id=run_id)
        report = store_staged(conn, engine, schema=schema, run_id=run_id, arrival_order=True)
        for article, record in zip(chunk, records, strict=True):
            if record.canonical_url in report.quarantined:  # the database refused it
                reason = report.quarantined[record.canonical_url]
                log.error("article %s could not be stored: %s", article.id, reason)
                continue
            yield article.id, report.story_ids[record.canonical_url]


def source_id_of(conn: psycopg.Connection[Any], name: str, cache: dict[str, int]) -> int:
    """The id of the source called `name`, created on first use (cluster input names its
    outlet by domain)."""
    if name not in cache:
        row = conn.execute(
            """INSERT INTO sources (name, url) VALUES (%s, %s)
               ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING id""",
            (name, f"https://{name}/"),
        ).fetchone()
        assert row is not None
        cache[name] = row[0]
    return cache[name]
