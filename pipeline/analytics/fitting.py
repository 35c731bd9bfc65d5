"""Fitting the same-story models on labelled pairs, and the pairwise baselines: what
`eval-dedup --cv K` refits inside each fold and bench/story_cv.py fits on all pairs.

Pair features are computed as the engine computes them: tf-idf term profiles built in file
order against the statistics of the articles before (profile.InMemoryTermStats, as the
engine's Postgres counts grow), encoder vectors as the engine embeds them
(stories.encoders). A model is two L2 logistic regressions (C=1, standardised features,
bias unpenalised: sklearn's default) on the monolingual training pairs, the cross-lingual
one over the encoder cosines only; its threshold is the cut with the best pairwise F1 of
the training pairs' probabilities (time prior included). The pairwise view is the one the
shipped top-3 aggregation needs: a story's probability is the mean of its best members'.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..config import DedupSettings
from ..stories import encoders
from ..stories import model as learned
from ..stories import profile as prof
from ..stories.similarity import cosine
from .cv import CVResult, Dataset, best_threshold, component_folds, cross_validate
from .evaluation import score_pairs


@dataclass(frozen=True)
class PairTable:
    """Per labelled pair (data.pairs order): cosines by feature name, cross-lingual flag,
    days apart (NaN: a date unknown), label."""

    columns: dict[str, np.ndarray]
    cross: np.ndarray
    days: np.ndarray
    labels: np.ndarray


def article_vectors(data: Dataset, encoder: str) -> np.ndarray:
    """Every article's `encoder` vector (memoised per process by encoders.embed)."""
    items = [(a.title, a.text) for a in data.articles]
    out = []
    for start in range(0, len(items), 64):
        out.append(encoders.embed_articles(encoder, items[start : start + 64]))
    return np.vstack(out) if out else np.zeros((0, encoders.DIMS[encoder]), dtype=np.float32)


def term_profiles(data: Dataset) -> list[prof.ArticleProfile]:
    """Term profiles in file order, each against the statistics of the articles before."""
    stats = prof.InMemoryTermStats()
    out = []
    for a in data.articles:
        profile = prof.build_profile(
            a.title, a.text, a.language, a.published, stats, diagnostics=False
        )
        stats.add(profile)
        out.append(profile)
    return out


def pair_table(data: Dataset, vectors: dict[str, np.ndarray]) -> PairTable:
    profiles = term_profiles(data)
    a = np.array([data.index[p.id1] for p in data.pairs], dtype=int)
    b = np.array([data.index[p.id2] for p in data.pairs], dtype=int)
    columns = {
        "terms": np.array(
            [cosine(profiles[i].terms, profiles[j].terms) for i, j in zip(a, b, strict=True)]
        )
    }
    for encoder, matrix in vectors.items():
        columns[encoder] = np.einsum("ij,ij->i", matrix[a], matrix[b]).astype(np.float64)
    cross, days = [], []
    for i, j in zip(a, b, strict=True):
        p, q = profiles[i], profiles[j]
        cross.append(bool(p.language and q.language and p.language != q.language))
        days.append(
            abs((p.published - q.published).days) if p.published and q.published else math.nan
        )
    labels = np.array([p.same_story for p in data.pairs], dtype=bool)
    return PairTable(columns, np.array(cross), np.array(days, dtype=float), labels)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> tuple[float, np.ndarray]:
    """L2-regularised logistic regression (bias unpenalised), as sklearn's C; Newton steps."""
    n, d = x.shape
    design = np.hstack([np.ones((n, 1)), x])
    w = np.zeros(d + 1)
    penalty = np.eye(d + 1) / c
    penalty[0, 0] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        grad = design.T @ (p - y) + penalty @ w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), w[1:]


