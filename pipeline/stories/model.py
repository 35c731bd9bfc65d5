"""The same-story decision: logistic models over an article's similarity to each recent
member of a candidate story, the story's probability the mean of its best three members.

Per member the features are cosines: `use` (USE v3, title + text), `e5` (multilingual-e5-
small, title + lead), `terms` (tf-idf stems). A monolingual pair is scored by the
monolingual model; a pair in two known, different languages by the cross-lingual one, over
the encoders' cosines only (term overlap across languages is no evidence either way). e5
places translations further apart than same-language texts: cross-lingual e5 cosines get
`E5_CROSS_SHIFT` added (an unsupervised constant: the mean cosine of random same-language
pairs minus that of random cross-language pairs of the dev articles).

Time is a prior set by hand, not fitted (both dates are known for only 11 of the 381
labelled dev pairs): two articles further apart than the story window are never the same
story; beyond `TIME_GRACE_DAYS` every day costs `TIME_PENALTY` in logit.

Which model decides depends on `dedup.encoder` (see `models_for`): `use` the cheap model;
`e5` the e5 model; `use+e5` a cascade: the cheap model decides unless its best story lies
within ±`CASCADE_WIDTH` logit of its threshold, then the e5 model rescores the best
`CASCADE_TOP` candidate stories and decides; without embeddings, the terms-only model.

FITTED CONSTANTS: printed by (grouped-CV figures: README, `news-ingest eval-dedup --cv 5`)

    .venv/bin/python bench/story_cv.py --data ../shared/data/semeval22-dev \\
        --fit e5+use+terms/top3 --threshold pairwise --cascade 0.5 --cascade-top 1 \\
        --cascade-cheap use+terms/top3
    (and --fit e5+terms/top3, --fit terms/top3 for the other two models)

on all 381 labelled dev pairs, weights by L2 logistic regression (C=1, standardised
features) on the monolingual pairs, threshold the pairwise-F1-best cut of the training
pairs. `news-ingest eval-dedup --cv K` refits the same models inside each fold
(pipeline/analytics/fitting.py) and so tells how well these constants generalise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

# --- fitted constants (see module docstring) ----------------------------------------------
CHEAP_MONO = {"bias": -6.451, "use": 7.348, "terms": 6.024}
CHEAP_CROSS = {"bias": -7.426, "use": 11.589}
CHEAP_THRESHOLD = 0.441
FULL_MONO = {"bias": -35.032, "e5": 35.806, "use": 4.609, "terms": 0.79}
FULL_CROSS = {"bias": -35.838, "e5": 36.695, "use": 4.991}
FULL_THRESHOLD = 0.452
E5_MONO = {"bias": -37.16, "e5": 40.432, "terms": 3.828}
E5_CROSS = {"bias": -44.073, "e5": 49.385}
E5_THRESHOLD = 0.456
TERMS_MONO = {"bias": -3.888, "terms": 12.968}
TERMS_CROSS = {"bias": -1.04}  # P 0.26: across languages terms alone never join
TERMS_THRESHOLD = 0.312
E5_CROSS_SHIFT = 0.037

# --- set by hand ---------------------------------------------------------------------------
CASCADE_WIDTH = 0.5  # logit: the cheap model's uncertain band around its threshold
CASCADE_TOP = 1  # candidate stories the e5 model rescores
TIME_GRACE_DAYS = 2
TIME_PENALTY = 1.25
MAX_MEMBERS = 20  # a story is compared through its most recent members
TOP_MEMBERS = 3  # its probability: the mean of the best three (one lucky member is not enough)


def _sigmoid(z: float) -> float:
    if z == -math.inf:
        return 0.0
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float) -> float:
    return math.log(p / (1.0 - p)) if 0.0 < p < 1.0 else math.copysign(math.inf, p - 0.5)


@dataclass(frozen=True)
class Model:
    """Two logistic models (monolingual, cross-lingual) and the join threshold."""

    mono: Mapping[str, float]  # "bias" + weight per feature
    cross: Mapping[str, float]
    threshold: float

    @property
    def features(self) -> frozenset[str]:
        return frozenset(self.mono) - {"bias"} | frozenset(self.cross) - {"bias"}

    def pair_probability(
        self,
        signals: Mapping[str, float],
        *,
        cross: bool,
        days_apart: float | None,
        window_days: int,
    ) -> float:
        """P(same story) of one pair from its cosines; 0 beyond the story window."""
        if days_apart is not None and days_apart > window_days:
            return 0.0
        weights = self.cross if cross else self.mono
        z = weights["bias"] + sum(
            w * (signals[name] + (E5_CROSS_SHIFT if cross and name == "e5" else 0.0))
            for name, w in weights.items()
            if name != "bias"
        )
        if days_apart is not None and days_apart > TIME_GRACE_DAYS:
            z -= TIME_PENALTY * (days_apart - TIME_GRACE_DAYS)
        return _sigmoid(z)


def story_probability(member_probabilities: Sequence[float], top: int = TOP_MEMBERS) -> float:
    """Mean of the `top` best member probabilities (all of them in a smaller story)."""
    if not member_probabilities:
        return 0.0
    best = sorted(member_probabilities, reverse=True)[:top]
    return sum(best) / len(best)


@dataclass(frozen=True)
class Models:
    """What the same-story layer decides with: `first` always; `second` (the e5 model of
    the cascade) only for articles whose best story falls in [low, high) under `first`."""

    first: Model
    second: Model | None = None
    width: float = CASCADE_WIDTH
    top: int = CASCADE_TOP

    @property
    def band(self) -> tuple[float, float]:
        z = logit(self.first.threshold)
        return _sigmoid(z - self.width), _sigmoid(z + self.width)

    def with_threshold(self, threshold: float) -> Models:
        """Both models deciding at `threshold` (config's dedup.same_story_threshold)."""
        second = replace(self.second, threshold=threshold) if self.second else None
        return replace(self, first=replace(self.first, threshold=threshold), second=second)


CHEAP = Model(CHEAP_MONO, CHEAP_CROSS, CHEAP_THRESHOLD)
FULL = Model(FULL_MONO, FULL_CROSS, FULL_THRESHOLD)
E5_ONLY = Model(E5_MONO, E5_CROSS, E5_THRESHOLD)
TERMS_ONLY = Model(TERMS_MONO, TERMS_CROSS, TERMS_THRESHOLD)


def models_for(encoder: str, embeddings: bool = True) -> Models:
    """The shipped models of a `dedup.encoder` value (`embeddings: false`: terms only)."""
    if not embeddings:
        return Models(TERMS_ONLY)
    if encoder == "use":
        return Models(CHEAP)
    if encoder == "e5":
        return Models(E5_ONLY)
    if encoder == "use+e5":
        return Models(CHEAP, FULL)
    raise ValueError(f"unknown encoder {encoder!r}")


def encoders_of(encoder: str, embeddings: bool = True) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(encoders every article is embedded with when prepared, encoders used on demand)."""
    if not embeddings:
        return (), ()
    return {"use": (("use",), ()), "e5": (("e5",), ()), "use+e5": (("use",), ("e5",))}[encoder]
