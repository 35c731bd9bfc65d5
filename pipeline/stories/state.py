"""All story-engine state in PostgreSQL, and every query the layers run on it: the url,
exact and near-copy lookups, near-copy signatures, and the same-story layer's term
statistics, profiles, postings and encoder vectors.

Every function takes the store transaction's connection; the caller holds the assign lock,
so reads and the writes that follow them are consistent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from . import encoders
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
               term_weights, entities)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (
            article_id,
            story_id,
            profile.language,
            profile.published,
            vector.hashes.tobytes(),
            vector.weights.tobytes(),
            list(profile.entities),
        ),
    )
    conn.execute(
        """INSERT INTO story_postings (key, published, article_id)
           SELECT unnest(%s::bigint[]), %s, %s""",
        (sorted({key_hash(key) for key in keys}), profile.published, article_id),
    )


def _candidates_sql(dated: bool) -> sql.Composed:
    """The candidate_articles statement (also the candidates of candidate_members)."""
    if dated:
        # Two range scans of the (key, published) index, dated then undated (the order the
        # index holds them in, so the first per_key are read and no more): one condition
        # with OR would read the key's postings from its oldest date on, or visit the heap
        # row of each through a bitmap, either of which grows with the corpus.
        postings = sql.SQL(
            """(SELECT p.article_id, p.published FROM story_postings p
                WHERE p.key = k.key AND p.published BETWEEN %(lo)s AND %(hi)s
                ORDER BY p.published LIMIT %(per_key)s)
               UNION ALL
               (SELECT p.article_id, p.published FROM story_postings p
                WHERE p.key = k.key AND p.published IS NULL LIMIT %(per_key)s)
               ORDER BY published LIMIT %(per_key)s"""
        )
    else:
        postings = sql.SQL(
            """SELECT p.article_id FROM story_postings p WHERE p.key = k.key
               ORDER BY p.published LIMIT %(per_key)s"""
        )
    return sql.SQL(
        """SELECT c.article_id FROM unnest(%(keys)s::bigint[]) AS k(key)
           CROSS JOIN LATERAL ({postings}) c
           GROUP BY c.article_id ORDER BY count(*) DESC, c.article_id DESC
           LIMIT %(limit)s"""
    ).format(postings=postings)


def _candidates_params(
    keys: list[str], published: date | None, *, window_days: int, per_key: int, limit: int
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "keys": sorted({key_hash(key) for key in keys}),
        "per_key": per_key,
        "limit": limit,
    }
    if published is not None:
        params["lo"] = published - timedelta(days=window_days)
        params["hi"] = published + timedelta(days=window_days)
    return params


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
    postings, the earliest-dated in the window first (then the undated): a key shared by
    more articles than that is common, weak evidence, and reading its whole list would make
    the lookup grow with the corpus.
    """
    query = _candidates_sql(published is not None)
    params = _candidates_params(
        keys, published, window_days=window_days, per_key=per_key, limit=limit
    )
    return [row[0] for row in conn.execute(query, params).fetchall()]


@dataclass(frozen=True)
class Member:
    """A stored article of a candidate story; `row` indexes the members' term cosines."""

    article_id: int
    story_id: int
    language: str | None
    published: date | None
    row: int


@dataclass(frozen=True)
class Members:
    members: list[Member]
    term_cosines: np.ndarray  # (n,) against the new article's terms
    # encoder → stored vectors of the members that have one, for the encoders read along
    vectors: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)


# A story's most recent members, with their profiles.
_MEMBERS = """SELECT m.article_id, m.story_id, m.language, m.published,
                     m.term_hashes, m.term_weights{vector}
              FROM (SELECT DISTINCT story_id FROM story_profiles
                    WHERE {articles}) s
              CROSS JOIN LATERAL (
                  SELECT * FROM story_profiles p WHERE p.story_id = s.story_id
                  ORDER BY p.article_id DESC LIMIT %(per_story)s) m{vector_join}"""


def story_members(
    conn: psycopg.Connection[Any],
    article_ids: list[int],
    *,
    per_story: int,
    terms: dict[str, float],
) -> Members:
    """The stories of `article_ids`, each with its `per_story` most recent members, with
    every member's term cosine computed in bulk (no per-member decoding)."""
    if not article_ids:
        return Members([], np.zeros(0))
    query = sql.SQL(_MEMBERS).format(
        vector=sql.SQL(""),
        articles=sql.SQL("article_id = ANY(%(ids)s)"),
        vector_join=sql.SQL(""),
    )
    rows = conn.execute(query, {"ids": article_ids, "per_story": per_story}).fetchall()
    return _members(rows, terms, None)


def candidate_members(
    conn: psycopg.Connection[Any],
    keys: list[str],
    published: date | None,
    *,
    window_days: int,
    per_key: int,
    limit: int,
    per_story: int,
    terms: dict[str, float],
    encoder: str | None = None,
) -> Members:
    """story_members of candidate_articles in one statement, with the members' stored
    `encoder` vectors read along (load_vectors), saving two round trips per article."""
    params = _candidates_params(
        keys, published, window_days=window_days, per_key=per_key, limit=limit
    )
    query = sql.SQL(_MEMBERS).format(
        vector=sql.SQL(", v.vector" if encoder else ""),
        articles=sql.SQL("article_id IN ({})").format(_candidates_sql(published is not None)),
        vector_join=sql.SQL(
            """ LEFT JOIN story_vectors v
                  ON v.article_id = m.article_id AND v.encoder = %(encoder)s"""
            if encoder
            else ""
        ),
    )
    rows = conn.execute(query, {**params, "per_story": per_story, "encoder": encoder}).fetchall()
    return _members(rows, terms, encoder)


