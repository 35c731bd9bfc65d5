"""pipeline.analytics.evaluation: pairwise scores of a clustering against labelled pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.analytics.evaluation import LabelledPair, load_pairs, score_pairs, subsets


def test_undecided_pairs_are_skipped_and_bad_labels_named(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    lines = [
        {"id1": 1, "id2": 2, "lang1": "de", "lang2": "de", "same_story": 1},
        {"id1": 1, "id2": 3, "lang1": "de", "lang2": "en", "same_story": None},
        {"id1": 2, "id2": 3, "lang1": "de", "lang2": "en", "same_story": 0},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    assert load_pairs(path) == [
        LabelledPair("1", "2", "de", "de", True),
        LabelledPair("2", "3", "de", "en", False),
    ]
    path.write_text(json.dumps({"id1": 1, "id2": 2, "same_story": 2}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pairs.jsonl:1: same_story must be 0, 1 or null"):
        load_pairs(path)


def test_pairs_count_in_their_language_subsets() -> None:
    assert subsets(LabelledPair("a", "b", "de", "de", True)) == ["overall", "monolingual", "de-de"]
    assert subsets(LabelledPair("a", "b", "en", "de", True)) == [
        "overall",
        "cross-lingual",
        "de-en",
    ]
    assert subsets(LabelledPair("a", "b", "es", "es", True)) == ["overall", "monolingual"]


def test_precision_recall_f1_from_story_ids() -> None:
    pairs = [
        LabelledPair("a", "b", "de", "de", True),  # same story: true positive
        LabelledPair("a", "c", "de", "de", True),  # split: false negative
        LabelledPair("b", "d", "de", "de", False),  # joined: false positive
        LabelledPair("c", "d", "de", "de", False),  # apart: true negative
        LabelledPair("a", "x", "de", "de", True),  # x never clustered: predicted apart
    ]
    story_of = {"a": 1, "b": 1, "c": 2, "d": 1}
    scores = score_pairs(story_of, pairs)["de-de"]
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (1, 1, 2)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.f1 == pytest.approx(0.4)
