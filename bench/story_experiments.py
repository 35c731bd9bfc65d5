"""Story-dedup experiments on SemEval-2022 task 8 dev: the numbers behind pipeline.stories.

Streams the articles IN FILE ORDER through an in-memory copy of the story engine built from
the production functions (profile.build_profile, similarity.candidate_keys,
similarity.story_score), then scores pairwise precision / recall / F1 on the labelled
pairs (same_story 1/0; null ignored): overall, monolingual, de-de and cross-lingual.

Also printed, from the same run:
* baselines: plain word TF-IDF cosine and USE cosine, best single threshold per subset
  (pairwise and in-sample, i.e. optimistic);
* per-signal and feature-set comparisons (pairwise, grouped CV) - what did and did not help;
* the engine with all pairs as candidates (recall lost to the inverted index);
* aggregation variants (max / mean / top-3 / centroid) and a threshold sweep;
* grouped 5-fold CV of the whole engine: weights and threshold fitted on the training
  folds, the stream run with them, F1 counted on the test folds' pairs only;
* the seed / hard-negative fixtures of tests/ scored with the shipped constants;
* timing (embedding, profiles, assignment) in articles per second.

    .venv/bin/python bench/story_experiments.py --data /work/shared/data/semeval22-dev
    .venv/bin/python bench/story_experiments.py --data ... --fit   # refit the constants

Needs only numpy (the logistic regression is a few lines of Newton's method below).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import story_pairs as sim

from pipeline.analytics.fitting import fit_logistic
from pipeline.stories import profile as prof

WINDOW_DAYS = sim.STORY_WINDOW_DAYS  # config.DedupSettings.story_window_days
MAX_CANDIDATES = 50  # config.DedupSettings.max_candidates
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"

# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    id: str
    lang: str | None
    title: str | None
    text: str
    published: date | None


@dataclass(frozen=True)
class Pair:
    a: int  # article index (file order)
    b: int
    lang1: str
    lang2: str
    same: bool

    @property
    def mono(self) -> bool:
        return self.lang1 == self.lang2


def load(data: Path) -> tuple[list[Article], list[Pair]]:
    articles: list[Article] = []
    with (data / "articles.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            published = date.fromisoformat(row["date"]) if row.get("date") else None
            articles.append(Article(row["id"], row["lang"], row["title"], row["text"], published))
    index = {article.id: i for i, article in enumerate(articles)}
    pairs: list[Pair] = []
    with (data / "pairs.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("same_story") is None or row["id1"] not in index or row["id2"] not in index:
                continue
            a, b = sorted((index[row["id1"]], index[row["id2"]]))
            pairs.append(Pair(a, b, row["lang1"], row["lang2"], bool(row["same_story"])))
    return articles, pairs


SUBSETS: dict[str, Callable[[Pair], bool]] = {
    "overall": lambda p: True,
    "mono": lambda p: p.mono,
    "de-de": lambda p: p.lang1 == p.lang2 == "de",
    "cross": lambda p: not p.mono,
}

# --- metrics --------------------------------------------------------------------------------


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        self.tp += predicted and actual
        self.fp += predicted and not actual
        self.fn += actual and not predicted

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return p, r, 2 * p * r / (p + r) if p + r else 0.0


def subset_counts(pairs: Sequence[Pair], predicted: Sequence[bool]) -> dict[str, Counts]:
    out = {name: Counts() for name in SUBSETS}
    for pair, pred in zip(pairs, predicted, strict=True):
        for name, member in SUBSETS.items():
            if member(pair):
                out[name].add(pred, pair.same)
    return out


def fmt(counts: dict[str, Counts], f1_only: bool = False) -> str:
    parts = []
    for name, c in counts.items():
        p, r, f = c.prf()
        parts.append(f"{name} {f:.3f}" if f1_only else f"{name} P{p:.2f} R{r:.2f} F1 {f:.3f}")
    return " | ".join(parts)


def best_threshold_f1(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(best F1, threshold) of `score >= threshold` over all thresholds."""
    if labels.sum() == 0:
        return 0.0, math.inf
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], labels[order]
    tp = np.cumsum(hits)
    k = np.arange(1, len(hits) + 1)
    f1 = 2 * tp / (k + labels.sum())
    f1[:-1][ranked[:-1] == ranked[1:]] = 0  # only cut between distinct scores
    best = int(f1.argmax())
    return float(f1[best]), float(ranked[best])


