"""pipeline.stories.similarity: the candidate keys an article is posted under; the seed
reports of one story find each other through them."""

from __future__ import annotations

import numpy as np
from storyseeds import SEEDS, profiles  # noqa: F401  (fixture)

from pipeline.stories import profile as prof
from pipeline.stories import similarity as sim


def test_seeds_find_each_other_as_candidates(
    profiles: dict[str, prof.ArticleProfile],  # noqa: F811
) -> None:
    first, second = (profiles[p.name] for p in SEEDS)
    shared = set(sim.candidate_keys(first)) & set(sim.candidate_keys(second))
    assert len([k for k in shared if k.startswith(("t:", "e:"))]) >= 2, shared


def test_candidate_keys_are_top_terms_entities_and_lsh_bands() -> None:
    profile = prof.ArticleProfile(
        "de", None, {"astana": 0.8, "gipfel": 0.6}, {}, ("astana", "soz"), frozenset()
    )
    assert sim.candidate_keys(profile) == ["t:astana", "t:gipfel", "e:astana", "e:soz"]
    vector = np.ones(prof.EMBEDDING_DIM, dtype=np.float32)
    with_vector = prof.ArticleProfile(
        "de", None, profile.terms, {}, profile.entities, frozenset(), vector
    )
    keys = sim.candidate_keys(with_vector)
    assert len(keys) == 4 + sim.LSH_BANDS


def test_lsh_bands_of_two_encoders_never_share_a_key() -> None:
    rng = np.random.default_rng(0)
    use, e5 = rng.standard_normal(512), rng.standard_normal(384)
    use_keys, e5_keys = sim.lsh_keys(use), sim.lsh_keys(e5, "e5")
    assert all(k.startswith("lsh:") for k in use_keys)
    assert all(k.startswith("lsh-e5:") for k in e5_keys)
    assert not set(use_keys) & set(e5_keys)
    # Near vectors share most bands, opposite ones none.
    assert (
        len(set(sim.lsh_keys(use)) & set(sim.lsh_keys(use + 0.01 * rng.standard_normal(512)))) > 8
    )
    assert not set(sim.lsh_keys(use)) & set(sim.lsh_keys(-use))


def test_sparse_cosine() -> None:
    assert sim.cosine({"a": 0.6, "b": 0.8}, {"b": 1.0}) == 0.8
    assert sim.cosine({}, {"b": 1.0}) == 0.0
