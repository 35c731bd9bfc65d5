"""Pairwise precision/recall/F1 of a story clustering against labelled article pairs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LabelledPair:
    id1: str
    id2: str
    lang1: str | None
    lang2: str | None
    same_story: bool


@dataclass
class PairScores:
    pairs: int = 0
    positives: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: bool, actual: bool) -> None:
        self.pairs += 1
        self.positives += actual
        self.true_positives += predicted and actual
        self.false_positives += predicted and not actual
        self.false_negatives += actual and not predicted


def load_pairs(path: Path) -> list[LabelledPair]:
    """Pairs with a decided label: `same_story` 1 or 0 (null: between the cut-offs, skipped)."""
    pairs = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            label = data.get("same_story")
            if label is None:
                continue
            if label not in (0, 1):
                raise ValueError(f"{path}:{number}: same_story must be 0, 1 or null")
            pairs.append(
                LabelledPair(
                    str(data["id1"]),
                    str(data["id2"]),
                    data.get("lang1"),
                    data.get("lang2"),
                    bool(label),
                )
            )
    return pairs


def subsets(pair: LabelledPair) -> list[str]:
    """The report rows a pair counts in."""
    names = ["overall"]
    if pair.lang1 and pair.lang1 == pair.lang2:
        names.append("monolingual")
        if pair.lang1 == "de":
            names.append("de-de")
    elif pair.lang1 and pair.lang2:
        names.append("cross-lingual")
        if {pair.lang1, pair.lang2} == {"de", "en"}:
            names.append("de-en")
    return names


def score_pairs(story_of: dict[str, int], pairs: Iterable[LabelledPair]) -> dict[str, PairScores]:
    """A pair is predicted "same story" when both articles got the same story id; a pair
    with an article missing from the clustering counts as predicted different."""
    scores: dict[str, PairScores] = {}
    for pair in pairs:
        a, b = story_of.get(pair.id1), story_of.get(pair.id2)
        predicted = a is not None and a == b
        for name in subsets(pair):
            scores.setdefault(name, PairScores()).add(predicted, pair.same_story)
    return scores
