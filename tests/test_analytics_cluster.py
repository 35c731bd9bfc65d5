"""pipeline.analytics.cluster: JSON-lines articles through the pipeline's own story engine and
store step, in a scratch schema of a real PostgreSQL that is dropped afterwards."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from cluster_lines import BUDGET, FLOOD, line

from pipeline.analytics.cluster import (
    InputArticle,
    InputError,
    cluster,
    parse_line,
    read_input,
    source_id_of,
)
from pipeline.config import DedupSettings

SETTINGS = DedupSettings(embeddings=False)  # the lexical engine: no model to load


def scratch_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'news_cluster_%'")
    return [row[0] for row in rows]


def test_a_line_becomes_an_article_with_clean_fields() -> None:
    article = parse_line(
        line(
            id=17,
            lang="de",
            title="  Haushalt\nbeschlossen ",
            text=BUDGET,
            date="2024-07-03",
            url="https://muehlbach.example/haushalt?utm_source=x",
            source="muehlbach.example",
            extra="ignored",
        ),
        1,
    )
    assert article == InputArticle(
        id="17",
        language="de",
        title="Haushalt beschlossen",
        text=BUDGET,
        published=date(2024, 7, 3),
        url="https://muehlbach.example/haushalt?utm_source=x",
        source="muehlbach.example",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "line 4: expected a JSON object"),
        ('{"text": "x"}', "line 4: missing 'id'"),
        ('{"id": "", "text": "x"}', "line 4: missing 'id'"),
        ('{"id": "a", "text": 5}', "line 4 (id a): missing or empty 'text'"),
        ('{"id": "a", "text": "\\u0000 "}', "line 4 (id a): missing or empty 'text'"),
        ("{'id': 'a'}", "line 4: not JSON: "),
    ],
)
def test_a_bad_line_is_named(text: str, message: str) -> None:
    with pytest.raises(InputError, match="^" + re.escape(message)):
        parse_line(text, 4)


def test_input_yields_articles_and_errors_in_place_skipping_blank_lines() -> None:
    items = list(read_input([line(id="a", text=BUDGET), "\n", "oops\n", line(id="b", text=FLOOD)]))
    assert [type(item).__name__ for item in items] == ["InputArticle", "InputError", "InputArticle"]
    assert str(items[1]).startswith("line 3: not JSON")


def test_the_record_key_is_the_canonical_url_else_the_lines_id() -> None:
    with_url = parse_line(line(id="a", text=BUDGET, url="https://m.example/a?utm_source=x"), 1)
    without = parse_line(line(id="b", text=BUDGET, date="2024-07-03"), 2)
    assert with_url.record().canonical_url == "https://m.example/a"
    assert with_url.record().published_at is None
    assert without.record().canonical_url == "urn:news-ingest:cluster:b"
    assert without.record().url == "urn:news-ingest:cluster:b"
    assert without.record().published_at == datetime(2024, 7, 3, tzinfo=UTC)
    assert without.record().sitename == "unknown"


def test_same_url_is_one_story_and_the_scratch_schema_goes(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    articles = [
        parse_line(line(id="a", text=BUDGET, url="https://m.example/haushalt"), 1),
        parse_line(line(id="b", text=FLOOD, url="https://n.example/pegel"), 2),
        parse_line(line(id="c", text=BUDGET + " Nachtrag.", url="https://m.example/haushalt"), 3),
    ]
    story_of = list(cluster(articles, SETTINGS, url=db_url, batch=2))
    assert [article_id for article_id, _ in story_of] == ["a", "b", "c"]  # input order
    stories = dict(story_of)
    assert stories["a"] == stories["c"]
    assert stories["a"] != stories["b"]
    assert scratch_schemas(conn) == []


def test_a_consumer_that_stops_early_leaves_no_scratch_schema(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    articles = [parse_line(line(id=str(n), text=f"{BUDGET} {n}"), n) for n in range(3)]
    stream = cluster(articles, SETTINGS, url=db_url, batch=1)
    next(stream)
    assert len(scratch_schemas(conn)) == 1  # working
    stream.close()
    assert scratch_schemas(conn) == []


def test_an_outlet_is_created_on_first_use_and_then_reused(conn: psycopg.Connection[Any]) -> None:
    cache: dict[str, int] = {}
    first = source_id_of(conn, "m.example", cache)
    assert source_id_of(conn, "m.example", {}) == first  # a new cache finds the row
    assert source_id_of(conn, "n.example", cache) != first
    assert cache == {"m.example": first, "n.example": cache["n.example"]}
    assert conn.execute("SELECT name, url FROM sources ORDER BY name").fetchall() == [
        ("m.example", "https://m.example/"),
        ("n.example", "https://n.example/"),
    ]