def best_threshold_row(pairs: Sequence[Pair], scores: np.ndarray) -> str:
    labels = np.array([p.same for p in pairs], dtype=float)
    parts = []
    for name, member in SUBSETS.items():
        mask = np.array([member(p) for p in pairs])
        f, t = best_threshold_f1(scores[mask], labels[mask])
        parts.append(f"{name} {f:.3f}@{t:.2f}")
    return " | ".join(parts)


# --- logistic regression (offline fitting only) ---------------------------------------------


def logistic(bias: float, weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(bias + x @ weights)))


# --- the in-memory engine -------------------------------------------------------------------


@dataclass
class MemoryEngine:
    """The story engine's assignment rule over dicts instead of Postgres tables.

    Per article: candidates = earlier articles sharing a candidate key (inverted index),
    ranked by shared keys, at most MAX_CANDIDATES, dropped when both dates are known and
    more than WINDOW_DAYS apart; the article joins the best-scoring candidate story if
    story_score >= threshold, else opens a new story.
    """

    threshold: float
    all_pairs: bool = False  # compare with every earlier article (no index): recall ceiling
    story_scorer: Callable[[prof.ArticleProfile, list[prof.ArticleProfile]], float] = (
        sim.story_score
    )
    profiles: list[prof.ArticleProfile] = field(default_factory=list)
    story_of: list[int] = field(default_factory=list)
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    candidate_pairs: set[tuple[int, int]] = field(default_factory=set)
    comparisons: int = 0

    def candidates(self, profile: prof.ArticleProfile, keys: list[str]) -> list[int]:
        if self.all_pairs:
            found = list(range(len(self.profiles)))
        else:
            shared: Counter[int] = Counter()
            for key in keys:
                shared.update(self.postings.get(key, ()))
            found = [i for i, _ in shared.most_common(MAX_CANDIDATES)]
        return [i for i in found if within_window(profile, self.profiles[i])]

    def add(self, profile: prof.ArticleProfile) -> int:
        index = len(self.profiles)
        keys = sim.candidate_keys(profile)
        candidates = self.candidates(profile, keys)
        self.candidate_pairs.update((c, index) for c in candidates)
        best_story, best_score = -1, -1.0
        for story in sorted({self.story_of[c] for c in candidates}):
            member_profiles = [self.profiles[m] for m in self.members[story][-sim.MAX_MEMBERS :]]
            self.comparisons += len(member_profiles)
            score = self.story_scorer(profile, member_profiles)
            if score > best_score:
                best_story, best_score = story, score
        story = best_story if best_score >= self.threshold else index
        self.profiles.append(profile)
        self.story_of.append(story)
        self.members[story].append(index)
        for key in keys:
            self.postings[key].append(index)
        return story


def within_window(a: prof.ArticleProfile, b: prof.ArticleProfile) -> bool:
    apart = sim.days_apart(a, b)
    return apart is None or apart <= WINDOW_DAYS


def build_profiles(
    articles: Sequence[Article], embeddings: np.ndarray
) -> list[prof.ArticleProfile]:
    """Profiles in arrival order with incremental document frequencies."""
    stats = prof.InMemoryTermStats()
    profiles = []
    for article, vector in zip(articles, embeddings, strict=True):
        profile = prof.build_profile(
            article.title, article.text, article.lang, article.published, stats, vector
        )
        stats.add(profile)
        profiles.append(profile)
    return profiles


def run_engine(
    profiles: Sequence[prof.ArticleProfile], threshold: float, **options: object
) -> MemoryEngine:
    engine = MemoryEngine(threshold=threshold, **options)  # type: ignore[arg-type]
    for profile in profiles:
        engine.add(profile)
    return engine


