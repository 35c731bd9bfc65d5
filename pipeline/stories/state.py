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
from psycopg.types.json import Jsonb

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
    wanted = sorted(set(terms))
    row = conn.execute("SELECT doc_count FROM story_corpus").fetchone()
    rows = conn.execute(
        "SELECT term, df FROM story_terms WHERE term = ANY(%s)", (wanted,)
    ).fetchall()
    return TermStatsSnapshot(int(row[0]) if row else 0, dict(rows))


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


def save_profile(
    conn: psycopg.Connection[Any],
    article_id: int,
    story_id: int,
    profile: prof.ArticleProfile,
    keys: list[str],
) -> None:
    conn.execute(
        """INSERT INTO story_profiles
               (article_id, story_id, language, published, terms, entities, embedding)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (
            article_id,
            story_id,
            profile.language,
            profile.published,
            Jsonb({term: round(weight, 4) for term, weight in profile.terms.items()}),
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
    """A stored article of a candidate story, with its term cosine against the new
    article (computed in SQL) and its row in the members' embedding matrix."""

    article_id: int
    story_id: int
    language: str | None
    published: date | None
    term_cosine: float
    row: int | None


def story_members(
    conn: psycopg.Connection[Any],
    article_ids: list[int],
    *,
    per_story: int,
    terms: dict[str, float],
) -> tuple[list[Member], np.ndarray | None]:
    """The stories of `article_ids`, each with its `per_story` most recent members, and
    those members' embeddings as one (n, 512) matrix.

    The term cosine is computed by PostgreSQL (each of the new article's terms looked up in
    the member's jsonb), so only one number per member crosses the wire and nothing has to
    be decoded from JSON here.
    """
    if not article_ids:
        return [], None
    rows = conn.execute(
        """SELECT m.article_id, m.story_id, m.language, m.published, m.embedding,
                  (SELECT coalesce(sum((m.terms ->> q.term)::float8 * q.weight), 0)
                   FROM unnest(%(terms)s::text[], %(weights)s::float8[]) AS q(term, weight))
           FROM (SELECT DISTINCT story_id FROM story_profiles
                 WHERE article_id = ANY(%(ids)s)) s
           CROSS JOIN LATERAL (
               SELECT * FROM story_profiles p WHERE p.story_id = s.story_id
               ORDER BY p.article_id DESC LIMIT %(per_story)s) m""",
        {
            "ids": article_ids,
            "per_story": per_story,
            "terms": list(terms),
            "weights": list(terms.values()),
        },
    ).fetchall()
    members: list[Member] = []
    blobs: list[bytes] = []
    for article_id, story_id, language, published, embedding, term_cosine in rows:
        row = None
        if embedding is not None:
            row = len(blobs)
            blobs.append(embedding)
        members.append(Member(article_id, story_id, language, published, float(term_cosine), row))
    matrix = None
    if blobs:
        # One conversion for all members: float16 storage → float32 (already unit length).
        matrix = np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), -1)
        matrix = matrix.astype(np.float32)
    return members, matrix