def _members(rows: list[Any], terms: dict[str, float], encoder: str | None) -> Members:
    if not rows:
        return Members([], np.zeros(0))
    members = [Member(row[0], row[1], row[2], row[3], index) for index, row in enumerate(rows)]
    hashes = np.frombuffer(b"".join(row[4] for row in rows), dtype="<i8")
    weights = np.frombuffer(b"".join(row[5] for row in rows), dtype="<f4")
    owner = np.repeat(np.arange(len(rows)), [len(row[4]) // 8 for row in rows])
    term_cosines = TermVector.of(terms).cosines(hashes, weights, owner, len(rows))
    vectors = (
        {encoder: _decode_vectors([(r[0], r[6]) for r in rows if r[6] is not None])}
        if encoder
        else {}
    )
    return Members(members, term_cosines, vectors)


# --- encoder vectors -------------------------------------------------------------------------


def load_vectors(
    conn: psycopg.Connection[Any], article_ids: list[int], encoder: str
) -> dict[int, np.ndarray]:
    """The stored `encoder` vectors of those articles that have one."""
    if not article_ids:
        return {}
    rows = conn.execute(
        "SELECT article_id, vector FROM story_vectors WHERE article_id = ANY(%s) AND encoder = %s",
        (article_ids, encoder),
    ).fetchall()
    return _decode_vectors(rows)


def _decode_vectors(rows: list[tuple[int, bytes]]) -> dict[int, np.ndarray]:
    if not rows:
        return {}
    # One conversion for all: float16 storage -> float32 (stored unit length).
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f2").reshape(len(rows), -1)
    return {r[0]: v for r, v in zip(rows, matrix.astype(np.float32), strict=True)}


def save_vectors(
    conn: psycopg.Connection[Any], encoder: str, vectors: dict[int, np.ndarray]
) -> None:
    """Store vectors of articles (an existing one of the same encoder is kept)."""
    if not vectors:
        return
    ids = sorted(vectors)
    conn.execute(
        """INSERT INTO story_vectors (article_id, encoder, vector)
           SELECT unnest(%s::bigint[]), %s, unnest(%s::bytea[]) ON CONFLICT DO NOTHING""",
        (ids, encoder, [encoders.to_bytes(vectors[i]) for i in ids]),
    )


def article_texts(
    conn: psycopg.Connection[Any], article_ids: list[int]
) -> dict[int, tuple[str | None, str]]:
    """(title, text) of stored articles: what an encoder embeds on demand."""
    if not article_ids:
        return {}
    rows = conn.execute(
        "SELECT id, title, text FROM articles WHERE id = ANY(%s)", (article_ids,)
    ).fetchall()
    return {row[0]: (row[1], row[2] or "") for row in rows}


# --- url, exact, near-copy -----------------------------------------------------------------


def url_candidates(
    conn: psycopg.Connection[Any], declared: str | None, own: str
) -> list[tuple[int, int, bytes, int]]:
    """(article, story, minhash, shingles) of stored articles that are the page `declared`
    names, declare that page too, or declare the new article's own URL."""
    rows = conn.execute(
        """SELECT a.id, a.story_id, s.minhash, s.shingles FROM articles a
           JOIN near_copy_signatures s ON s.article_id = a.id
           WHERE a.canonical_url = %(declared)s OR a.declared_url = %(declared)s
              OR a.declared_url = %(own)s
           ORDER BY a.id LIMIT 5""",
        {"declared": declared, "own": own},
    ).fetchall()
    return [(r[0], r[1], bytes(r[2]), r[3]) for r in rows]


def same_text(conn: psycopg.Connection[Any], text_hash: str) -> tuple[int, int] | None:
    """(article, story) of the first stored article with this text hash."""
    row = conn.execute(
        "SELECT id, story_id FROM articles WHERE text_hash = %s ORDER BY id LIMIT 1",
        (text_hash,),
    ).fetchone()
    return (row[0], row[1]) if row else None


def near_copy_candidates(
    conn: psycopg.Connection[Any], buckets: list[int], limit: int
) -> list[tuple[int, int, bytes, int]]:
    """(article, story, minhash, shingles) of the stored articles sharing most buckets."""
    rows = conn.execute(
        """SELECT s.article_id, a.story_id, s.minhash, s.shingles
           FROM (SELECT article_id, count(*) AS shared FROM near_copy_buckets
                 WHERE bucket = ANY(%s) GROUP BY article_id
                 ORDER BY shared DESC, article_id LIMIT %s) AS c
           JOIN near_copy_signatures s USING (article_id)
           JOIN articles a ON a.id = s.article_id""",
        (buckets, limit),
    ).fetchall()
    return [(r[0], r[1], bytes(r[2]), r[3]) for r in rows]


def save_near_copy(
    conn: psycopg.Connection[Any],
    article_id: int,
    minhash: bytes,
    shingles: int,
    buckets: list[int],
) -> None:
    conn.execute(
        "INSERT INTO near_copy_signatures (article_id, minhash, shingles) VALUES (%s, %s, %s)",
        (article_id, minhash, shingles),
    )
    conn.execute(
        """INSERT INTO near_copy_buckets (bucket, article_id)
           SELECT unnest(%s::bigint[]), %s ON CONFLICT DO NOTHING""",
        (sorted(set(buckets)), article_id),
    )
