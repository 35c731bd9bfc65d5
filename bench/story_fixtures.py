"""The test suite's story fixtures as `cluster` input, and the checks the engine must pass
on them (tests/test_story_engine.py): the SCO-summit reports (two seeds and one fixture
article) form one story, every other fixture article and every hand-written hard negative
(tests/fixtures/story_negatives) stays out of it, with and without dates; with dates, the
two independent reports of Modi's Moscow visit form one story."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from newssite import SEED_STORY, load_fixture_articles, load_seed  # noqa: E402

from pipeline.analytics.cluster import InputArticle  # noqa: E402

NEGATIVES = REPO / "tests" / "fixtures" / "story_negatives"
MODI = ("putin-empfaengt-modi-moskau", "01_putin_empfaengt_modi_moskau")


def fixture_inputs(*, dated: bool) -> tuple[list[InputArticle], set[str]]:
    """(articles in the tests' order, ids of the SCO-summit story), as the tests build them."""
    articles = [load_seed("000"), load_seed("001"), *load_fixture_articles()]
    inputs = [
        InputArticle(
            id=a.slug,
            language=a.language,
            title=a.title,
            text="\n".join(a.paragraphs),
            published=a.published.date() if dated else None,
            url=f"https://test.example/{a.slug}",
            source="test",
        )
        for a in articles
    ]
    # The negatives carry their date inside the text only (as in the tests).
    inputs += [
        InputArticle(path.stem, "de", None, path.read_text(encoding="utf-8"), None, None, "neg")
        for path in sorted(NEGATIVES.glob("*.txt"))
    ]
    return inputs, {a.slug for a in articles if a.story == SEED_STORY}


def fixture_problems(story_of: dict[str, int], sco: set[str], *, dated: bool) -> list[str]:
    """What the tests would flag in a clustering of `fixture_inputs` (empty: all pass)."""
    members: dict[int, set[str]] = defaultdict(set)
    for article_id, story in story_of.items():
        members[story].add(article_id)
    problems = []
    for slug in sorted(sco):
        if members[story_of[slug]] != sco:
            problems.append(f"{slug} is with {sorted(members[story_of[slug]])}")
    for other in sorted(set(story_of) - sco):
        if members[story_of[other]] & sco:
            problems.append(f"{other} joined the SCO story")
    if dated and story_of[MODI[0]] != story_of[MODI[1]]:
        problems.append("the two Modi-in-Moscow reports are apart")
    return problems
