"""The same-story layer: another report of an event a stored story already covers.

Candidates are the stored articles sharing the most index keys (top stems, rare entities,
LSH bands of the article's vector) within ±`dedup.story_window_days`; each candidate's
story is compared through its `MAX_MEMBERS` most recent members. Every member pair gets
its cosines (encoder vectors, tf-idf terms) and a probability from the learned model
(model.py), a story the mean of its best three; the best story is joined when it reaches
the threshold. With the `use+e5` cascade, articles whose best story is uncertain under the
USE model get e5 vectors (theirs and the rescored stories' members', embedded on demand
from stored text and kept in story_vectors) and the e5 model decides.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg

from ..config import DedupSettings
from . import encoders, similarity, state
from . import model as learned
from . import profile as prof
from .base import DedupInput, Features, Layer, StoryMatch

CANDIDATES_PER_KEY = 100  # postings read per candidate key (see state.candidate_articles)


@dataclass
class Prepared:
    """An article's profile against the statistics as they were at `match`, and its vectors
    (computed in `prepare` or on demand), kept until `remember` stores them."""

    profile: prof.ArticleProfile
    stats: state.TermStatsSnapshot
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


class SameStoryLayer:
    name = Layer.SAME_STORY

    def __init__(self, settings: DedupSettings, models: learned.Models | None = None) -> None:
        self.settings = settings
        chosen = models or learned.models_for(settings.encoder, settings.embeddings)
        if settings.same_story_threshold is not None:
            chosen = chosen.with_threshold(settings.same_story_threshold)
        self.models = chosen
        self.eager, self.on_demand = learned.encoders_of(settings.encoder, settings.embeddings)
        # One entry per article between `match` and `remember` (same transaction); `match`
        # drops an older entry, so none outlives the statistics it was built with.
        self._prepared: dict[str, Prepared] = {}

    # -- prepare (no database) --------------------------------------------------------------
    def vectors(self, items: Sequence[DedupInput]) -> list[dict[str, str]]:
        """The eager encoders' vectors of each item (base64 float16), one batch each."""
        out: list[dict[str, str]] = [{} for _ in items]
        for encoder in self.eager:
            matrix = encoders.embed_articles(encoder, [(i.title, i.text) for i in items])
            for slot, vector in zip(out, matrix, strict=True):
                slot[encoder] = base64.b64encode(encoders.to_bytes(vector)).decode("ascii")
        return out

    @staticmethod
    def terms(item: DedupInput) -> dict[str, Any]:
        """The corpus-free part of the item's profile (profile.TermDraft), JSON-able."""
        return prof.draft_terms(item.title, item.text, item.language).to_record()

    # -- match --------------------------------------------------------------------------------
    def _prepare(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> Prepared:
        found = self._prepared.get(item.canonical_url)
        if found is not None:
            return found
        draft = _draft_of(item, features)
        stats = state.load_term_stats(conn, draft.stems())
        profile = draft.complete(item.published_at.date() if item.published_at else None, stats)
        vectors = {
            name: encoders.from_bytes(base64.b64decode(data))
            for name, data in (features.get("vectors") or {}).items()
        }
        for encoder in self.eager:
            if encoder not in vectors:  # staged before embeddings were switched on
                vectors[encoder] = encoders.embed_articles(encoder, [(item.title, item.text)])[0]
        cap = self.settings.candidate_key_max_df
        keys = [
            key
            for key in similarity.candidate_keys(profile)
            if not key.startswith("t:") or stats.df(key[2:]) < cap
        ]
        if self.eager:
            keys += similarity.lsh_keys(vectors[self.eager[0]], self.eager[0])
        prepared = Prepared(profile, stats, vectors, keys)
        self._prepared[item.canonical_url] = prepared
        return prepared

    def forget(self, item: DedupInput) -> None:
        """Drop what an earlier `match` of the item kept: its row may have been rolled back
        (quarantined by the store step), and its statistics with it."""
        self._prepared.pop(item.canonical_url, None)

    def match(
        self, conn: psycopg.Connection[Any], item: DedupInput, features: Features
    ) -> StoryMatch | None:
        self.forget(item)
        prepared = self._prepare(conn, item, features)
        window = self.settings.story_window_days
        # One statement: the candidates, their stories' members and the members' vectors of
        # the first encoder (the one the first model needs alongside terms).
        found = state.candidate_members(
            conn,
            prepared.keys,
            prepared.profile.published,
            window_days=window,
            per_key=CANDIDATES_PER_KEY,
            limit=self.settings.max_candidates,
            per_story=learned.MAX_MEMBERS,
            terms=prepared.profile.terms,
            encoder=self.eager[0] if self.eager else None,
        )
        if not found.members:
            return None
        first = self.models.first
        scored = self._score(conn, item, prepared, found, found.members, first)
        best_p, best_story, closest = max(scored)
        threshold = first.threshold
        second = self.models.second
        low, high = self.models.band
        if second is not None and low <= best_p < high:
            chosen = {s for p, s, _ in sorted(scored, reverse=True)[: self.models.top] if p >= low}
            members = [m for m in found.members if m.story_id in chosen]
            rescored = self._score(conn, item, prepared, found, members, second)
            best_p, best_story, closest = max(rescored)
            threshold = second.threshold
        if best_p < threshold:
            return None
        return StoryMatch(Layer.SAME_STORY, closest, best_story, round(best_p, 4))

    def _score(
        self,
        conn: psycopg.Connection[Any],
        item: DedupInput,
        prepared: Prepared,
        found: state.Members,
        members: Sequence[state.Member],
        model: learned.Model,
    ) -> list[tuple[float, int, int]]:
        """(story probability, story, its closest member) of every story of `members`."""
        columns: dict[str, np.ndarray] = {"terms": found.term_cosines}
        for encoder in sorted(model.features - {"terms"}):
            columns[encoder] = self._cosines(conn, item, prepared, members, encoder, found)
        profile = prepared.profile
        by_story: dict[int, list[tuple[float, int]]] = {}
        for member in members:
            p = model.pair_probability(
                {name: float(values[member.row]) for name, values in columns.items()},
                cross=bool(
                    profile.language and member.language and profile.language != member.language
                ),
                days_apart=(
                    abs((profile.published - member.published).days)
                    if profile.published and member.published
                    else None
                ),
                window_days=self.settings.story_window_days,
            )
            by_story.setdefault(member.story_id, []).append((p, member.article_id))
        return [
            (learned.story_probability([p for p, _ in pairs]), story_id, max(pairs)[1])
            for story_id, pairs in by_story.items()
        ]

    def _cosines(
        self,
        conn: psycopg.Connection[Any],
        item: DedupInput,
        prepared: Prepared,
        members: Sequence[state.Member],
        encoder: str,
        found: state.Members,
    ) -> np.ndarray:
        """Cosines (indexed by member row) of the item's `encoder` vector with the members';
        vectors missing on either side are embedded now and kept."""
        mine = prepared.vectors.get(encoder)
        ids = [m.article_id for m in members]
        read = found.vectors.get(encoder)  # read along with the members
        stored = dict(read) if read is not None else state.load_vectors(conn, ids, encoder)
        missing = [i for i in dict.fromkeys(ids) if i not in stored]
        texts = state.article_texts(conn, missing) if missing else {}
        ready = [i for i in missing if i in texts]
        batch = [texts[i] for i in ready]
        if mine is None:
            batch.append((item.title, item.text))
        if batch:  # one model call for the article and the members that lack a vector
            made = encoders.embed_articles(encoder, batch)
            if mine is None:
                mine, made = made[-1], made[:-1]
                prepared.vectors[encoder] = mine
            new = dict(zip(ready, made, strict=True))
            state.save_vectors(conn, encoder, new)
            stored.update(new)
        assert mine is not None
        out = np.zeros(len(found.members), dtype=np.float64)
        for member in members:
            vector = stored.get(member.article_id)
            if vector is not None:
                out[member.row] = float(vector @ mine)
        return out

    # -- remember -----------------------------------------------------------------------------
    def remember(
        self,
        conn: psycopg.Connection[Any],
        article_id: int,
        story_id: int,
        item: DedupInput,
        features: Features,
    ) -> None:
        prepared = self._prepare(conn, item, features)
        del self._prepared[item.canonical_url]
        # Copies are members too: a later report may resemble the copy more than the
        # original, and every document counts towards the term statistics.
        state.save_profile(conn, article_id, story_id, prepared.profile, prepared.keys)
        state.count_document(conn, prepared.profile)
        for encoder, vector in prepared.vectors.items():
            state.save_vectors(conn, encoder, {article_id: vector})


def _draft_of(item: DedupInput, features: Features) -> prof.TermDraft:
    """The prepared term draft, or one made now from the text when the staged features lack
    it or it does not read (the text is the truth; the features are a cache of it)."""
    try:
        return prof.TermDraft.from_record(features["terms"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return prof.draft_terms(item.title, item.text, item.language)
