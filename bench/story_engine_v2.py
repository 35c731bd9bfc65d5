"""Story engine v2 research model: an in-memory streaming engine with story-level features
and a learned join decision, fitted and cross-validated on labelled pairs (issue 8).

The stream mirrors `news-ingest cluster`: articles in file order; exact-text and near-copy
layers first (pipeline.stories.copies, same thresholds), then candidate stories from the
shipped inverted index (top stems, rare entities, USE LSH bands; ±window days), then every
candidate story gets a feature vector, a logistic model turns it into P(same story), the
best story is joined when P reaches the threshold, else the article opens a new story.

Features of an article x against a candidate story S (Miranda et al. 2018 in spirit):
* `<signal>_max`: best similarity of x with one of S's members, and `<signal>_cent`:
  similarity with S's centroid, for signal in e5 (multilingual-e5-small, title + lead),
  use (USE v3, title + text), terms (tf-idf stems), lead (tf-idf stems of title + lead);
* `ent`, `num`: fuzzy entity overlap and number overlap with the best-matching member;
* `log_size`: log of S's member count;
* time: days from x to S's newest / oldest / mean known date, with `t_known` = 1 when both
  sides have a date (0 and the days 0 otherwise), or the shipped hand-set prior.

Cross-lingual candidates (no member in x's language) are scored by a second model over
the language-independent features only, fitted on the same monolingual pairs; e5 cosines
of articles in different languages get an unsupervised shift (`language_shift`).

Stories are scored either on story-level features (`Model.aggregate = "max"`) or as the
mean P of their best three members ("top3", the shipped anti-chaining rule). An optional
`Cascade` rescoring with e5 only where the cheap model is unsure bounds the e5 cost.

Imported by bench/story_cv.py (which puts the repository on sys.path).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import story_pairs as sim
from cv_core import best_threshold

from pipeline.analytics.fitting import fit_logistic
from pipeline.stories import copies
from pipeline.stories import profile as prof

WINDOW_DAYS = 7
MAX_CANDIDATES = 50
MAX_MEMBERS = 20  # most recent members a story is compared with
NEAR_COPY_THRESHOLD = 0.7
SHINGLE_SIZE = 5
NUM_PERM = 128

ALL_FEATURES = (
    "e5_max",
    "e5_cent",
    "use_max",
    "use_cent",
    "terms_max",
    "terms_cent",
    "lead_max",
    "ent",
    "num",
    "log_size",
    "t_known",
    "t_newest",
    "t_oldest",
    "t_mean",
)
# Language-independent features: what a cross-lingual candidate is scored on.
CROSS_FEATURES = frozenset(
    {
        "e5_max",
        "e5_cent",
        "use_max",
        "use_cent",
        "log_size",
        "t_known",
        "t_newest",
        "t_oldest",
        "t_mean",
    }
)


@dataclass(frozen=True)
class Signals:
    """Everything the engine knows of one article (computed in stream order)."""

    profile: prof.ArticleProfile  # terms, lead terms, entities, numbers, USE, date, lang
    e5: np.ndarray | None
    text_hash: str
    fingerprint: copies.CopyFingerprint
    keys: list[str]  # candidate keys (similarity.candidate_keys)
    copy_keys: list[int]  # near-copy LSH buckets


def build_signals(
    texts: Sequence[tuple[str | None, str, str | None, date | None]],
    use: np.ndarray,
    e5: np.ndarray | None,
) -> list[Signals]:
    """(title, text, language, date) in stream order → signals; term statistics grow as the
    engine's do (each profile built before its own article is counted)."""
    from pipeline.textnorm import text_hash

    stats = prof.InMemoryTermStats()
    out = []
    for i, (title, text, language, published) in enumerate(texts):
        profile = prof.build_profile(title, text, language, published, stats, use[i])
        stats.add(profile)
        fp = copies.fingerprint(text, shingle_size=SHINGLE_SIZE, num_perm=NUM_PERM)
        out.append(
            Signals(
                profile,
                None if e5 is None else e5[i],
                text_hash(text),
                fp,
                sim.candidate_keys(profile),
                sorted(set(copies.lsh_keys(fp))) if fp.shingle_count else [],
            )
        )
    return out


# --- stories --------------------------------------------------------------------------------


