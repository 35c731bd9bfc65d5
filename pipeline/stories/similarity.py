"""Candidate retrieval of the same-story layer: the inverted-index keys an article is
posted and looked up under, and the sparse cosine of two tf-idf term vectors.

The same-story decision itself is model.py; the research-only pairwise scoring of two
profiles (v1 score, entity and number overlaps) lives in bench/story_pairs.py.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from pipeline.stories.profile import ArticleProfile

CANDIDATE_TERMS = 12  # k top-weighted stems an article is indexed and looked up under
CANDIDATE_ENTITIES = 4  # + its k rarest entity candidates
LSH_BANDS = 16  # vector LSH: bands of random-hyperplane signs
LSH_BITS = 10  # bits per band: a pair at cosine 0.7 shares a band with p ≈ 0.6
LSH_SEED = 20220801


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Dot product of two L2-normalised sparse vectors."""
    # The key intersection is computed in C; most pairs share only a few terms.
    return sum(a[key] * b[key] for key in a.keys() & b.keys())


@lru_cache(maxsize=4)
def _lsh_planes(dims: int) -> np.ndarray:
    rng = np.random.default_rng(LSH_SEED)
    return rng.standard_normal((dims, LSH_BANDS * LSH_BITS)).astype(np.float32)


def lsh_keys(vector: np.ndarray, encoder: str = "use") -> list[str]:
    """Random-hyperplane LSH bands of an encoder vector: '<prefix>:<band>:<bits as hex>',
    prefix 'lsh' for USE (as stored before encoders were named), 'lsh-<encoder>' for
    others, so the bands of two vector spaces never share a key."""
    vector = np.asarray(vector, dtype=np.float32)
    bits = (vector @ _lsh_planes(len(vector))) > 0
    prefix = "lsh" if encoder == "use" else f"lsh-{encoder}"
    keys = []
    for band in range(LSH_BANDS):
        chunk = bits[band * LSH_BITS : (band + 1) * LSH_BITS]
        value = sum(1 << i for i, bit in enumerate(chunk) if bit)
        keys.append(f"{prefix}:{band}:{value:x}")
    return keys


def candidate_keys(profile: ArticleProfile, k: int = CANDIDATE_TERMS) -> list[str]:
    """Inverted-index keys of an article: top-k stems, top entities, embedding LSH bands.

    The engine posts every article under these keys and looks a new article up under its
    own: two articles are candidates when they share a key. Stems are ranked by their tf-idf
    weight (rare in the corpus and background, repeated or in the title/lead), not by idf
    alone: the k highest-idf stems are mostly one-off tokens (typos, rare inflections) that
    no other report repeats (dev: candidate recall 0.52 by idf vs 0.97 by weight, k = 12).
    Entities are ranked by background rarity; LSH bands catch pairs without shared words
    (mostly cross-lingual).
    """
    ranked = sorted(profile.terms, key=lambda t: (-profile.terms[t], t))
    keys = [f"t:{term}" for term in ranked[:k]]
    keys.extend(f"e:{entity}" for entity in profile.entities[:CANDIDATE_ENTITIES])
    if profile.embedding is not None:
        keys.extend(lsh_keys(profile.embedding))
    return keys
