"""Grouped K-fold CV of the whole story engine, with same-run baselines (issue 8).

Every method clusters ALL articles of the data set in file order (as the acceptance runs
`news-ingest cluster` over the whole held-out file: same density of unrelated articles,
same chances to chain) with constants fitted on the training pairs of the fold only, and
is scored on the test fold's pairs (bench/cv_core.py). Embeddings come from the disk cache
of bench/story_signals.py.

Methods:
* baselines, pairwise (no clustering): tf-idf word cosine and each encoder's cosine, the
  test pairs cut at the threshold that maximises F1 on the training pairs;
* `shipped/postgres` (--shipped): today's engine through the real `pipeline.cluster.cluster`
  (Postgres, store step, all four layers), its two regressions refitted per fold; threshold
  either the shipped 0.44 (chosen on all of dev: optimistic) or the fold's best cut;
* v2 variants (--variants, see VARIANTS): bench/story_engine_v2.py, weights and threshold
  fitted per fold (--threshold pairwise|stream|fixed values);
* the e5 cascade (--cascade widths): the cheap model decides unless unsure.

--fit VARIANT fits on ALL pairs, prints the constants for pipeline/stories and runs the
tests' story fixtures (bench/story_fixtures.py) with and without dates.

The table of /work/notes/issue8-research.md:

    .venv/bin/python bench/story_cv.py --data /work/shared/data/semeval22-dev --shipped \
        --variants use+terms/top3,e5+use+terms/top3 --threshold pairwise --seeds 3 \
        --cascade 0.35,0.5,1.0 --cascade-top 1 \
        --cascade-cheap use+terms/top3 --cascade-full e5+use+terms/top3
    .venv/bin/python bench/story_cv.py --data /work/shared/data/semeval22-dev \
        --fit e5+use+terms/top3 --threshold pairwise --cascade 0.5 --cascade-top 1 \
        --cascade-cheap use+terms/top3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import story_engine_v2 as v2
import story_experiments as se
import story_pairs as sim
from benchdb import DEFAULT_ADMIN_URL, temporary_database
from cv_core import (
    Clustering,
    CVResult,
    Dataset,
    best_threshold,
    cross_validate,
    load_dataset,
    print_table,
)
from story_fixtures import fixture_inputs, fixture_problems
from story_signals import DEFAULT_CACHE, EmbeddingCache

from pipeline.analytics.evaluation import score_pairs
from pipeline.analytics.fitting import pairwise_cv
from pipeline.config import DedupSettings

# --- pairwise baselines ---------------------------------------------------------------------


def pair_cosines(data: Dataset, vectors: np.ndarray) -> np.ndarray:
    a = np.array([data.index[p.id1] for p in data.pairs])
    b = np.array([data.index[p.id2] for p in data.pairs])
    return np.einsum("ij,ij->i", vectors[a], vectors[b])


# --- the shipped engine through Postgres ----------------------------------------------------


@contextmanager
def cached_use_embeddings(cache: EmbeddingCache) -> Iterator[None]:
    """The engine's encoder vectors from the disk cache (same texts, same models)."""
    from pipeline.stories import encoders

    saved = encoders.embed

    def embed(encoder: str, texts: Sequence[str]) -> np.ndarray:
        view = "full" if encoder == "use" else f"lead{encoders.E5_LEAD_CHARS}"
        return cache.embed(encoder, view, list(texts))

    encoders.embed = embed  # type: ignore[assignment]
    try:
        yield
    finally:
        encoders.embed = saved  # type: ignore[assignment]


class ShippedEngine:
    """Today's engine: per fold refit of its two regressions (bench/story_experiments.py)."""

    def __init__(self, data_dir: Path, data: Dataset, cache: EmbeddingCache) -> None:
        articles, pairs = se.load(data_dir)
        assert [(articles[p.a].id, articles[p.b].id) for p in pairs] == [
            tuple(sorted((x.id1, x.id2), key=data.index.__getitem__)) for x in data.pairs
        ], "pair order differs between the two loaders"
        self.pairs = pairs
        vectors = cache.article_embeddings(
            "use", "full", [(a.title, a.text) for a in data.articles]
        )
        self.profiles = se.build_profiles(articles, vectors)
        self.features = [sim.pair_features(self.profiles[p.a], self.profiles[p.b]) for p in pairs]

    def fit(self, train: np.ndarray) -> tuple[dict[str, float], dict[str, float], float]:
        """(mono weights, cross weights, best pairwise cut on the training pairs)."""
        mono, cross, _ = se.fit_constants(self.features, self.pairs, train)
        scores = se.fitted_pair_scores([self.features[i] for i in train], mono, cross)
        labels = np.array([self.pairs[i].same for i in train])
        return mono, cross, best_threshold(scores, labels)