@dataclass
class Story:
    members: list[int] = field(default_factory=list)
    languages: Counter[str] = field(default_factory=Counter)
    dates: list[int] = field(default_factory=list)  # ordinals of known dates
    use_sum: np.ndarray | None = None
    e5_sum: np.ndarray | None = None
    terms_sum: Counter[str] = field(default_factory=Counter)
    _terms_norm: float | None = None

    @property
    def terms_norm(self) -> float:
        if self._terms_norm is None:
            self._terms_norm = math.sqrt(sum(v * v for v in self.terms_sum.values()))
        return self._terms_norm

    def add(self, index: int, s: Signals) -> None:
        self._terms_norm = None
        self.members.append(index)
        p = s.profile
        if p.language:
            self.languages[p.language] += 1
        if p.published:
            self.dates.append(p.published.toordinal())
        if p.embedding is not None:
            self.use_sum = (
                p.embedding.copy() if self.use_sum is None else self.use_sum + p.embedding
            )
        if s.e5 is not None:
            self.e5_sum = s.e5.copy() if self.e5_sum is None else self.e5_sum + s.e5
        for key, weight in p.terms.items():
            self.terms_sum[key] += weight


def _unit_cos(x: np.ndarray | None, total: np.ndarray | None) -> float:
    if x is None or total is None:
        return 0.0
    norm = float(np.linalg.norm(total))
    return float(x @ total) / norm if norm > 0 else 0.0


def _dict_centroid_cos(x: dict[str, float], total: Counter[str], norm: float) -> float:
    if not norm:
        return 0.0
    return sum(w * total[k] for k, w in x.items() if k in total) / norm


@dataclass
class Corpus:
    """The articles' signals plus a memo of member-level similarities, which do not depend
    on the model (so threshold sweeps and refits reuse them)."""

    signals: Sequence[Signals]
    # Added to the USE / e5 cosine of two articles in different languages: the encoders
    # place translations further apart than same-language texts (see `language_shift`).
    use_shift: float = 0.0
    e5_shift: float = 0.0
    memo: dict[tuple[int, int], tuple[float, float, float, float]] = field(default_factory=dict)
    overlaps: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.signals)

    def pair(self, i: int, j: int) -> tuple[float, float, float, float]:
        """(use, e5, terms, lead) similarity of articles i and j."""
        key = (i, j)
        found = self.memo.get(key)
        if found is None:
            a, b = self.signals[i], self.signals[j]
            p, q = a.profile, b.profile
            use = float(p.embedding @ q.embedding) if p.embedding is not None else 0.0
            e5 = float(a.e5 @ b.e5) if a.e5 is not None and b.e5 is not None else 0.0
            if p.language and q.language and p.language != q.language:
                use += self.use_shift
                e5 += self.e5_shift
            found = (use, e5, sim.cosine(p.terms, q.terms), sim.cosine(p.lead_terms, q.lead_terms))
            self.memo[key] = found
        return found

    def overlap(self, i: int, j: int) -> tuple[float, float]:
        """(entity, number) overlap of articles i and j."""
        key = (i, j)
        found = self.overlaps.get(key)
        if found is None:
            p, q = self.signals[i].profile, self.signals[j].profile
            found = (
                sim.entity_overlap(p.entities, q.entities),
                sim.number_overlap(p.numbers, q.numbers),
            )
            self.overlaps[key] = found
        return found


def story_features(
    corpus: Corpus, index: int, story: Story, overlaps: bool = True
) -> dict[str, float]:
    """Features of article `index` joining `story` (see module docstring); `overlaps=False`
    leaves the (slow, pure-Python) entity and number overlaps at 0."""
    x = corpus.signals[index]
    p = x.profile
    recent = story.members[-MAX_MEMBERS:]
    sims = [corpus.pair(index, m) for m in recent]
    best = recent[max(range(len(recent)), key=lambda n: sims[n][0] + sims[n][1])]
    ent, num = corpus.overlap(index, best) if overlaps else (0.0, 0.0)
    single = len(story.members) == 1
    cross = is_cross(x, story)
    f = {
        "e5_max": max(s[1] for s in sims),
        "e5_cent": sims[0][1]
        if single
        else _unit_cos(x.e5, story.e5_sum) + cross * corpus.e5_shift,
        "use_max": max(s[0] for s in sims),
        "use_cent": sims[0][0]
        if single
        else _unit_cos(p.embedding, story.use_sum) + cross * corpus.use_shift,
        "terms_max": max(s[2] for s in sims),
        "terms_cent": sims[0][2]
        if single
        else _dict_centroid_cos(p.terms, story.terms_sum, story.terms_norm),
        "lead_max": max(s[3] for s in sims),
        "ent": ent,
        "num": num,
        "log_size": math.log(len(story.members)),
        "t_known": 0.0,
        "t_newest": 0.0,
        "t_oldest": 0.0,
        "t_mean": 0.0,
    }
    if p.published and story.dates:
        day = p.published.toordinal()
        f["t_known"] = 1.0
        f["t_newest"] = abs(day - max(story.dates))
        f["t_oldest"] = abs(day - min(story.dates))
        f["t_mean"] = abs(day - sum(story.dates) / len(story.dates))
    return f


