"""pipeline.stories.state: the story engine's SQL. Vectors are kept per encoder (the first
one stored wins), texts of stored articles are found for on-demand embedding, candidates
respect the date window."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import psycopg
from newssite import load_seed
from test_stories_engine import as_input

from pipeline.analytics.cluster import cluster_in_schema
from pipeline.config import DedupSettings
from pipeline.store import db
from pipeline.stories import state


def stored(conn: psycopg.Connection[Any]) -> list[int]:
    inputs = [as_input(load_seed("000")), as_input(load_seed("001"))]
    list(cluster_in_schema(conn, db.DEFAULT_SCHEMA, inputs, DedupSettings(encoder="use")))
    return [row[0] for row in conn.execute("SELECT id FROM articles ORDER BY id").fetchall()]


def test_vectors_are_kept_per_encoder(conn: psycopg.Connection[Any]) -> None:
    ids = stored(conn)
    use = state.load_vectors(conn, ids, "use")
    assert sorted(use) == ids
    assert all(v.shape == (512,) for v in use.values())
    assert state.load_vectors(conn, ids, "e5") == {}
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    state.save_vectors(conn, "e5", {ids[0]: vector})
    state.save_vectors(conn, "e5", {ids[0]: -vector})  # the first stored is kept
    (kept,) = state.load_vectors(conn, ids, "e5").values()
    assert float(kept @ vector) > 0.999
    assert state.load_vectors(conn, [], "use") == {}


def test_texts_of_stored_articles(conn: psycopg.Connection[Any]) -> None:
    ids = stored(conn)
    texts = state.article_texts(conn, [*ids, 10**9])
    assert sorted(texts) == ids
    _title, text = texts[ids[0]]
    assert "Astana" in text or "SOZ" in text


def test_candidates_are_within_the_window(conn: psycopg.Connection[Any]) -> None:
    ids = stored(conn)
    keys = [f"t:{t}" for t in ("astana", "gipfel", "putin", "organi", "schang")]
    found = state.candidate_articles(
        conn, keys, date(2024, 7, 3), window_days=7, per_key=100, limit=50
    )
    assert set(found) <= set(ids)
    assert found
    far = state.candidate_articles(
        conn, keys, date(2024, 9, 1), window_days=7, per_key=100, limit=50
    )
    assert far == []


def test_exact_and_near_copy_queries(conn: psycopg.Connection[Any]) -> None:
    ids = stored(conn)
    (text_hash,) = conn.execute(
        "SELECT text_hash FROM articles WHERE id = %s", (ids[0],)
    ).fetchone()
    assert state.same_text(conn, text_hash)[0] == ids[0]
    assert state.same_text(conn, "no such hash") is None
    assert state.near_copy_candidates(conn, [], 10) == []


def test_each_key_reads_its_earliest_postings_in_the_window(
    conn: psycopg.Connection[Any],
) -> None:
    # Postings only (an index: no profile or article rows needed). Key "a": one article a
    # day 1-20 June plus two undated; key "b": articles 1 and 15.
    day = date(2024, 6, 1)
    rows = [(state.key_hash("a"), date(2024, 6, n), n) for n in range(1, 21)]
    rows += [(state.key_hash("a"), None, 101), (state.key_hash("a"), None, 102)]
    rows += [(state.key_hash("b"), date(2024, 6, 1), 1), (state.key_hash("b"), day, 15)]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO story_postings (key, published, article_id) VALUES (%s, %s, %s)", rows
        )

    def found(published: date | None, per_key: int) -> list[int]:
        return state.candidate_articles(
            conn, ["a", "b"], published, window_days=3, per_key=per_key, limit=50
        )

    # 10 June ± 3 days: key a's articles 7-13 and the undated ones; b's are all outside.
    assert sorted(found(date(2024, 6, 10), 100)) == [7, 8, 9, 10, 11, 12, 13, 101, 102]
    # A common key contributes its per_key earliest-dated postings in the window.
    assert sorted(found(date(2024, 6, 10), 3)) == [7, 8, 9]
    # Undated postings come after the dated ones.
    assert sorted(found(date(2024, 6, 19), 4)) == [16, 17, 18, 19]
    assert sorted(found(date(2024, 6, 28), 4)) == [101, 102]
    # Articles sharing both keys rank first; an undated article sees every date.
    assert found(None, 100)[:2] == [15, 1]
    assert len(found(None, 100)) == 22


def test_candidate_members_is_one_statement_of_the_three(conn: psycopg.Connection[Any]) -> None:
    stored(conn)
    keys = [f"t:{t}" for t in ("astana", "gipfel", "putin", "organi", "schang")]
    terms = {"astana": 0.8, "gipfel": 0.6}
    window = {"window_days": 7, "per_key": 100, "limit": 50}
    for published in (date(2024, 7, 3), None):
        candidates = state.candidate_articles(conn, keys, published, **window)
        separate = state.story_members(conn, candidates, per_story=20, terms=terms)
        merged = state.candidate_members(
            conn, keys, published, **window, per_story=20, terms=terms, encoder="use"
        )
        assert merged.members == separate.members
        assert np.array_equal(merged.term_cosines, separate.term_cosines)
        vectors = state.load_vectors(conn, [m.article_id for m in separate.members], "use")
        assert sorted(merged.vectors["use"]) == sorted(vectors)
        assert all(np.array_equal(v, vectors[i]) for i, v in merged.vectors["use"].items())
    none = state.candidate_members(
        conn, keys, date(2024, 9, 1), **window, per_story=20, terms=terms, encoder="use"
    )
    assert none.members == []
    assert (
        state.candidate_members(conn, keys, None, **window, per_story=20, terms=terms).vectors == {}
    )