def engine_predictions(engine: MemoryEngine, pairs: Sequence[Pair]) -> list[bool]:
    return [engine.story_of[p.a] == engine.story_of[p.b] for p in pairs]


def candidate_recall(engine: MemoryEngine, pairs: Sequence[Pair]) -> str:
    parts = []
    for name in ("mono", "cross"):
        positives = [p for p in pairs if p.same and SUBSETS[name](p)]
        found = sum((p.a, p.b) in engine.candidate_pairs for p in positives)
        parts.append(f"{name} {found}/{len(positives)}")
    return ", ".join(parts)


@contextmanager
def constants(
    mono: dict[str, float] | None = None, cross: dict[str, float] | None = None
) -> Iterator[None]:
    """Temporarily swap the fitted weights of similarity (for CV folds)."""
    saved = sim.MONO_WEIGHTS, sim.CROSS_WEIGHTS
    sim.MONO_WEIGHTS = mono or saved[0]
    sim.CROSS_WEIGHTS = cross or saved[1]
    try:
        yield
    finally:
        sim.MONO_WEIGHTS, sim.CROSS_WEIGHTS = saved


# --- baselines ------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def plain_tfidf_cosines(articles: Sequence[Article], pairs: Sequence[Pair]) -> np.ndarray:
    """Word TF-IDF cosine, idf over the whole file (the usual offline baseline)."""
    docs = [Counter(_WORD.findall(a.text.lower())) for a in articles]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    n = len(docs)
    vectors = []
    for doc in docs:
        vec = {t: (1 + math.log(c)) * math.log(n / df[t]) for t, c in doc.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items()})
    return np.array([sim.cosine(vectors[p.a], vectors[p.b]) for p in pairs])


# --- cross-validation -----------------------------------------------------------------------