def postgres_method(
    engine: ShippedEngine, data: Dataset, url: str, fixed_threshold: float | None
) -> Callable[[np.ndarray], Clustering]:
    from pipeline.analytics.cluster import cluster
    from pipeline.stories import model as learned

    def method(train: np.ndarray) -> Clustering:
        mono, cross, cut = engine.fit(train)
        threshold = cut if fixed_threshold is None else fixed_threshold
        # The v1 two-feature model, run by today's engine with USE only.
        model = learned.Model(
            {"bias": mono["bias"], "use": mono["embedding"], "terms": mono["terms"]},
            {"bias": cross["bias"], "use": cross["embedding"]},
            min(1.0, max(0.0, threshold)),
        )
        settings = DedupSettings(encoder="use")
        return dict(cluster(data.articles, settings, url=url, models=learned.Models(model)))

    return method


# --- the v2 research engine ----------------------------------------------------------------


def build_corpus(
    data: Dataset, cache: EmbeddingCache, e5_view: str | None, shift: str = "e5"
) -> v2.Corpus:
    """Signals of all articles; `shift` names the encoders ("use", "e5", "use,e5") whose
    cross-lingual cosines get the unsupervised language shift."""
    items = [(a.title, a.text) for a in data.articles]
    use = cache.article_embeddings("use", "full", items)
    e5 = cache.article_embeddings("e5", e5_view, items) if e5_view else None
    rows = [(a.title, a.text, a.language, a.published) for a in data.articles]
    languages = [a.language for a in data.articles]
    corpus = v2.Corpus(v2.build_signals(rows, use, e5))
    if "use" in shift:
        corpus.use_shift = v2.language_shift(use, languages)
    if "e5" in shift and e5 is not None:
        corpus.e5_shift = v2.language_shift(e5, languages)
    if shift:
        print(f"cross-lingual shifts: use {corpus.use_shift:+.3f}, e5 {corpus.e5_shift:+.3f}")
    return corpus


def positions(data: Dataset) -> list[v2.LabelledPosition]:
    out = []
    for p in data.pairs:
        a, b = sorted((data.index[p.id1], data.index[p.id2]))
        out.append(v2.LabelledPosition(a, b, p.lang1 == p.lang2, p.same_story))
    return out


MAX_COLS = ("e5_max", "use_max", "terms_max")
CENT_COLS = ("e5_cent", "use_cent", "terms_cent")
TIME_COLS = ("t_known", "t_newest", "t_oldest", "t_mean")
# Named model families compared under CV (--variants a,b,...; "all" runs every one).
VARIANTS: dict[str, v2.Spec] = {
    "use+terms": v2.Spec(("use_max", "terms_max")),
    "use+terms/singleton-fit": v2.Spec(("use_max", "terms_max"), streamed=False),
    "use+terms+cent": v2.Spec(("use_max", "use_cent", "terms_max", "terms_cent")),
    "e5+terms": v2.Spec(("e5_max", "terms_max")),
    "e5+use+terms": v2.Spec(MAX_COLS),
    "e5+use+terms/singleton-fit": v2.Spec(MAX_COLS, streamed=False),
    "e5+use+terms+cent": v2.Spec(MAX_COLS + CENT_COLS),
    "e5+use+terms+lead": v2.Spec((*MAX_COLS, "lead_max")),
    "e5+use+terms+ent": v2.Spec((*MAX_COLS, "ent")),
    "e5+use+terms+num": v2.Spec((*MAX_COLS, "num")),
    "e5+use+terms+size": v2.Spec((*MAX_COLS, "log_size")),
    "e5+use+terms+time(learned, no prior)": v2.Spec(MAX_COLS + TIME_COLS, time_prior=False),
    "e5+use+terms+time(learned + prior)": v2.Spec(MAX_COLS + TIME_COLS),
    "e5+use+terms/no time prior": v2.Spec(MAX_COLS, time_prior=False),
    "e5+use+terms/top3": v2.Spec(MAX_COLS, streamed=False, aggregate="top3"),
    "use+terms/top3": v2.Spec(("use_max", "terms_max"), streamed=False, aggregate="top3"),
    "e5+terms/top3": v2.Spec(("e5_max", "terms_max"), streamed=False, aggregate="top3"),
    "terms/top3": v2.Spec(("terms_max",), streamed=False, aggregate="top3"),
    "e5+use+terms/C=0.1": v2.Spec(MAX_COLS, c=0.1),
    "e5+use+terms/C=10": v2.Spec(MAX_COLS, c=10.0),
}