def language_shift(
    vectors: np.ndarray, languages: Sequence[str | None], samples: int = 20000, seed: int = 0
) -> float:
    """Mean cosine of random same-language article pairs minus that of random pairs in
    different languages: what a cross-lingual cosine lacks for being cross-lingual alone.
    Unsupervised (no labels), so it can be measured on any corpus."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(vectors), (2, samples))
    langs = np.array([lang or "" for lang in languages])
    known = (i != j) & (langs[i] != "") & (langs[j] != "")
    cos = np.einsum("ij,ij->i", vectors[i], vectors[j])
    same = langs[i] == langs[j]
    return float(cos[known & same].mean() - cos[known & ~same].mean())


def is_cross(x: Signals, story: Story) -> bool:
    """No member of the story shares x's (known) language."""
    return bool(
        x.profile.language and story.languages and x.profile.language not in story.languages
    )


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """Two logistic regressions (monolingual, cross-lingual) and the join threshold."""

    mono: dict[str, float]  # "bias" + feature weights
    cross: dict[str, float]
    threshold: float
    time_prior: bool = True  # the shipped hand-set prior (grace 2 days, 1.25 logit/day)
    # How a story is scored: "max" = the model on story-level features (best member,
    # centroid); "top3" = the model on each member alone, the story's P the mean of its
    # best three (the shipped anti-chaining rule: one lucky member is not enough once a
    # story has two).
    aggregate: str = "max"

    @property
    def overlaps(self) -> bool:
        """Whether the model reads the entity / number overlaps."""
        return any(w.get("ent") or w.get("num") for w in (self.mono, self.cross))

    def logit(self, f: dict[str, float], cross: bool) -> float:
        w = self.cross if cross else self.mono
        z = w["bias"] + sum(weight * f[name] for name, weight in w.items() if name != "bias")
        if self.time_prior and f["t_known"]:
            apart = f["t_newest"]
            if apart > WINDOW_DAYS:
                return -math.inf
            if apart > sim.TIME_GRACE_DAYS:
                z -= sim.TIME_PENALTY * (apart - sim.TIME_GRACE_DAYS)
        return z

    def probability(self, f: dict[str, float], cross: bool) -> float:
        z = self.logit(f, cross)
        if z == -math.inf:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


# --- the engine -----------------------------------------------------------------------------


@dataclass
class Decision:
    """What happened to one article."""

    layer: str  # "exact", "near_copy", "same_story", "new"
    story: int
    best_p: float  # P of the best candidate story (NaN: none)


@dataclass(frozen=True)
class Cascade:
    """The expensive encoder only where the cheap model is unsure: when the best candidate
    story's cheap P falls in [low, high), the candidates with P >= low are rescored by
    `full` (which reads e5 features; the article and those stories' recent members are
    embedded on demand) and `full` decides."""

    full: Model
    low: float
    high: float
    top: int = 3  # candidate stories rescored (best cheap P first): bounds the e5 calls

    @classmethod
    def around(cls, cheap: Model, full: Model, width: float, top: int = 3) -> Cascade:
        """A band of ±width in logit around the cheap model's threshold."""
        z = math.log(cheap.threshold / (1 - cheap.threshold))
        low, high = 1 / (1 + math.exp(-(z - width))), 1 / (1 + math.exp(-(z + width)))
        return cls(full, low, high, top)


