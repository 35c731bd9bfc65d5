"""pipeline.analytics.fitting: the logistic fit, models per encoder refitted on training
pairs, the tf-idf baseline, and the whole-engine CV on a small labelled set (terms only,
so no model is loaded)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from newssite import load_fixture_articles, load_seed
from test_stories_engine import as_input

from pipeline.analytics import fitting
from pipeline.analytics.cv import Dataset
from pipeline.analytics.evaluation import LabelledPair, subsets
from pipeline.config import DedupSettings


def test_logistic_fit_separates_and_is_regularised() -> None:
    x = np.array([[0.0], [0.1], [0.2], [0.8], [0.9], [1.0]])
    y = np.array([0, 0, 0, 1, 1, 1], dtype=float)
    bias, w = fitting.fit_logistic(x, y, c=1.0)
    assert w[0] > 0
    assert -bias / w[0] == pytest.approx(0.5, abs=0.05)
    _, strong = fitting.fit_logistic(x, y, c=100.0)
    assert strong[0] > w[0]


def table(n: int = 40, seed: int = 0) -> fitting.PairTable:
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.4
    use = np.where(labels, 0.75, 0.35) + 0.1 * rng.standard_normal(n)
    terms = np.where(labels, 0.4, 0.1) + 0.05 * rng.standard_normal(n)
    cross = np.zeros(n, dtype=bool)
    cross[:4] = True
    days = np.full(n, math.nan)
    return fitting.PairTable({"use": use, "terms": terms}, cross, days, labels)


def test_models_are_fitted_on_the_training_pairs_only() -> None:
    pairs = table()
    train = np.arange(20)
    models = fitting.fit_models(pairs, train, "use")
    assert set(models.first.mono) == {"bias", "use", "terms"}
    assert set(models.first.cross) == {"bias", "use"}  # no term evidence across languages
    assert models.second is None
    p = fitting.probabilities(models.first, pairs, np.arange(20, 40))
    predicted = p >= models.first.threshold
    assert (predicted == pairs.labels[20:]).mean() > 0.8
    flipped = fitting.PairTable(pairs.columns, pairs.cross, pairs.days, pairs.labels.copy())
    flipped.labels[20:] = ~flipped.labels[20:]  # test labels must not matter
    assert fitting.fit_models(flipped, train, "use") == models
    terms_only = fitting.fit_models(pairs, train, "use", embeddings=False)
    assert set(terms_only.first.cross) == {"bias"}


def dataset() -> Dataset:
    """The fixture articles with labelled pairs: the SCO reports together, the rest apart."""
    articles = [as_input(a) for a in [load_seed("000"), load_seed("001"), *load_fixture_articles()]]
    stories = {
        a.slug: a.story for a in [load_seed("000"), load_seed("001"), *load_fixture_articles()]
    }
    pairs = []
    for i, a in enumerate(articles):
        for b in articles[i + 1 :]:
            pairs.append(
                LabelledPair(a.id, b.id, a.language, b.language, stories[a.id] == stories[b.id])
            )
    index = {a.id: n for n, a in enumerate(articles)}
    return Dataset(articles, pairs, index, [subsets(p) for p in pairs])


def test_tfidf_baseline_ranks_same_story_pairs_higher() -> None:
    data = dataset()
    scores = fitting.tfidf_cosines(data)
    labels = np.array([p.same_story for p in data.pairs])
    assert scores[labels].mean() > scores[~labels].mean()
    result = fitting.pairwise_cv(data, scores, 2, 1, "tf-idf")
    assert len(result.folds) == 2


def test_engine_cv_runs_the_engine_and_the_baselines(db_url: str) -> None:
    data = dataset()
    messages: list[str] = []
    results = fitting.engine_cv(
        data, DedupSettings(embeddings=False), k=2, url=db_url, progress=messages.append
    )
    assert [r.name for r in results] == ["engine (no encoder)", "tf-idf cosine"]
    assert all(len(r.folds) == 2 for r in results)
    assert results[0].pooled("overall").pairs == len(data.pairs)
    assert messages