@dataclass
class Fold:
    """What a v2 method fitted and did in one fold."""

    model: v2.Model
    embedded: float = 0.0  # share of articles the cascade embedded with e5
    escalated: float = 0.0


def v2_method(
    corpus: v2.Corpus,
    data: Dataset,
    spec: v2.Spec,
    log: list[Fold],
    *,
    cheap: v2.Spec | None = None,
    width: float = 0.0,
    top: int = 3,
) -> Callable[[np.ndarray], Clustering]:
    """Fit `spec` on the fold's training pairs, stream all articles, cluster. With `cheap`,
    a cascade: the cheap model decides unless unsure (±width logits around its threshold)."""
    labelled = positions(data)

    def method(train: np.ndarray) -> Clustering:
        pairs = [labelled[i] for i in train]
        model = v2.fit(corpus, pairs, spec)
        if cheap is None:
            engine = v2.run(corpus, model)
        else:
            cheap_model = v2.fit(corpus, pairs, cheap)
            engine = v2.run(
                corpus, cheap_model, cascade=v2.Cascade.around(cheap_model, model, width, top)
            )
        n = len(data.articles)
        log.append(Fold(model, len(engine.embedded) / n, engine.escalated / n))
        return {a.id: engine.story_of[i] for i, a in enumerate(data.articles)}

    return method


def run_variant(
    data: Dataset, corpus: v2.Corpus, name: str, method_args: dict, k: int, seeds: Sequence[int]
) -> CVResult:
    started = time.perf_counter()
    log: list[Fold] = []
    result = cross_validate(
        data, v2_method(corpus, data, log=log, **method_args), k=k, seeds=seeds, name=name
    )
    thresholds = [round(f.model.threshold, 2) for f in log]
    extra = ""
    if "cheap" in method_args:
        extra = (
            f"; e5 embedded {np.mean([f.embedded for f in log]):.1%} of articles, "
            f"escalated {np.mean([f.escalated for f in log]):.1%}"
        )
        result.name += f" [e5 {np.mean([f.embedded for f in log]):.0%}]"
    print(
        f"  {name}: {time.perf_counter() - started:.0f} s; thresholds {thresholds}{extra}; "
        f"mono {result.row('monolingual')}, de-de {result.row('de-de')}",
        flush=True,
    )
    return result


def fidelity(data: Dataset, cache: EmbeddingCache, admin_url: str) -> None:
    """The research engine with the shipped USE model (top-3 aggregation, no e5) against
    the real `cluster` in Postgres (dedup.encoder: use): how many labelled pairs they
    decide alike. (`eval-dedup --cv` clusters with the real `cluster` itself.)"""
    from pipeline.analytics.cluster import cluster

    corpus = build_corpus(data, cache, None, shift="")
    from pipeline.stories import model as learned

    shipped = v2.Model(
        {
            "bias": learned.CHEAP_MONO["bias"],
            "use_max": learned.CHEAP_MONO["use"],
            "terms_max": learned.CHEAP_MONO["terms"],
        },
        {"bias": learned.CHEAP_CROSS["bias"], "use_max": learned.CHEAP_CROSS["use"]},
        learned.CHEAP_THRESHOLD,
        aggregate="top3",
    )
    engine = v2.run(corpus, shipped)
    memory = {a.id: engine.story_of[i] for i, a in enumerate(data.articles)}
    with temporary_database(admin_url, "story_fidelity") as url, cached_use_embeddings(cache):
        postgres = dict(cluster(data.articles, DedupSettings(encoder="use"), url=url))
    for name, story_of in (("research engine", memory), ("postgres cluster", postgres)):
        scores = score_pairs(story_of, data.pairs)
        print(f"  {name}: " + ", ".join(f"{n} {s.f1:.3f}" for n, s in scores.items()))
    alike = sum(
        (memory[p.id1] == memory[p.id2]) == (postgres[p.id1] == postgres[p.id2]) for p in data.pairs
    )
    print(f"  labelled pairs decided alike: {alike} of {len(data.pairs)}")


def _rounded(weights: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 3) for name, value in weights.items()}


