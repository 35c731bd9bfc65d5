"""The copy layers: the same page (url), the same text (exact), a lightly edited copy
(near_copy). Each is one query against the state in state.py."""

from __future__ import annotations

from typing import Any

import psycopg

from ..config import DedupSettings
from . import copies, state
from .base import DedupInput, Features, Layer, StoryMatch, fingerprint_of

# The url layer's text check: share of the shorter text's shingles found in the other. Lower
# than a near copy's: the declaration is evidence of its own, and a syndicated version is
# often cut or extended; a page claiming an unrelated article shares next to nothing.
URL_MIN_CONTAINMENT = 0.5


class UrlLayer:
    """Syndicated pages name their original in rel=canonical; the original may also arrive
    after a copy that pointed at it. A declaration is evidence, not a command (only
    same-site ones are staged, see ingest._extracted): the texts must agree too."""

    name = Layer.URL

    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        declared = item.declared_url if item.declared_url != item.canonical_url else None
        fp = fingerprint_of(features)
        for article_id, story_id, minhash, shingles in state.url_candidates(
            conn, declared, item.canonical_url
        ):
            other = copies.CopyFingerprint.from_bytes(minhash, shingles)
            _, contained = copies.containment(fp, other)
            if contained >= URL_MIN_CONTAINMENT:
                return StoryMatch(Layer.URL, article_id, story_id, round(contained, 4))
        return None

    def remember(self, *_: object) -> None:
        """Reads the articles table and the near-copy signatures, which others write."""


class ExactLayer:
    """The same normalised text (textnorm.text_hash) as a stored article."""

    name = Layer.EXACT

    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        found = state.same_text(conn, features["text_hash"])
        return StoryMatch(Layer.EXACT, found[0], found[1], 1.0) if found else None

    def remember(self, *_: object) -> None:
        """The text hash is a column of the article row the store step writes."""


class NearCopyLayer:
    """MinHash containment of word shingles against articles sharing an LSH bucket."""

    name = Layer.NEAR_COPY

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings

    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        fp = fingerprint_of(features)
        if fp.shingle_count == 0:
            return None
        best: StoryMatch | None = None
        for article_id, story_id, minhash, shingles in state.near_copy_candidates(
            conn, copies.lsh_keys(fp), self.settings.max_candidates
        ):
            other = copies.CopyFingerprint.from_bytes(minhash, shingles)
            copy, score = copies.is_copy(fp, other, self.settings.near_copy_threshold)
            if copy and (best is None or score > best.score):
                best = StoryMatch(Layer.NEAR_COPY, article_id, story_id, score)
        return best

    def remember(
        self,
        conn: psycopg.Connection[Any],
        article_id: int,
        story_id: int,
        item: DedupInput,
        features: Features,
    ) -> None:
        # Also what the url layer compares texts with.
        fp = fingerprint_of(features)
        if fp.shingle_count:
            state.save_near_copy(
                conn, article_id, fp.to_bytes(), fp.shingle_count, copies.lsh_keys(fp)
            )
