"""Grouped K-fold cross-validation of a story clustering on labelled article pairs
(`news-ingest eval-dedup --cv K`, bench/story_cv.py).

* Folds: pairs are grouped by connected component of the pair graph (two pairs sharing an
  article are in one group), so no article's label is seen on both sides of a fold. Groups
  are dealt round-robin after a seeded shuffle, the groups holding rare positives first
  (de-en, then de-de, then any positive), so every fold gets its share of them.
* Fitting: whatever a method fits (weights, thresholds) it fits on the training pairs only.
* Scoring: the method clusters the articles (all of them, in file order, as
  `news-ingest cluster` would) and only the test fold's pairs are counted, with
  `evaluation.score_pairs` (overall, monolingual, de-de, cross-lingual, de-en).
* Report: per subset the mean and standard deviation of the per-fold F1, and the
  precision, recall and F1 of the counts pooled over all folds (more stable where a fold
  holds only a few positives).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cluster import InputArticle, InputError, parse_line
from .evaluation import LabelledPair, PairScores, load_pairs, score_pairs, subsets

SUBSET_ORDER = ("overall", "monolingual", "de-de", "cross-lingual", "de-en")


@dataclass(frozen=True)
class Dataset:
    articles: list[InputArticle]  # file order, parsed exactly as `cluster` parses them
    pairs: list[LabelledPair]  # decided pairs (same_story 0/1) over those articles
    index: dict[str, int]  # article id → position in `articles`
    pair_subsets: list[list[str]]  # report rows each pair counts in


def load_dataset(articles: Path, pairs: Path | None = None) -> Dataset:
    """Articles (JSON lines as for `cluster`) and labelled pairs; `articles` alone names a
    folder holding articles.jsonl and pairs.jsonl. Pairs naming unknown articles and
    unusable article lines are dropped."""
    if pairs is None:
        articles, pairs = articles / "articles.jsonl", articles / "pairs.jsonl"
    parsed: list[InputArticle] = []
    with articles.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    parsed.append(parse_line(line, n))
                except InputError:
                    continue
    index = {article.id: i for i, article in enumerate(parsed)}
    kept = [p for p in load_pairs(pairs) if p.id1 in index and p.id2 in index]
    return Dataset(parsed, kept, index, [subsets(p) for p in kept])


def pair_components(pairs: Sequence[LabelledPair]) -> list[int]:
    """Connected component (a representative pair index) of every pair."""
    parent = list(range(len(pairs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_pair_of: dict[str, int] = {}
    for i, pair in enumerate(pairs):
        for article in (pair.id1, pair.id2):
            j = first_pair_of.setdefault(article, i)
            parent[find(i)] = find(j)
    return [find(i) for i in range(len(pairs))]


def _stratum(pairs: Sequence[LabelledPair]) -> int:
    """0 for groups holding the rarest positives (de-en), then de-de, any, none."""
    positives = [p for p in pairs if p.same_story]
    if any({p.lang1, p.lang2} == {"de", "en"} for p in positives):
        return 0
    if any(p.lang1 == p.lang2 == "de" for p in positives):
        return 1
    return 2 if positives else 3


def component_folds(pairs: Sequence[LabelledPair], k: int, seed: int = 0) -> list[np.ndarray]:
    """k disjoint arrays of pair indices, grouped by component, rare positives spread."""
    members: dict[int, list[int]] = defaultdict(list)
    for i, group in enumerate(pair_components(pairs)):
        members[group].append(i)
    groups = list(members)
    np.random.default_rng(seed).shuffle(groups)
    groups.sort(key=lambda g: _stratum([pairs[i] for i in members[g]]))  # stable: shuffled
    folds: list[list[int]] = [[] for _ in range(k)]
    for n, group in enumerate(groups):
        folds[n % k].extend(members[group])
    return [np.array(sorted(fold), dtype=int) for fold in folds]


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The cut maximising pairwise F1 of `score >= cut` on (training) pairs: the midpoint
    between the lowest score kept and the next lower one, so that unseen scores close to
    a training score are not decided by which side of it they fall."""
    labels = labels.astype(bool)
    if not labels.any():
        return math.inf
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], labels[order]
    tp = np.cumsum(hits)
    f1 = 2 * tp / (np.arange(1, len(hits) + 1) + labels.sum())
    f1[:-1][ranked[:-1] == ranked[1:]] = -1  # cut only between distinct scores
    best = int(f1.argmax())
    if best + 1 < len(ranked):
        return float((ranked[best] + ranked[best + 1]) / 2)
    return float(ranked[best])


Clustering = dict[str, int]  # article id → story id
# A method under CV: given the training pair indices, cluster the articles.
Method = Callable[[np.ndarray], Clustering]


@dataclass
class CVResult:
    """Per-fold scores of one method."""

    name: str
    folds: list[dict[str, PairScores]]

    def f1s(self, subset: str) -> list[float]:
        # A fold without positives in the subset has no F1 (its false positives still
        # count in `pooled`).
        return [fold[subset].f1 for fold in self.folds if subset in fold and fold[subset].positives]

    def pooled(self, subset: str) -> PairScores:
        total = PairScores()
        for fold in self.folds:
            s = fold.get(subset)
            if s is None:
                continue
            total.pairs += s.pairs
            total.positives += s.positives
            total.true_positives += s.true_positives
            total.false_positives += s.false_positives
            total.false_negatives += s.false_negatives
        return total

    def summary(self) -> dict[str, dict[str, float]]:
        """Per subset with positives: mean and sd of the fold F1s, pooled P/R/F1."""
        out = {}
        for subset in SUBSET_ORDER:
            f1s = self.f1s(subset)
            if not f1s:
                continue
            pooled = self.pooled(subset)
            out[subset] = {
                "f1_mean": round(float(np.mean(f1s)), 4),
                "f1_std": round(float(np.std(f1s)), 4),
                "pooled_precision": round(pooled.precision, 4),
                "pooled_recall": round(pooled.recall, 4),
                "pooled_f1": round(pooled.f1, 4),
                "pairs": pooled.pairs,
                "positives": pooled.positives,
            }
        return out

    def row(self, subset: str) -> str:
        f1s = self.f1s(subset)
        pooled = self.pooled(subset)
        return (
            f"{np.mean(f1s):.3f}±{np.std(f1s):.3f} "
            f"(pooled P{pooled.precision:.2f} R{pooled.recall:.2f} F{pooled.f1:.3f})"
        )


def cross_validate(
    data: Dataset, method: Method, *, k: int = 5, seeds: Iterable[int] = (0,), name: str = ""
) -> CVResult:
    """Per fold: `method(train pair indices)` clusters; the fold's test pairs are scored."""
    folds = []
    for seed in seeds:
        for test in component_folds(data.pairs, k, seed):
            train = np.setdiff1d(np.arange(len(data.pairs)), test)
            story_of = method(train)
            folds.append(score_pairs(story_of, [data.pairs[i] for i in test]))
    return CVResult(name, folds)