def fixture_report(
    cache: EmbeddingCache,
    e5_view: str,
    model: v2.Model,
    cascade: v2.Cascade | None = None,
    shifts: tuple[float, float] = (0.0, 0.0),
) -> bool:
    """Run the tests' story fixtures through the engine, with and without dates; print
    what the tests would flag and the best P of every decision. True when all pass."""
    ok = True
    for dated in (True, False):
        inputs, sco = fixture_inputs(dated=dated)
        items = [(a.title, a.text) for a in inputs]
        use = cache.article_embeddings("use", "full", items)
        e5 = cache.article_embeddings("e5", e5_view, items)
        rows = [(a.title, a.text, a.language, a.published) for a in inputs]
        corpus = v2.Corpus(v2.build_signals(rows, use, e5), *shifts)
        engine = v2.run(corpus, model, cascade=cascade)
        story_of = {a.id: engine.story_of[i] for i, a in enumerate(inputs)}
        problems = fixture_problems(story_of, sco, dated=dated)
        ok = ok and not problems
        print(f"  fixtures {'with' if dated else 'without'} dates: {problems or 'all pass'}")
        for a, d in zip(inputs, engine.decisions, strict=True):
            print(f"    {a.id[:40]:40s} {d.layer:10s} story {d.story:2d}  best P {d.best_p:.3f}")
    return ok


