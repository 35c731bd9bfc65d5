"""Near-copy fingerprints: MinHash over word shingles, banded into LSH keys.

Containment rather than Jaccard decides: a wire story republished with a paragraph
dropped or a "read also" block added is still a copy, although its Jaccard similarity
with the original can fall to 0.7.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..textnorm import normalized_for_hash

if TYPE_CHECKING:
    from datasketch import MinHash

MINHASH_SEED = 1
# 32 bands of 4 rows: an article pair with Jaccard 0.5 shares a bucket with p = 0.87,
# with Jaccard 0.6 with p = 0.99, with Jaccard 0.2 with p = 0.05.
LSH_ROWS = 4
# A copy must overlap this much in Jaccard terms too, so a brief that happens to be
# contained in a long article is not a "copy" of it.
MIN_COPY_JACCARD = 0.5


@dataclass(frozen=True)
class CopyFingerprint:
    signature: np.ndarray  # uint32[num_perm]
    shingle_count: int

    def to_bytes(self) -> bytes:
        return self.signature.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, shingle_count: int) -> CopyFingerprint:
        return cls(np.frombuffer(data, dtype="<u4").astype(np.uint32), shingle_count)


def shingles(text: str, size: int) -> set[bytes]:
    words = normalized_for_hash(text).split()
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


@lru_cache(maxsize=4)
def _template(num_perm: int) -> MinHash:
    # Building the permutations is the expensive part of MinHash(); copy a template instead.
    # Imported here: the datasketch package takes 1.5 s to import, which commands that
    # never fingerprint (feeds, extract) should not pay.
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=MINHASH_SEED)


def fingerprint(text: str, *, shingle_size: int, num_perm: int) -> CopyFingerprint:
    items = shingles(text, shingle_size)
    minhash = _template(num_perm).copy()
    if items:
        minhash.update_batch(list(items))
    return CopyFingerprint(minhash.hashvalues.astype(np.uint32), len(items))


def lsh_keys(fp: CopyFingerprint) -> list[int]:
    """One signed 64-bit bucket key per band (band number mixed in, so keys never collide
    across bands)."""
    rows = fp.signature.astype("<u4")
    keys = []
    for band, start in enumerate(range(0, len(rows) - LSH_ROWS + 1, LSH_ROWS)):
        digest = hashlib.blake2b(
            band.to_bytes(2, "little") + rows[start : start + LSH_ROWS].tobytes(), digest_size=8
        ).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def jaccard(a: CopyFingerprint, b: CopyFingerprint) -> float:
    if len(a.signature) != len(b.signature):
        raise ValueError("fingerprints of different num_perm")
    if a.shingle_count == 0 or b.shingle_count == 0:
        return 0.0
    return float(np.mean(a.signature == b.signature))


def containment(a: CopyFingerprint, b: CopyFingerprint) -> tuple[float, float]:
    """(Jaccard estimate, share of the smaller text found in the larger)."""
    j = jaccard(a, b)
    if j == 0.0:
        return 0.0, 0.0
    intersection = j * (a.shingle_count + b.shingle_count) / (1.0 + j)
    return j, min(1.0, intersection / min(a.shingle_count, b.shingle_count))


def is_copy(a: CopyFingerprint, b: CopyFingerprint, threshold: float) -> tuple[bool, float]:
    j, contained = containment(a, b)
    return (j >= MIN_COPY_JACCARD and contained >= threshold), contained
