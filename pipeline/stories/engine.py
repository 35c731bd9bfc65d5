"""The story engine: which existing story, if any, a new article belongs to.

The seam the rest of the pipeline sees is `StoryEngine`:
- `prepare` is pure and runs where the article was extracted (in parallel, no database),
  so expensive features (copy fingerprints, encoder vectors) travel with the staged row
  instead of being computed under the store step's lock;
- `match` and `remember` run inside the store transaction, serialised by a row
  lock, and keep all state in PostgreSQL (state.py) so any number of workers share it.

`LayeredEngine` asks its layers in order, cheapest evidence first: the same page (url),
the same text (exact), a near copy, then the same story (learned model). Which layers
match is `dedup.layers`; every layer remembers every article, so a layer switched on later
finds the articles stored while it was off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from ..config import DedupSettings
from ..textnorm import text_hash
from . import copies
from . import model as learned
from .base import DedupInput, EngineLayer, Features, Layer, StoryMatch, b64
from .layers import ExactLayer, NearCopyLayer, UrlLayer
from .same_story import SameStoryLayer

__all__ = ["DedupInput", "Features", "Layer", "LayeredEngine", "StoryEngine", "StoryMatch"]

# 3: word units of scripts written without spaces (textnorm) changed their copy fingerprints
# 4: encoder vectors keyed by encoder ("vectors") instead of one USE "embedding"
# 5: the corpus-free part of the same-story profile ("terms", profile.TermDraft)
FEATURES_VERSION = 5


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
    """The active layers of `dedup.layers`, in the order url → exact → near_copy →
    same_story; `models` replaces the shipped same-story models (eval-dedup --cv)."""

    def __init__(self, settings: DedupSettings, models: learned.Models | None = None) -> None:
        self.settings = settings
        self.same_story = SameStoryLayer(settings, models)
        self.layers: list[EngineLayer] = [
            UrlLayer(),
            ExactLayer(),
            NearCopyLayer(settings),
            self.same_story,
        ]
        active = set(settings.layers)
        self.active = [layer for layer in self.layers if layer.name.value in active]

    def prepare(self, items: Sequence[DedupInput]) -> list[Features]:
        """Copy fingerprints, the same-story profile's corpus-free part (tokens, counts,
        background frequencies, entities, language) and, in one batch per encoder, the
        vectors (the costly part): everything the store step would otherwise compute
        serially under its lock."""
        vectors = self.same_story.vectors(items) if items else []
        return [
            {**self._copy_features(item), "terms": self.same_story.terms(item), "vectors": found}
            for item, found in zip(items, vectors, strict=True)
        ]

    def _copy_features(self, item: DedupInput) -> Features:
        fp = copies.fingerprint(
            item.text, shingle_size=self.settings.shingle_size, num_perm=self.settings.num_perm
        )
        return {
            "v": FEATURES_VERSION,
            "text_hash": text_hash(item.text),
            "minhash": b64(fp.to_bytes()),
            "shingles": fp.shingle_count,
        }

    def features_are_current(self, features: Features | None) -> bool:
        return bool(features) and features.get("v") == FEATURES_VERSION

    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        self.same_story.forget(item)
        for layer in self.active:
            found = layer.match(conn, item, features)
            if found is not None:
                return found
        return None

    def remember(
        self,
        conn: psycopg.Connection[Any],
        article_id: int,
        story_id: int,
        item: DedupInput,
        features: Features,
    ) -> None:
        for layer in self.layers:
            layer.remember(conn, article_id, story_id, item, features)
