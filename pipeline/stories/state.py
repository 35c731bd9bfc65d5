"""The same-story layer's state in PostgreSQL: term statistics, profiles, postings.

Every function takes the store transaction's connection; the caller holds the assign lock,
so reads and the writes that follow them are consistent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from . import profile as prof


@dataclass(frozen=True)
class TermStatsSnapshot:
    """Document frequencies of the terms one article needs, read in one query
    (profile.TermStats)."""

    doc_count: int
    counts: dict[str, int]

    def df(self, term: str) -> int:
        return self.counts.get(term, 0)


def load_term_stats(conn: psycopg.Connection[Any], terms: Iterable[str]) -> TermStatsSnapshot:
    row = conn.execute(
        """SELECT (SELECT doc_count FROM story_corpus),
                  (SELECT coalesce(jsonb_object_agg(term, df), '{}'::jsonb)
                   FROM story_terms WHERE term = ANY(%s))""",
        (sorted(set(terms)),),
    ).fetchone()
    assert row is not None
    return TermStatsSnapshot(int(row[0] or 0), row[1])


def count_document(conn: psycopg.Connection[Any], profile: prof.ArticleProfile) -> None:
    """Add one article to the statistics: each of its stored terms once."""
    conn.execute(
        """INSERT INTO story_terms (term, df) SELECT unnest(%s::text[]), 1
           ON CONFLICT (term) DO UPDATE SET df = story_terms.df + 1""",
        (sorted(profile.terms),),
    )
    conn.execute("UPDATE story_corpus SET doc_count = doc_count + 1")


def key_hash(key: str) -> int:
    """Signed 64-bit hash of a candidate key (compact, uniformly spread index keys)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass(frozen=True)
class TermVector:
    """A tf-idf stem vector as stored: sorted stem hashes and their weights."""

    hashes: np.ndarray  # int64, sorted
    weights: np.ndarray  # float32, L2-normalised

    @classmethod
    def of(cls, terms: dict[str, float]) -> TermVector:
        pairs = sorted((key_hash(term), weight) for term, weight in terms.items())
        return cls(
            np.array([h for h, _ in pairs], dtype="<i8"),
            np.array([w for _, w in pairs], dtype="<f4"),
        )

    def cosines(
        self, hashes: np.ndarray, weights: np.ndarray, owner: np.ndarray, n: int
    ) -> np.ndarray:
        """Dot product with each of `n` vectors given concatenated: (hash, weight) entries
        with `owner` saying which vector each entry belongs to."""
        if len(self.hashes) == 0 or len(hashes) == 0:
            return np.zeros(n, dtype=np.float64)
        position = np.searchsorted(self.hashes, hashes)
        position[position == len(self.hashes)] = 0
        shared = self.hashes[position] == hashes
        products = weights[shared].astype(np.float64) * self.weights[position[shared]]
        return np.bincount(owner[shared], weights=products, minlength=n)


def save_profile(
    conn: psycopg.Connection[Any],
    article_id: int,
    story_id: int,
    profile: prof.ArticleProfile,
    keys: list[str],
) -> None:
    vector = TermVector.of(profile.terms)
    conn.execute(
        """INSERT INTO story_profiles (article_id, story_id, language, published, term_hashes,
               term_weights, entities, embedding)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            article_id,
            story_id,
            profile.language,
            profile.published,
            vector.hashes.tobytes(),
            vector.weights.tobytes(),
            list(profile.entities),
            prof.embedding_to_bytes(profile.embedding) if profile.embedding is not None else None,
        ),
    )
    conn.execute(
        """INSERT INTO story_postings (key, published, article_id)
           SELECT unnest(%s::bigint[]), %s, %s""",
        (sorted({key_hash(key) for key in keys}), profile.published, article_id),
    )


def candidate_articles(
    conn: psycopg.Connection[Any],
    keys: list[str],
    published: date | None,
    *,
    window_days: int,
    per_key: int,
    limit: int,
) -> list[int]:
    """Articles sharing the most keys with a new article, best first.

    Only articles within ±window_days of its date are candidates (articles without a date
    always are; an article without a date sees all). Each key contributes at most `per_key`
    postings: a key shared by more articles than that is common, weak evidence, and
    reading its whole list would make the lookup grow with the corpus.
    """
    hashes = sorted({key_hash(key) for key in keys})
    if published is None:
        window = sql.SQL("TRUE")
        params: dict[str, Any] = {}
    else:
        window = sql.SQL("(p.published BETWEEN %(lo)s AND %(hi)s OR p.published IS NULL)")
        params = {
            "lo": published - timedelta(days=window_days),
            "hi": published + timedelta(days=window_days),
        }
    rows = conn.execute(
        sql.SQL(
            """SELECT c.article_id FROM unnest(%(keys)s::bigint[]) AS k(key)
               CROSS JOIN LATERAL (
                   SELECT p.article_id FROM story_postings p
                   WHERE p.key = k.key AND {window} LIMIT %(per_key)s) c
               GROUP BY c.article_id ORDER BY count(*) DESC, c.article_id DESC
               LIMIT %(limit)s"""
        ).format(window=window),
        {"keys": hashes, "per_key": per_key, "limit": limit, **params},
    ).fetchall()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class Member:
    """A stored article of a candidate story; `row` indexes the members' term cosines and
    embedding matrix returned alongside."""

    article_id: int
    story_id: int
    language: str | None
    published: date | None
    row: int


@dataclass(frozen=True)
class Members:
    members: list[Member]
    term_cosines: np.ndarray  # (n,) against the new article's terms
    embeddings: np.ndarray | None  # (n, 512) float32, None when embeddings are off


def story_members(
    conn: psycopg.Connection[Any],
    article_ids: list[int],
    *,
    per_story: int,
    terms: dict[str, float],
) -> Members:
    """The stories of `article_ids`, each with its `per_story` most recent members, with
    every member's term cosine and embedding computed in bulk (no per-member decoding)."""
    if not article_ids:
        return Members([], np.zeros(0), None)
    rows = conn.execute(
        """SELECT m.article_id, m.story_id, m.language, m.published,
                  m.term_hashes, m.term_weights, m.embedding
           FROM (SELECT DISTINCT story_id FROM story_profiles
                 WHERE article_id = ANY(%s)) s
           CROSS JOIN LATERAL (
               SELECT * FROM story_profiles p WHERE p.story_id = s.story_id
               ORDER BY p.article_id DESC LIMIT %s) m""",
        (article_ids, per_story),
    ).fetchall()
    members = [Member(row[0], row[1], row[2], row[3], index) for index, row in enumerate(rows)]
    hashes = np.frombuffer(b"".join(row[4] for row in rows), dtype="<i8")
    weights = np.frombuffer(b"".join(row[5] for row in rows), dtype="<f4")
    owner = np.repeat(np.arange(len(rows)), [len(row[4]) // 8 for row in rows])
    term_cosines = TermVector.of(terms).cosines(hashes, weights, owner, len(rows))
    embeddings = None
    if rows and all(row[6] is not None for row in rows):
        # One conversion for all members: float16 storage → float32 (already unit length).
        blob = b"".join(row[6] for row in rows)
        embeddings = np.frombuffer(blob, dtype="<f2").reshape(len(rows), -1).astype(np.float32)
    return Members(members, term_cosines, embeddings)