def fit_weights(table: PairTable, rows: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """Weights on the raw features of a logistic fit on standardised ones (so the penalty
    treats e5's cosines, squeezed into [0.75, 1], like USE's spread over [0, 1])."""
    y = table.labels[rows].astype(float)
    if not names or len(set(y.tolist())) < 2:
        # Nothing to weigh, or one class only (a tiny fold): the smoothed base rate.
        share = (y.sum() + 0.5) / (len(y) + 1.0)
        return {"bias": math.log(share / (1 - share)), **dict.fromkeys(names, 0.0)}
    x = np.column_stack([table.columns[name][rows] for name in names])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    bias, w = fit_logistic((x - mean) / std, y)
    raw = w / std
    return {"bias": float(bias - raw @ mean), **dict(zip(names, map(float, raw), strict=True))}


def probabilities(model: learned.Model, table: PairTable, rows: np.ndarray) -> np.ndarray:
    names = [n for n in table.columns if n in model.features]
    return np.array(
        [
            model.pair_probability(
                {name: float(table.columns[name][r]) for name in names},
                cross=bool(table.cross[r]),
                days_apart=None if math.isnan(table.days[r]) else float(table.days[r]),
                window_days=10**6,  # the window is the engine's; the prior applies here
            )
            for r in rows
        ]
    )


def fit_model(table: PairTable, train: np.ndarray, names: Sequence[str]) -> learned.Model:
    """A model over `names` (cosine features), fitted on the training pairs."""
    mono = train[~table.cross[train]]
    cross_names = [n for n in names if n != "terms"]
    # The cross-lingual model is fitted on the monolingual pairs too (too few labelled
    # cross-lingual ones); the encoders' spaces are aligned across languages.
    model = learned.Model(
        fit_weights(table, mono, names), fit_weights(table, mono, cross_names), 0.5
    )
    cut = best_threshold(probabilities(model, table, train), table.labels[train])
    return learned.Model(model.mono, model.cross, float(min(1.0, max(0.0, cut))))


# Features of each model, by the encoders it reads.
FEATURES = {
    "cheap": ("use", "terms"),
    "full": ("e5", "use", "terms"),
    "e5": ("e5", "terms"),
    "terms": ("terms",),
}


def fit_models(
    table: PairTable, train: np.ndarray, encoder: str, embeddings: bool = True
) -> learned.Models:
    """The models `dedup.encoder` decides with, fitted on the training pairs."""
    if not embeddings:
        return learned.Models(fit_model(table, train, FEATURES["terms"]))
    if encoder == "use":
        return learned.Models(fit_model(table, train, FEATURES["cheap"]))
    if encoder == "e5":
        return learned.Models(fit_model(table, train, FEATURES["e5"]))
    return learned.Models(
        fit_model(table, train, FEATURES["cheap"]), fit_model(table, train, FEATURES["full"])
    )


def tfidf_cosines(data: Dataset) -> np.ndarray:
    """Word tf-idf cosine of each pair, idf over the whole file (the usual offline baseline)."""
    docs = [
        Counter(token.lower() for token in prof.tokenize(prof.article_text(a.title, a.text)))
        for a in data.articles
    ]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    n = len(docs)
    vectors = []
    for doc in docs:
        vec = {t: (1 + math.log(c)) * math.log(n / df[t]) for t, c in doc.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items()})
    return np.array(
        [cosine(vectors[data.index[p.id1]], vectors[data.index[p.id2]]) for p in data.pairs]
    )


def pairwise_cv(data: Dataset, scores: np.ndarray, k: int, repeats: int, name: str) -> CVResult:
    """A baseline: a pair is "same story" when its score reaches the cut that is best on
    the fold's training pairs."""
    labels = np.array([p.same_story for p in data.pairs])
    folds = []
    for seed in range(repeats):
        for test in component_folds(data.pairs, k, seed):
            train = np.setdiff1d(np.arange(len(data.pairs)), test)
            cut = best_threshold(scores[train], labels[train])
            story_of: dict[str, int] = {}
            for n, i in enumerate(test):
                pair = data.pairs[i]
                story_of[pair.id1] = 2 * n
                story_of[pair.id2] = 2 * n if scores[i] >= cut else 2 * n + 1
            folds.append(score_pairs(story_of, [data.pairs[i] for i in test]))
    return CVResult(name, folds)


def engine_cv(
    data: Dataset,
    settings: DedupSettings,
    *,
    k: int,
    repeats: int = 1,
    url: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[CVResult]:
    """Out-of-sample scores of the whole engine (its models refitted on each fold's
    training pairs, all articles clustered by `cluster` in PostgreSQL, the fold's test
    pairs scored), then the baselines of the same folds: tf-idf cosine and each
    encoder's cosine at the training pairs' best cut."""
    from .cluster import cluster

    names = ("use", "e5") if settings.embeddings else ()
    vectors = {}
    for encoder in names:
        progress(f"embedding {len(data.articles)} articles with {encoder}")
        vectors[encoder] = article_vectors(data, encoder)
    table = pair_table(data, vectors)
    fixed = settings.same_story_threshold

    def method(train: np.ndarray) -> dict[str, int]:
        models = fit_models(table, train, settings.encoder, settings.embeddings)
        if fixed is not None:
            models = models.with_threshold(fixed)
        return dict(cluster(data.articles, settings, url=url, models=models))

    label = f"engine ({settings.encoder if settings.embeddings else 'no encoder'})"
    progress(f"cross-validating the engine: {k} folds x {repeats}, each clustering all articles")
    results = [cross_validate(data, method, k=k, seeds=range(repeats), name=label)]
    results.append(pairwise_cv(data, tfidf_cosines(data), k, repeats, "tf-idf cosine"))
    for encoder in names:
        results.append(pairwise_cv(data, table.columns[encoder], k, repeats, f"{encoder} cosine"))
    return results
