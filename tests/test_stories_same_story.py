"""pipeline.stories.same_story: the learned layer in PostgreSQL. The cascade embeds with e5
only what it rescores and keeps those vectors; switching the encoder embeds stored
articles on demand, never comparing two vector spaces; the window bounds scoring."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg
from newssite import load_seed
from test_stories_engine import as_input

from pipeline.analytics.cluster import cluster_in_schema
from pipeline.config import DedupSettings
from pipeline.store import db
from pipeline.stories import model as learned


def run(conn: psycopg.Connection[Any], inputs: list, settings: DedupSettings, **kw: Any) -> dict:
    return dict(cluster_in_schema(conn, db.DEFAULT_SCHEMA, inputs, settings, **kw))


def vectors(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute("SELECT encoder, count(*) FROM story_vectors GROUP BY 1").fetchall()
    return dict(rows)


def test_cascade_embeds_with_e5_only_where_the_use_model_is_unsure(
    conn: psycopg.Connection[Any],
) -> None:
    first, second = as_input(load_seed("000")), as_input(load_seed("001"))
    certain = learned.Models(
        replace(learned.CHEAP, threshold=0.01), learned.FULL, width=learned.CASCADE_WIDTH
    )
    story_of = run(conn, [first, second], DedupSettings(encoder="use+e5"), models=certain)
    assert story_of[first.id] == story_of[second.id]
    assert vectors(conn) == {"use": 2}  # far above the cheap threshold: no e5 needed


def test_cascade_rescored_articles_keep_their_e5_vectors(conn: psycopg.Connection[Any]) -> None:
    first, second = as_input(load_seed("000")), as_input(load_seed("001"))
    # A band that covers every probability: the e5 model decides every candidate.
    unsure = learned.Models(learned.CHEAP, learned.FULL, width=50.0)
    story_of = run(conn, [first, second], DedupSettings(encoder="use+e5"), models=unsure)
    assert story_of[first.id] == story_of[second.id]
    assert vectors(conn) == {"use": 2, "e5": 2}
    (score,) = conn.execute("SELECT score FROM article_links").fetchone()
    assert float(score) >= learned.FULL_THRESHOLD


def test_switching_the_encoder_embeds_stored_articles_on_demand(
    conn: psycopg.Connection[Any],
) -> None:
    first, second = as_input(load_seed("000")), as_input(load_seed("001"))
    story_of = run(conn, [first], DedupSettings(encoder="use"))
    assert vectors(conn) == {"use": 1}
    story_of |= run(conn, [second], DedupSettings(encoder="e5"))
    assert story_of[first.id] == story_of[second.id]
    assert vectors(conn) == {"use": 1, "e5": 2}


def test_dates_beyond_the_window_never_join(conn: psycopg.Connection[Any]) -> None:
    first, second = as_input(load_seed("000")), as_input(load_seed("001"))
    assert first.published
    assert second.published
    late = replace(second, published=first.published.replace(day=28))  # weeks later
    settings = DedupSettings(encoder="use", story_window_days=30)
    story_of = run(conn, [first, late], settings)
    assert story_of[first.id] != story_of[late.id]  # time prior: ~3 weeks cost ~25 logit


def test_the_store_step_weighs_the_prepared_draft_and_rebuilds_a_broken_one(
    conn: psycopg.Connection[Any],
) -> None:
    """The terms come from the staged features (prepared in a worker), not recomputed
    from the text; features whose draft does not read fall back to the text."""
    from pipeline.stories.engine import DedupInput, LayeredEngine

    seed = load_seed("000")
    text = "\n".join(seed.paragraphs)
    item = DedupInput("https://a.example/1", None, seed.title, text, "de", None, seed.published)
    engine = LayeredEngine(DedupSettings(encoder="use"))
    features = engine.prepare([item])[0]
    layer = engine.same_story
    other = replace(item, text="Völlig anderer Text über Fußball in Berlin und München.")
    assert set(layer._prepare(conn, other, features).profile.terms) == set(
        layer._prepare(conn, item, features).profile.terms
    )
    layer.forget(other)
    broken = {**features, "terms": {"counts": "not a mapping"}}
    rebuilt = layer._prepare(conn, other, broken).profile.terms
    assert "fussba" in rebuilt
    assert "astana" not in rebuilt