@dataclass
class Engine:
    corpus: Corpus
    model: Model
    cascade: Cascade | None = None
    embedded: set[int] = field(default_factory=set)  # articles the cascade embedded with e5
    escalated: int = 0  # decisions the cascade handed to the full model
    singletons: dict[int, Story] = field(default_factory=dict)  # one-member views
    story_of: list[int] = field(default_factory=list)
    stories: dict[int, Story] = field(default_factory=dict)
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_hash: dict[str, int] = field(default_factory=dict)
    buckets: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    decisions: list[Decision] = field(default_factory=list)
    # Training: later article → [(example id, earlier article)]; when the later article
    # arrives, its features against the earlier one's current story are recorded.
    watch: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    observed: dict[int, tuple[dict[str, float], bool]] = field(default_factory=dict)

    @property
    def signals(self) -> Sequence[Signals]:
        return self.corpus.signals

    def candidate_stories(self, index: int, keys: list[str]) -> list[int]:
        shared: Counter[int] = Counter()
        for key in keys:
            shared.update(self.postings.get(key, ()))
        p = self.signals[index].profile
        found = []
        for i, _ in shared.most_common(MAX_CANDIDATES):
            q = self.signals[i].profile
            if p.published and q.published and abs((p.published - q.published).days) > WINDOW_DAYS:
                continue
            found.append(self.story_of[i])
        return sorted(set(found))

    def _copy_of(self, x: Signals) -> tuple[str, int] | None:
        if x.text_hash in self.by_hash:
            return "exact", self.by_hash[x.text_hash]
        if x.fingerprint.shingle_count == 0:
            return None
        best, best_score = None, 0.0
        for i in {i for key in x.copy_keys for i in self.buckets.get(key, ())}:
            copy, score = copies.is_copy(
                x.fingerprint, self.signals[i].fingerprint, NEAR_COPY_THRESHOLD
            )
            if copy and score > best_score:
                best, best_score = i, score
        return ("near_copy", best) if best is not None else None

    def score_story(self, index: int, story_id: int, model: Model) -> float:
        story = self.stories[story_id]
        x = self.signals[index]
        if model.aggregate == "top3":
            ps = []
            for m in story.members[-MAX_MEMBERS:]:
                single = self.singletons.get(m)
                if single is None:
                    single = self.singletons[m] = Story()
                    single.add(m, self.signals[m])
                f = story_features(self.corpus, index, single, model.overlaps)
                ps.append(model.probability(f, is_cross(x, single)))
            best = sorted(ps, reverse=True)[:3]
            return sum(best) / len(best)
        f = story_features(self.corpus, index, story, model.overlaps)
        return model.probability(f, is_cross(x, story))

    def decide(self, index: int, keys: list[str]) -> tuple[int, float]:
        """(best candidate story or -1, its P) by the model, or by the cascade's full model
        when the model is unsure."""
        scored = [
            (self.score_story(index, s, self.model), s) for s in self.candidate_stories(index, keys)
        ]
        if not scored:
            return -1, math.nan
        best_p, best_story = max(scored)
        threshold = self.model.threshold
        cascade = self.cascade
        if cascade is not None and cascade.low <= best_p < cascade.high:
            self.escalated += 1
            self.embedded.add(index)
            rescored = []
            for p, story_id in sorted(scored, reverse=True)[: cascade.top]:
                if p >= cascade.low:
                    self.embedded.update(self.stories[story_id].members[-MAX_MEMBERS:])
                    rescored.append((self.score_story(index, story_id, cascade.full), story_id))
            best_p, best_story = max(rescored)
            threshold = cascade.full.threshold
        return (best_story, best_p) if best_p >= threshold else (-1, best_p)

    def add(self, index: int) -> int:
        x = self.signals[index]
        for example, earlier in self.watch.get(index, ()):
            story = self.stories[self.story_of[earlier]]
            self.observed[example] = (story_features(self.corpus, index, story), is_cross(x, story))
        keys = x.keys
        copy = self._copy_of(x)
        if copy is not None:
            story, decision = self.story_of[copy[1]], Decision(copy[0], self.story_of[copy[1]], 1.0)
        else:
            best_story, best_p = self.decide(index, keys)
            story, layer = (best_story, "same_story") if best_story >= 0 else (index, "new")
            decision = Decision(layer, story, best_p)
        self.decisions.append(decision)
        self.story_of.append(story)
        self.stories.setdefault(story, Story()).add(index, x)
        for key in keys:
            self.postings[key].append(index)
        self.by_hash.setdefault(x.text_hash, index)
        for key in x.copy_keys:
            self.buckets[key].append(index)
        return story


def run(
    corpus: Corpus,
    model: Model,
    watch: dict[int, list[tuple[int, int]]] | None = None,
    cascade: Cascade | None = None,
) -> Engine:
    engine = Engine(corpus, model, cascade, watch=watch or {})
    for i in range(len(corpus)):
        engine.add(i)
    return engine


# --- fitting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledPosition:
    """A labelled pair as stream positions: `earlier` arrives before `later`."""

    earlier: int
    later: int
    mono: bool
    same: bool


