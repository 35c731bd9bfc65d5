"""The story engine: which existing story, if any, a new article belongs to.

The seam the rest of the pipeline sees is `StoryEngine`:
- `prepare` is pure and runs where the article was extracted (in parallel, no database),
  so expensive features travel with the staged row instead of being computed under the
  store step's lock;
- `match` and `remember` run inside the store transaction, serialised by a row
  lock, and keep all state in PostgreSQL so any number of workers share it.

`LayeredEngine` tries the cheapest evidence first: same canonical URL, then the exact
text hash, then near-copy MinHash buckets, then the same-story model (candidates from an
inverted index within a time window, scored against each candidate story's recent members).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import psycopg

from ..config import DedupSettings
from ..textnorm import text_hash
from . import copies, similarity, state
from . import profile as prof

# 3: word units of scripts written without spaces (textnorm) changed their copy fingerprints
FEATURES_VERSION = 3
# Postings read per candidate key (see state.candidate_articles).
CANDIDATES_PER_KEY = 100
# The url layer's text check: share of the shorter text's shingles found in the other. Lower
# than a near copy's: the declaration is evidence of its own, and a syndicated version is
# often cut or extended; a page claiming an unrelated article shares next to nothing.
URL_MIN_CONTAINMENT = 0.5


class Layer(StrEnum):
    URL = "url"
    EXACT = "exact"
    NEAR_COPY = "near_copy"
    SAME_STORY = "same_story"


@dataclass(frozen=True)
class DedupInput:
    """What the engine sees of an article."""

    canonical_url: str
    declared_url: str | None  # canonical form of the page's rel=canonical, if any
    title: str | None
    text: str
    language: str | None
    published_at: datetime | None
    event_time: datetime  # published_at, else fetched_at


@dataclass(frozen=True)
class StoryMatch:
    layer: Layer
    matched_article_id: int
    story_id: int
    score: float


Features = dict[str, Any]


class StoryEngine(Protocol):
    def prepare(self, items: Sequence[DedupInput]) -> list[Features]:
        """State-free features for each item, JSON-serialisable (stored with the staged row)."""
        ...

    def features_are_current(self, features: Features | None) -> bool:
        """False for missing features or ones an older engine version computed."""
        ...

    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        """The story `item` belongs to, or None for a new story."""
        ...

    def remember(
        self,
        conn: psycopg.Connection[Any],
        article_id: int,
        story_id: int,
        item: DedupInput,
        features: Features,
    ) -> None:
        """Index the stored article so later articles can match it."""
        ...


class LayeredEngine:
    """url → exact → near-copy → same story, each layer a query against indexed state."""

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        # Profiles (and the statistics they were built with) from `match`, stored by
        # `remember`: same transaction, same article. `match` drops any older entry of the
        # article, so none outlives the statistics it was built with.
        self._profiles: dict[str, tuple[prof.ArticleProfile, state.TermStatsSnapshot]] = {}

    # -- prepare -------------------------------------------------------------------------
    def prepare(self, items: Sequence[DedupInput]) -> list[Features]:
        """Copy fingerprints and, in one batch, the embeddings (the costly part)."""
        embeddings: list[str | None] = [None] * len(items)
        if self.settings.embeddings and items:
            vectors = prof.embed_texts([prof.embedding_text(i.title, i.text) for i in items])
            embeddings = [_b64(prof.embedding_to_bytes(vector)) for vector in vectors]
        return [
            {**self._copy_features(item), "embedding": embedding}
            for item, embedding in zip(items, embeddings, strict=True)
        ]

    def _copy_features(self, item: DedupInput) -> Features:
        fp = copies.fingerprint(
            item.text, shingle_size=self.settings.shingle_size, num_perm=self.settings.num_perm
        )
        return {
            "v": FEATURES_VERSION,
            "text_hash": text_hash(item.text),
            "minhash": _b64(fp.to_bytes()),
            "shingles": fp.shingle_count,
        }

    def features_are_current(self, features: Features | None) -> bool:
        return bool(features) and features.get("v") == FEATURES_VERSION

    # -- match ---------------------------------------------------------------------------
    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        # A profile cached by an earlier match whose row was rolled back (quarantined by
        # the store step) was built on statistics that are gone: never reuse it.
        self._profiles.pop(item.canonical_url, None)
        return (
            self._match_url(conn, item, features)
            or self._match_exact(conn, features)
            or self._match_near_copy(conn, features)
            or self._match_same_story(conn, item, features)
        )

    def _match_url(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        # Syndicated pages name their original in rel=canonical; the original may also
        # arrive after a copy that pointed at it. A declaration is evidence, not a command
        # (only same-site ones are staged, see ingest._extracted): the texts must agree too.
        declared = item.declared_url if item.declared_url != item.canonical_url else None
        rows = conn.execute(
            """SELECT a.id, a.story_id, s.minhash, s.shingles FROM articles a
               JOIN near_copy_signatures s ON s.article_id = a.id
               WHERE a.canonical_url = %(declared)s OR a.declared_url = %(declared)s
                  OR a.declared_url = %(own)s
               ORDER BY a.id LIMIT 5""",
            {"declared": declared, "own": item.canonical_url},
        ).fetchall()
        fp = _fingerprint_of(features)
        for article_id, story_id, minhash, shingle_count in rows:
            other = copies.CopyFingerprint.from_bytes(minhash, shingle_count)
            _, contained = copies.containment(fp, other)
            if contained >= URL_MIN_CONTAINMENT:
                return StoryMatch(Layer.URL, article_id, story_id, round(contained, 4))
        return None

    def _match_exact(self, conn: psycopg.Connection[Any], features: Features) -> StoryMatch | None:
        row = conn.execute(
            "SELECT id, story_id FROM articles WHERE text_hash = %s ORDER BY id LIMIT 1",
            (features["text_hash"],),
        ).fetchone()
        return StoryMatch(Layer.EXACT, row[0], row[1], 1.0) if row else None

    def _match_near_copy(
        self, conn: psycopg.Connection[Any], features: Features
    ) -> StoryMatch | None:
        fp = _fingerprint_of(features)
        if fp.shingle_count == 0:
            return None
        rows = conn.execute(
            """SELECT s.article_id, a.story_id, s.minhash, s.shingles
               FROM (SELECT article_id, count(*) AS shared FROM near_copy_buckets
                     WHERE bucket = ANY(%s) GROUP BY article_id
                     ORDER BY shared DESC, article_id LIMIT %s) AS c
               JOIN near_copy_signatures s USING (article_id)
               JOIN articles a ON a.id = s.article_id""",
            (copies.lsh_keys(fp), self.settings.max_candidates),
        ).fetchall()
        best: StoryMatch | None = None
        for article_id, story_id, minhash, shingle_count in rows:
            other = copies.CopyFingerprint.from_bytes(minhash, shingle_count)
            copy, score = copies.is_copy(fp, other, self.settings.near_copy_threshold)
            if copy and (best is None or score > best.score):
                best = StoryMatch(Layer.NEAR_COPY, article_id, story_id, score)
        return best

    def _profile(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> prof.ArticleProfile:
        """The article's profile against the corpus statistics as they are now (before the
        article itself is counted). Kept until `remember` stores it."""
        cached = self._profiles.get(item.canonical_url)
        if cached is not None:
            return cached[0]
        stats = state.load_term_stats(conn, prof.stems_of(item.title, item.text))
        embedding = features.get("embedding")
        profile = prof.build_profile(
            item.title,
            item.text,
            item.language,
            item.published_at.date() if item.published_at else None,
            stats,
            embedding=prof.embedding_from_bytes(base64.b64decode(embedding)) if embedding else None,
            diagnostics=False,
        )
        self._profiles[item.canonical_url] = (profile, stats)
        return profile

    def _keys(self, item: DedupInput) -> list[str]:
        """Candidate keys of a profiled article, without terms so common that their posting
        lists would cost more to scan than they say about the story."""
        profile, stats = self._profiles[item.canonical_url]
        cap = self.settings.candidate_key_max_df
        return [
            key
            for key in similarity.candidate_keys(profile)
            if not key.startswith("t:") or stats.df(key[2:]) < cap
        ]

    def _match_same_story(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        profile = self._profile(conn, item, features)
        candidates = state.candidate_articles(
            conn,
            self._keys(item),
            profile.published,
            window_days=self.settings.story_window_days,
            per_key=CANDIDATES_PER_KEY,
            limit=self.settings.max_candidates,
        )
        found = state.story_members(
            conn, candidates, per_story=similarity.MAX_MEMBERS, terms=profile.terms
        )
        cosines = (
            found.embeddings @ profile.embedding
            if found.embeddings is not None and profile.embedding is not None
            else np.zeros(len(found.members))
        )
        scored: dict[int, list[tuple[float, int]]] = {}
        for member in found.members:
            score = similarity.score_signals(
                embedding=float(cosines[member.row]),
                terms=float(found.term_cosines[member.row]),
                cross_lingual=bool(
                    profile.language and member.language and profile.language != member.language
                ),
                days_apart=(
                    abs((profile.published - member.published).days)
                    if profile.published and member.published
                    else None
                ),
            )
            scored.setdefault(member.story_id, []).append((score, member.article_id))
        best: StoryMatch | None = None
        for story_id, pairs in scored.items():
            score = similarity.aggregate_member_scores([score for score, _ in pairs])
            if score >= self.settings.same_story_threshold and (best is None or score > best.score):
                closest = max(pairs)[1]
                best = StoryMatch(Layer.SAME_STORY, closest, story_id, round(score, 4))
        return best

    # -- remember ------------------------------------------------------------------------
    def remember(
        self,
        conn: psycopg.Connection[Any],
        article_id: int,
        story_id: int,
        item: DedupInput,
        features: Features,
    ) -> None:
        profile = self._profile(conn, item, features)
        keys = self._keys(item)
        del self._profiles[item.canonical_url]
        # Copies are members too: a later report may resemble the copy more than the
        # original, and every document counts towards the term statistics.
        state.save_profile(conn, article_id, story_id, profile, keys)
        state.count_document(conn, profile)
        fp = _fingerprint_of(features)
        if fp.shingle_count == 0:
            return
        conn.execute(
            "INSERT INTO near_copy_signatures (article_id, minhash, shingles) VALUES (%s, %s, %s)",
            (article_id, fp.to_bytes(), fp.shingle_count),
        )
        conn.execute(
            """INSERT INTO near_copy_buckets (bucket, article_id)
               SELECT unnest(%s::bigint[]), %s ON CONFLICT DO NOTHING""",
            (sorted(set(copies.lsh_keys(fp))), article_id),
        )


def _fingerprint_of(features: Features) -> copies.CopyFingerprint:
    return copies.CopyFingerprint.from_bytes(
        base64.b64decode(features["minhash"]), int(features["shingles"])
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