def diagnose(data: Dataset, corpus: v2.Corpus, spec: v2.Spec) -> None:
    """In-sample error anatomy of `spec` fitted on all pairs: how each pair went wrong."""
    labelled = positions(data)
    model = v2.fit(corpus, labelled, spec)
    engine = v2.run(corpus, model)
    kinds: Counter[str] = Counter()
    for pair, lp in zip(data.pairs, labelled, strict=True):
        a, b = lp.earlier, lp.later
        together = engine.story_of[a] == engine.story_of[b]
        single = v2.Story()
        single.add(a, corpus.signals[a])
        f = v2.story_features(corpus, b, single)
        pairwise = model.probability(f, v2.is_cross(corpus.signals[b], single)) >= model.threshold
        lang = "de-de" if pair.lang1 == pair.lang2 == "de" else "mono" if lp.mono else "cross"
        if pair.same_story and not together:
            how = (
                "pairwise also misses"
                if not pairwise
                else (
                    "later joined another story"
                    if engine.decisions[b].layer != "new"
                    else "later opened a story (story-level P too low)"
                )
            )
            kinds[f"FN {lang}: {how}"] += 1
        elif not pair.same_story and together:
            direct = engine.decisions[b].story == engine.story_of[a] and pairwise
            kinds[f"FP {lang}: {'pairwise too' if direct else 'through the story (chain)'}"] += 1
    print(f"  threshold {model.threshold}, weights mono {model.mono}")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind}: {n}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1, help="fold assignments (repeats)")
    parser.add_argument("--shipped", action="store_true", help="today's engine via Postgres")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--variants", default="", help=f"comma list of {sorted(VARIANTS)} or all")
    parser.add_argument("--cascade", default="", help="comma list of band widths (logits)")
    parser.add_argument("--cascade-top", type=int, default=3, help="stories rescored with e5")
    parser.add_argument("--cascade-cheap", default="use+terms", help="the cascade's first model")
    parser.add_argument("--cascade-full", default="e5+use+terms", help="its e5 model")
    parser.add_argument("--e5-view", default="lead600")
    parser.add_argument(
        "--shift",
        default="e5",
        help="encoders whose cross-lingual cosines are shifted: use,e5 or none",
    )
    parser.add_argument(
        "--threshold",
        default="stream",
        help="stream: sweep the whole stream per fold (slow); pairwise: best cut on the "
        "training pairs' streamed features (fast, for exploring); or comma-separated fixed "
        "values (weights still refitted per fold)",
    )
    parser.add_argument(
        "--fit",
        default="",
        help="a variant: fit it on ALL pairs, print its constants, run the fixtures",
    )
    parser.add_argument(
        "--fidelity", action="store_true", help="research engine vs Postgres cluster"
    )
    parser.add_argument("--diagnose", default="", help="a variant: in-sample error anatomy")
    args = parser.parse_args(argv)

    data = load_dataset(args.data)
    cache = EmbeddingCache(args.cache)
    seeds = range(args.seeds)
    items = [(a.title, a.text) for a in data.articles]
    results: list[CVResult] = []

    tfidf = se.plain_tfidf_cosines(*se.load(args.data))
    results.append(
        pairwise_cv(data, tfidf, args.k, args.seeds, "baseline tf-idf cosine (pairwise)")
    )
    for encoder, view in (("use", "full"), ("e5", args.e5_view)):
        cos = pair_cosines(data, cache.article_embeddings(encoder, view, items))
        results.append(
            pairwise_cv(
                data, cos, args.k, args.seeds, f"baseline {encoder}/{view} cosine (pairwise)"
            )
        )

    if args.shipped:
        engine = ShippedEngine(args.data, data, cache)
        with temporary_database(args.admin_url, "story_cv") as url, cached_use_embeddings(cache):
            for label, fixed in (("shipped 0.44", sim.SAME_STORY_THRESHOLD), ("fold cut", None)):
                started = time.perf_counter()
                method = postgres_method(engine, data, url, fixed)
                in_sample = score_pairs(method(np.arange(len(data.pairs))), data.pairs)
                print(
                    f"shipped/postgres, {label}, fitted on all pairs (in-sample): "
                    + ", ".join(f"{n} {s.f1:.3f}" for n, s in in_sample.items())
                )
                results.append(
                    cross_validate(
                        data, method, k=args.k, seeds=seeds, name=f"shipped/postgres, {label}"
                    )
                )
                print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)

    thresholds: list[str | float] = (
        [args.threshold]
        if args.threshold in ("stream", "pairwise")
        else [float(t) for t in args.threshold.split(",")]
    )
    if args.fidelity:
        fidelity(data, cache, args.admin_url)
        return
    if args.fit:
        corpus = build_corpus(data, cache, args.e5_view, args.shift)
        labelled = positions(data)
        spec = replace(VARIANTS[args.fit], threshold=thresholds[0])
        model = v2.fit(corpus, labelled, spec)
        print(f"\n== {args.fit} fitted on all {len(data.pairs)} labelled pairs ==")
        print(f"  MONO_WEIGHTS = {_rounded(model.mono)}")
        print(f"  CROSS_WEIGHTS = {_rounded(model.cross)}")
        print(f"  THRESHOLD = {model.threshold:.3f}")
        cascade = None
        if args.cascade:
            cheap = v2.fit(
                corpus, labelled, replace(VARIANTS[args.cascade_cheap], threshold=thresholds[0])
            )
            width = float(args.cascade.split(",")[0])
            cascade = v2.Cascade.around(cheap, model, width, args.cascade_top)
            print(f"  cheap ({args.cascade_cheap}) MONO_WEIGHTS = {_rounded(cheap.mono)}")
            print(f"  cheap CROSS_WEIGHTS = {_rounded(cheap.cross)}")
            print(f"  cheap THRESHOLD = {cheap.threshold:.3f}")
            print(f"  band [{cascade.low:.3f}, {cascade.high:.3f}), top {cascade.top} stories")
            engine = v2.run(corpus, cheap, cascade=cascade)
            model = cheap
        else:
            engine = v2.run(corpus, model)
        story_of = {a.id: engine.story_of[i] for i, a in enumerate(data.articles)}
        in_sample = score_pairs(story_of, data.pairs)
        print("  in-sample: " + ", ".join(f"{n} {s.f1:.3f}" for n, s in in_sample.items()))
        print(f"  e5 embedded: {len(engine.embedded)} of {len(data.articles)} articles")
        fixture_report(cache, args.e5_view, model, cascade, (corpus.use_shift, corpus.e5_shift))
        return
    if args.diagnose:
        diagnose(data, build_corpus(data, cache, args.e5_view, args.shift), VARIANTS[args.diagnose])
        return
    names = list(VARIANTS) if args.variants == "all" else [n for n in args.variants.split(",") if n]
    if names or args.cascade:
        corpus = build_corpus(data, cache, args.e5_view, args.shift)
        for name in names:
            for threshold in thresholds:
                spec = replace(VARIANTS[name], threshold=threshold)
                label = name if len(thresholds) == 1 else f"{name} @{threshold}"
                results.append(run_variant(data, corpus, label, {"spec": spec}, args.k, seeds))
        for width in [float(w) for w in args.cascade.split(",") if w]:
            method_args = {
                "spec": replace(VARIANTS[args.cascade_full], threshold=thresholds[0]),
                "cheap": replace(VARIANTS[args.cascade_cheap], threshold=thresholds[0]),
                "width": width,
                "top": args.cascade_top,
            }
            name = (
                f"cascade {args.cascade_cheap} → {args.cascade_full}, ±{width} logit, "
                f"top {args.cascade_top}"
            )
            results.append(run_variant(data, corpus, name, method_args, args.k, seeds))

    print(f"\n== grouped {args.k}-fold CV x{args.seeds}: F1 mean±std over folds (pooled P/R/F1) ==")
    print_table(results)


if __name__ == "__main__":
    main()