def pair_groups(pairs: Sequence[Pair]) -> list[int]:
    """Connected components of the pair graph: no article is in two folds."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[find(p.a)] = find(p.b)
    return [find(p.a) for p in pairs]


def grouped_folds(pairs: Sequence[Pair], k: int, seed: int) -> list[np.ndarray]:
    """k folds of pair indices; groups dealt round-robin, positives first (stratified)."""
    groups = pair_groups(pairs)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    rng = np.random.default_rng(seed)
    keys = list(members)
    rng.shuffle(keys)
    keys.sort(key=lambda g: not any(pairs[i].same for i in members[g]))
    folds: list[list[int]] = [[] for _ in range(k)]
    for n, g in enumerate(keys):
        folds[n % k].extend(members[g])
    return [np.array(sorted(f)) for f in folds]


def feature_matrix(features: list[dict[str, float]], cols: Sequence[str]) -> np.ndarray:
    return np.array([[f[c] for c in cols] for f in features])


def fit_constants(
    features: list[dict[str, float]], pairs: Sequence[Pair], train: np.ndarray
) -> tuple[dict[str, float], dict[str, float], float]:
    """(mono weights, cross weights, threshold) from the training pairs, as shipped."""
    mono_idx = np.array([i for i in train if pairs[i].mono])
    y = np.array([pairs[i].same for i in mono_idx], dtype=float)
    x2 = feature_matrix([features[i] for i in mono_idx], ("embedding", "terms"))
    b2, w2 = fit_logistic(x2, y)
    b1, w1 = fit_logistic(x2[:, :1], y)
    mono = {"bias": b2, "embedding": float(w2[0]), "terms": float(w2[1])}
    cross = {"bias": b1, "embedding": float(w1[0])}
    return mono, cross, 0.0


def fitted_pair_scores(
    features: list[dict[str, float]], mono: dict[str, float], cross: dict[str, float]
) -> np.ndarray:
    out = []
    for f in features:
        if f["cross_lingual"]:
            z = cross["bias"] + cross["embedding"] * f["embedding"]
        else:
            z = mono["bias"] + mono["embedding"] * f["embedding"] + mono["terms"] * f["terms"]
        out.append(1 / (1 + math.exp(-z)))
    return np.array(out)


def engine_cv(
    profiles: Sequence[prof.ArticleProfile],
    pairs: Sequence[Pair],
    features: list[dict[str, float]],
    repeats: int,
    fixed_threshold: float | None,
) -> str:
    """Grouped 5-fold CV of the whole engine; mean F1 over `repeats` fold assignments.

    Per fold: weights fitted on the training pairs; the threshold is the training pairs'
    best pairwise-F1 threshold (or `fixed_threshold`); the stream then runs over ALL
    articles with those constants and only the test pairs are counted.
    """
    totals: dict[str, list[float]] = defaultdict(list)
    for seed in range(repeats):
        counts = {name: Counts() for name in SUBSETS}
        for test in grouped_folds(pairs, 5, seed):
            train = np.setdiff1d(np.arange(len(pairs)), test)
            mono, cross, _ = fit_constants(features, pairs, train)
            if fixed_threshold is None:
                scores = fitted_pair_scores([features[i] for i in train], mono, cross)
                labels = np.array([pairs[i].same for i in train], dtype=float)
                threshold = best_threshold_f1(scores, labels)[1]
            else:
                threshold = fixed_threshold
            with constants(mono, cross):
                engine = run_engine(profiles, threshold)
            test_pairs = [pairs[i] for i in test]
            fold_counts = subset_counts(test_pairs, engine_predictions(engine, test_pairs))
            for name in SUBSETS:
                counts[name].tp += fold_counts[name].tp
                counts[name].fp += fold_counts[name].fp
                counts[name].fn += fold_counts[name].fn
        for name, c in counts.items():
            totals[name].append(c.prf()[2])
    return " | ".join(f"{name} {np.mean(v):.3f}±{np.std(v):.3f}" for name, v in totals.items())


def pairwise_cv(
    features: list[dict[str, float]], pairs: Sequence[Pair], cols: Sequence[str], repeats: int
) -> str:
    """Grouped 5-fold CV of a logistic regression on `cols` (monolingual pairs)."""
    mono_pairs = [i for i, p in enumerate(pairs) if p.mono]
    sub = [pairs[i] for i in mono_pairs]
    x = feature_matrix([features[i] for i in mono_pairs], cols)
    y = np.array([p.same for p in sub], dtype=float)
    de = np.array([p.lang1 == "de" for p in sub])
    f_mono, f_de = [], []
    for seed in range(repeats):
        predicted = np.zeros(len(sub), dtype=bool)
        for test in grouped_folds(sub, 5, seed):
            train = np.setdiff1d(np.arange(len(sub)), test)
            bias, w = fit_logistic(x[train], y[train])
            threshold = best_threshold_f1(logistic(bias, w, x[train]), y[train])[1]
            predicted[test] = logistic(bias, w, x[test]) >= threshold
        for mask, out in ((np.ones(len(sub), dtype=bool), f_mono), (de, f_de)):
            tp = (predicted & (y == 1) & mask).sum()
            out.append(2 * tp / (predicted[mask].sum() + y[mask].sum()))
    return f"mono {np.mean(f_mono):.3f}  de-de {np.mean(f_de):.3f}"


# --- fixtures -------------------------------------------------------------------------------


def read_fixture(path: Path) -> tuple[date | None, str]:
    """A fixture file: first line 'date YYYY-MM[-DD] <text...>', then the text."""
    first, _, rest = path.read_text(encoding="utf-8").partition("\n")
    match = re.match(r"\s*date (\d{4})-(\d{2})(?:-(\d{2}))?\s*(.*)", first)
    if not match:
        return None, path.read_text(encoding="utf-8").strip()
    year, month, day, head = match.groups()
    return date(int(year), int(month), int(day or 1)), f"{head}\n{rest}".strip()


def fixture_report() -> None:
    seeds = sorted((FIXTURES / "seeds").glob("*.txt"))
    negatives = sorted((FIXTURES / "story_negatives").glob("*.txt"))
    if len(seeds) < 2:
        print("  (no fixtures found)")
        return
    files = seeds + negatives
    items = [read_fixture(f) for f in files]
    vectors = prof.embed_texts([prof.embedding_text(None, text) for _, text in items])
    stats = prof.InMemoryTermStats()
    profiles = []
    for (published, text), vector in zip(items, vectors, strict=True):
        profile = prof.build_profile(None, text, "de", published, stats, vector)
        stats.add(profile)
        profiles.append(profile)
    n_seeds = len(seeds)
    for i in range(n_seeds):
        for j in range(i + 1, len(files)):
            f = sim.pair_features(profiles[i], profiles[j])
            kind = "SEED" if j < n_seeds else "neg "
            print(
                f"  {kind} {files[i].name[:10]} ~ {files[j].name[:34]:34s} "
                f"score {sim.same_story_score(profiles[i], profiles[j]):.3f}  "
                f"emb {f['embedding']:.2f} terms {f['terms']:.2f} ent {f['entities']:.2f}"
            )


# --- main -----------------------------------------------------------------------------------


def aggregation_variants() -> dict[str, Callable[..., float]]:
    def member_scores(p: prof.ArticleProfile, members: list[prof.ArticleProfile]) -> list[float]:
        return [sim.same_story_score(p, m) for m in members]

    def centroid(p: prof.ArticleProfile, members: list[prof.ArticleProfile]) -> float:
        vectors = [m.embedding for m in members if m.embedding is not None]
        mean = np.mean(vectors, axis=0)
        terms: Counter[str] = Counter()
        for m in members:
            for key, weight in m.terms.items():
                terms[key] += weight
        norm = math.sqrt(sum(v * v for v in terms.values())) or 1.0
        center = prof.ArticleProfile(
            language=members[-1].language,
            published=None,
            terms={k: v / norm for k, v in terms.items()},
            lead_terms={},
            entities=(),
            numbers=frozenset(),
            embedding=mean / np.linalg.norm(mean),
        )
        return sim.same_story_score(p, center)

    return {
        "max (single link)": lambda p, ms: max(member_scores(p, ms)),
        "mean of all": lambda p, ms: float(np.mean(member_scores(p, ms))),
        "mean of top 3 (shipped)": sim.story_score,
        "centroid": centroid,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with the two jsonl")
    parser.add_argument("--cv-repeats", type=int, default=3)
    parser.add_argument("--fit", action="store_true", help="print constants fitted on all")
    args = parser.parse_args(argv)

    articles, pairs = load(args.data)
    n_pos = sum(p.same for p in pairs)
    print(f"{len(articles)} articles, {len(pairs)} labelled pairs ({n_pos} same story)")

    start = time.perf_counter()
    texts = [prof.embedding_text(a.title, a.text) for a in articles]
    embeddings = prof.embed_texts(texts)
    t_embed = time.perf_counter() - start
    start = time.perf_counter()
    profiles = build_profiles(articles, embeddings)
    t_profile = time.perf_counter() - start
    start = time.perf_counter()
    threshold = sim.SAME_STORY_THRESHOLD
    engine = run_engine(profiles, threshold)
    t_assign = time.perf_counter() - start
    total = t_embed + t_profile + t_assign

    print("\n== shipped engine, streamed in file order (in-sample) ==")
    print(
        f"  threshold {threshold}: {fmt(subset_counts(pairs, engine_predictions(engine, pairs)))}"
    )
    sizes = Counter(len(m) for m in engine.members.values())
    print(f"  stories: {len(engine.members)}, largest {max(sizes)}, sizes {sorted(sizes.items())}")
    print(f"  candidate recall of same-story pairs: {candidate_recall(engine, pairs)}")
    print(
        f"  candidates/article {len(engine.candidate_pairs) / len(articles):.1f}, "
        f"comparisons/article {engine.comparisons / len(articles):.1f}"
    )
    everything = run_engine(profiles, threshold, all_pairs=True)
    unindexed = subset_counts(pairs, engine_predictions(everything, pairs))
    print(f"  all pairs (no index): {fmt(unindexed, True)}")

    print("\n== timing ==")
    print(
        f"  embed {t_embed:.1f}s, profiles {t_profile:.1f}s, assign {t_assign:.1f}s: "
        f"{len(articles) / total:.0f} articles/s end to end "
        f"({2000 / (len(articles) / total):.0f}s for 2,000)"
    )

    print("\n== baselines (pairwise, best single threshold per subset, in-sample) ==")
    use = np.array([float(embeddings[p.a] @ embeddings[p.b]) for p in pairs])
    print(
        f"  TF-IDF word cosine : {best_threshold_row(pairs, plain_tfidf_cosines(articles, pairs))}"
    )
    print(f"  USE cosine         : {best_threshold_row(pairs, use)}")

    features = [sim.pair_features(profiles[p.a], profiles[p.b]) for p in pairs]
    print("\n== single signals (pairwise, best threshold, in-sample) ==")
    for name in ("embedding", "terms", "lead", "entities", "numbers"):
        print(f"  {name:10s}: {best_threshold_row(pairs, np.array([f[name] for f in features]))}")
    shipped = np.array([sim.same_story_score(profiles[p.a], profiles[p.b]) for p in pairs])
    print(f"  {'score':10s}: {best_threshold_row(pairs, shipped)}")

    print(
        f"\n== feature sets: logistic regression, grouped 5-fold CV x{args.cv_repeats}, "
        "monolingual pairs =="
    )
    feature_sets = [
        ("embedding",),
        ("terms",),
        ("embedding", "terms"),
        ("embedding", "terms", "lead"),
        ("embedding", "terms", "entities"),
        ("embedding", "terms", "numbers"),
        ("embedding", "terms", "entities", "numbers"),
    ]
    for cols in feature_sets:
        print(f"  {' + '.join(cols):40s} {pairwise_cv(features, pairs, cols, args.cv_repeats)}")

    print("\n== threshold sweep (engine, in-sample) ==")
    for t in (0.35, 0.40, 0.45, 0.465, 0.47, 0.48, 0.50, 0.55):
        swept = run_engine(profiles, t)
        print(f"  {t:.3f}: {fmt(subset_counts(pairs, engine_predictions(swept, pairs)), True)}")

    print("\n== aggregation over a story's members (engine, in-sample) ==")
    for t in (0.30, 0.40, threshold):
        for name, scorer in aggregation_variants().items():
            variant = run_engine(profiles, t, story_scorer=scorer)
            largest = max(len(m) for m in variant.members.values())
            result = fmt(subset_counts(pairs, engine_predictions(variant, pairs)), True)
            print(f"  t={t:.2f} {name:24s} largest story {largest:3d}  {result}")

    print(f"\n== engine, grouped 5-fold CV x{args.cv_repeats} (weights fitted per fold) ==")
    print(
        f"  threshold = shipped {threshold}: "
        f"{engine_cv(profiles, pairs, features, args.cv_repeats, threshold)}"
    )
    print(
        "  threshold = per-fold best pairwise F1: "
        f"{engine_cv(profiles, pairs, features, args.cv_repeats, None)}"
    )

    print("\n== fixtures (tests/fixtures; term stats start empty as in the tests) ==")
    fixture_report()

    if args.fit:
        mono, cross, _ = fit_constants(features, pairs, np.arange(len(pairs)))
        scores = fitted_pair_scores(features, mono, cross)
        labels = np.array([p.same for p in pairs], dtype=float)
        print("\n== fitted on all labelled monolingual pairs ==")
        print(f"  MONO_WEIGHTS = { ({k: round(v, 2) for k, v in mono.items()}) }")
        print(f"  CROSS_WEIGHTS = { ({k: round(v, 2) for k, v in cross.items()}) }")
        print(
            f"  best pairwise-F1 threshold (all pairs): {best_threshold_f1(scores, labels)[1]:.3f}"
        )


if __name__ == "__main__":
    main()
