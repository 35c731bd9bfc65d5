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

import psycopg
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
    limit: int,
) -> list[int]:
    """Articles sharing the most keys with a new article, within ±window_days of its date
    (articles without a date are always eligible), best first."""
    hashes = sorted({key_hash(key) for key in keys})
    if published is None:
        rows = conn.execute(
            """SELECT article_id FROM story_postings WHERE key = ANY(%s)
               GROUP BY article_id ORDER BY count(*) DESC, article_id DESC LIMIT %s""",
            (hashes, limit),
        ).fetchall()
    else:
        window = timedelta(days=window_days)
        rows = conn.execute(
            """SELECT article_id FROM story_postings
               WHERE key = ANY(%(keys)s)
                 AND (published BETWEEN %(lo)s AND %(hi)s OR published IS NULL)
               GROUP BY article_id ORDER BY count(*) DESC, article_id DESC LIMIT %(limit)s""",
            {"keys": hashes, "lo": published - window, "hi": published + window, "limit": limit},
        ).fetchall()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class Member:
    article_id: int
    story_id: int
    profile: prof.ArticleProfile


def story_members(
    conn: psycopg.Connection[Any], article_ids: list[int], *, per_story: int
) -> dict[int, list[Member]]:
    """The stories of `article_ids`, each with its `per_story` most recent members
    (oldest first)."""
    if not article_ids:
        return {}
    rows = conn.execute(
        """SELECT m.article_id, m.story_id, m.language, m.published, m.terms, m.embedding
           FROM (SELECT DISTINCT story_id FROM story_profiles WHERE article_id = ANY(%s)) s
           CROSS JOIN LATERAL (
               SELECT * FROM story_profiles p WHERE p.story_id = s.story_id
               ORDER BY p.article_id DESC LIMIT %s) m""",
        (article_ids, per_story),
    ).fetchall()
    stories: dict[int, list[Member]] = {}
    for article_id, story_id, language, published, terms, embedding in rows:
        profile = prof.ArticleProfile(
            language=language,
            published=published,
            terms=terms,
            lead_terms={},
            entities=(),
            numbers=frozenset(),
            embedding=prof.embedding_from_bytes(embedding) if embedding is not None else None,
        )
        stories.setdefault(story_id, []).append(Member(article_id, story_id, profile))
    for members in stories.values():
        members.reverse()
    return stories
