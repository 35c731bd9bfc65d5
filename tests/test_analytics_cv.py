"""pipeline.analytics.cv: folds grouped by connected component of the pair graph, the
training-pairs threshold, per-fold scoring of a method, and the summary rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.analytics.cv import (
    best_threshold,
    component_folds,
    cross_validate,
    load_dataset,
    pair_components,
)
from pipeline.analytics.evaluation import LabelledPair


def pair(a: str, b: str, same: bool, l1: str = "de", l2: str = "de") -> LabelledPair:
    return LabelledPair(a, b, l1, l2, same)


def test_pairs_sharing_an_article_are_one_group_and_one_fold() -> None:
    pairs = [
        pair("a", "b", True),
        pair("b", "c", False),
        pair("d", "e", True),
        pair("f", "g", False),
    ]
    groups = pair_components(pairs)
    assert groups[0] == groups[1]
    assert len(set(groups)) == 3
    for seed in range(5):
        folds = component_folds(pairs, 2, seed)
        assert sorted(np.concatenate(folds).tolist()) == [0, 1, 2, 3]
        assert any({0, 1} <= set(f.tolist()) for f in folds)


def test_rare_positives_are_spread_over_folds() -> None:
    pairs = [pair(f"x{i}", f"y{i}", True, "de", "en") for i in range(3)]
    pairs += [pair(f"m{i}", f"n{i}", False, "en", "en") for i in range(6)]
    folds = component_folds(pairs, 3, seed=7)
    assert [sum(pairs[i].same_story for i in f) for f in folds] == [1, 1, 1]


def test_best_threshold_is_a_midpoint_between_scores() -> None:
    scores = np.array([0.9, 0.8, 0.4, 0.3])
    labels = np.array([True, True, False, False])
    assert (
        best_threshold(scores, labels) == 0.6000000000000001
        or abs(best_threshold(scores, labels) - 0.6) < 1e-9
    )
    assert best_threshold(scores, np.zeros(4, dtype=bool)) == float("inf")


def test_cross_validate_scores_only_test_pairs(tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    ids = ["a", "b", "c", "d", "e", "f"]
    articles.write_text(
        "".join(json.dumps({"id": i, "lang": "de", "text": f"Text {i}"}) + "\n" for i in ids)
        + "not json\n",
        encoding="utf-8",
    )
    pairs = tmp_path / "pairs.jsonl"
    rows = [("a", "b", 1), ("c", "d", 0), ("e", "f", 1), ("a", "zz", 1)]
    pairs.write_text(
        "".join(
            json.dumps({"id1": x, "id2": y, "lang1": "de", "lang2": "de", "same_story": s}) + "\n"
            for x, y, s in rows
        ),
        encoding="utf-8",
    )
    data = load_dataset(articles, pairs)
    assert [a.id for a in data.articles] == ids  # the bad line is skipped
    assert len(data.pairs) == 3  # the pair naming an unknown article is dropped
    assert load_dataset(tmp_path).pairs == data.pairs
    seen: list[list[int]] = []

    def everything_one_story(train: np.ndarray) -> dict[str, int]:
        seen.append(train.tolist())
        return dict.fromkeys(ids, 0)

    result = cross_validate(data, everything_one_story, k=3, seeds=range(2), name="one")
    assert len(seen) == 6
    assert all(len(train) == 2 for train in seen)
    pooled = result.pooled("de-de")
    assert (pooled.pairs, pooled.true_positives, pooled.false_positives) == (6, 4, 2)
    summary = result.summary()
    assert summary["de-de"]["pooled_recall"] == 1.0
    assert summary["de-de"]["pooled_precision"] == round(4 / 6, 4)
    assert "cross-lingual" not in summary