Example = tuple[dict[str, float], bool]  # features, cross-lingual


def singleton_examples(corpus: Corpus, pairs: Sequence[LabelledPosition]) -> list[Example]:
    """Features of each later article against a story holding only the earlier one."""
    out = []
    for pair in pairs:
        story = Story()
        story.add(pair.earlier, corpus.signals[pair.earlier])
        x = corpus.signals[pair.later]
        out.append((story_features(corpus, pair.later, story), is_cross(x, story)))
    return out


def streamed_examples(
    corpus: Corpus, model: Model, pairs: Sequence[LabelledPosition]
) -> list[Example]:
    """Features of each later article against the earlier one's story as `model`'s stream
    has built it when the later article arrives (story-level features as the engine sees
    them at decision time)."""
    watch: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for n, pair in enumerate(pairs):
        watch[pair.later].append((n, pair.earlier))
    engine = run(corpus, model, watch)
    return [engine.observed[n] for n in range(len(pairs))]


def fit_weights(
    examples: Sequence[Example], labels: Sequence[bool], columns: Sequence[str], c: float
) -> dict[str, float]:
    """Logistic regression on standardised columns (so the L2 penalty treats a cosine
    squeezed into [0.75, 1], like e5's, the same as one spread over [0, 1]), returned as
    weights on the raw features."""
    x = np.array([[f[name] for name in columns] for f, _ in examples])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    bias, w = fit_logistic((x - mean) / std, np.array(labels, dtype=float), c)
    raw = w / std
    return {
        "bias": float(bias - raw @ mean),
        **{name: float(v) for name, v in zip(columns, raw, strict=True)},
    }


@dataclass(frozen=True)
class Spec:
    """A model family: what is fitted (columns, C), how, and how the threshold is chosen."""

    columns: tuple[str, ...]
    c: float = 1.0
    time_prior: bool = True
    streamed: bool = True  # refit on features from the stream (story level), not singletons
    aggregate: str = "max"  # Model.aggregate
    # "stream": best training-pair F1 of the streamed engine; "pairwise": best F1 cut of
    # the training examples; a number: that threshold, whatever the training pairs say.
    threshold: str | float = "stream"
    grid: tuple[float, ...] = tuple(round(0.2 + 0.05 * i, 2) for i in range(13))

    @property
    def cross_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c in CROSS_FEATURES)


def fit(corpus: Corpus, pairs: Sequence[LabelledPosition], spec: Spec) -> Model:
    """Weights and threshold from labelled (training) pairs only."""
    mono = [n for n, p in enumerate(pairs) if p.mono]
    labels = [pairs[n].same for n in mono]

    def weights(examples: Sequence[Example]) -> Model:
        chosen = [examples[n] for n in mono]
        return Model(
            fit_weights(chosen, labels, spec.columns, spec.c),
            fit_weights(chosen, labels, spec.cross_columns, spec.c),
            0.5,
            spec.time_prior,
            spec.aggregate,
        )

    examples = singleton_examples(corpus, pairs)
    model = weights(examples)
    if spec.streamed:
        examples = streamed_examples(corpus, model, pairs)
        model = weights(examples)
    if isinstance(spec.threshold, float):
        return replace(model, threshold=spec.threshold)
    if spec.threshold == "pairwise":
        scores = np.array([model.probability(f, cross) for f, cross in examples])
        cut = best_threshold(scores, np.array([p.same for p in pairs]))
        return replace(model, threshold=cut)
    return choose_threshold(corpus, model, pairs, spec)


def pair_f1(story_of: Sequence[int], pairs: Sequence[LabelledPosition]) -> float:
    tp = sum(p.same and story_of[p.earlier] == story_of[p.later] for p in pairs)
    predicted = sum(story_of[p.earlier] == story_of[p.later] for p in pairs)
    positives = sum(p.same for p in pairs)
    return 2 * tp / (predicted + positives) if predicted + positives else 0.0


def choose_threshold(
    corpus: Corpus, model: Model, pairs: Sequence[LabelledPosition], spec: Spec
) -> Model:
    """The threshold with the best pairwise F1 on `pairs` when the whole stream is run with
    it; ties: the middle of the best run of grid points."""
    f1s = []
    for t in spec.grid:
        engine = run(corpus, replace(model, threshold=t))
        f1s.append(pair_f1(engine.story_of, pairs))
    top = max(f1s)
    best = [t for t, f in zip(spec.grid, f1s, strict=True) if f >= top - 1e-9]
    return replace(model, threshold=best[len(best) // 2])
