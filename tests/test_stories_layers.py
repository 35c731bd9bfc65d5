"""pipeline.stories.layers: url, exact and near-copy layers, each alone (`dedup.layers`),
through the real store step in PostgreSQL; inactive layers still remember every article."""

from __future__ import annotations

from typing import Any

import psycopg
from newssite import load_seed, wire_copy, with_small_edits
from test_stories_engine import as_input

from pipeline.analytics.cluster import InputArticle, cluster_in_schema
from pipeline.config import DedupSettings
from pipeline.store import db


def run(conn: psycopg.Connection[Any], inputs: list[InputArticle], **settings: Any) -> dict:
    chosen = DedupSettings(encoder="use", **settings)
    return dict(cluster_in_schema(conn, db.DEFAULT_SCHEMA, inputs, chosen))


def links(conn: psycopg.Connection[Any]) -> list[tuple[str, float]]:
    rows = conn.execute("SELECT layer, score FROM article_links ORDER BY article_id").fetchall()
    return [(row[0], float(row[1])) for row in rows]


def test_exact_layer_alone(conn: psycopg.Connection[Any]) -> None:
    seed = load_seed("000")
    original, copy = as_input(seed), as_input(seed, source="other")
    copy = InputArticle("copy", copy.language, copy.title, copy.text, None, copy.url, "other")
    story_of = run(conn, [original, copy], layers=["exact"])
    assert story_of[original.id] == story_of["copy"]
    assert links(conn) == [("exact", 1.0)]


def test_near_copy_layer_alone(conn: psycopg.Connection[Any]) -> None:
    seed = load_seed("000")
    edited = as_input(with_small_edits(seed), source="syndicate")
    story_of = run(conn, [as_input(seed), edited], layers=["near_copy"])
    assert story_of[seed.slug] == story_of[edited.id] or len(story_of) == 1
    (layer, score), *_ = links(conn)
    assert layer == "near_copy"
    assert score >= DedupSettings().near_copy_threshold


def test_url_layer_needs_the_texts_to_agree(conn: psycopg.Connection[Any]) -> None:
    """Two lines with one URL are one article page: the url layer folds the second."""
    seed = load_seed("000")
    first = as_input(seed)
    same_page = InputArticle(
        "again", "de", seed.title, first.text + " Update.", None, first.url, "t"
    )
    story_of = run(conn, [first, same_page], layers=["url"])
    assert story_of[first.id] == story_of["again"]


def test_without_the_same_story_layer_reports_stay_apart_but_are_remembered(
    conn: psycopg.Connection[Any],
) -> None:
    first, second = as_input(load_seed("000")), as_input(load_seed("001"))
    story_of = run(conn, [first], layers=["url", "exact", "near_copy"])
    (profiles,) = conn.execute("SELECT count(*) FROM story_profiles").fetchone()
    assert profiles == 1  # remembered by the inactive same-story layer
    story_of |= run(conn, [second])  # all layers: finds the report stored while it was off
    assert story_of[first.id] == story_of[second.id]
    assert [layer for layer, _ in links(conn)] == ["same_story"]
    wire = as_input(wire_copy(load_seed("000")), source="wire")
    assert run(conn, [wire], layers=["same_story"])[wire.id] == story_of[first.id]
