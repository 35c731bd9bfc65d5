"""The story fixtures as profiles: two German reports of the July 2024 SCO summit in Astana
(tests/fixtures/seeds, one story) and hand-written hard negatives (same people at other
events, the same kind of event elsewhere: tests/fixtures/story_negatives), with USE and e5
vectors as the engine computes them."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from pipeline.stories import encoders
from pipeline.stories import profile as prof

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
    vectors = encoders.embed_articles("use", [(None, text) for _, text in items])
    stats = prof.InMemoryTermStats()
    out = {}
    for path, (published, text), vector in zip(files, items, vectors, strict=True):
        profile = prof.build_profile(None, text, "de", published, stats, vector)
        stats.add(profile)
        out[path.name] = profile
    return out


@pytest.fixture(scope="module")
def e5_vectors() -> dict[str, np.ndarray]:
    """e5 vectors of the seeds and negatives (title + lead, as the engine embeds them)."""
    files = SEEDS + NEGATIVES
    texts = [read_fixture(f)[1] for f in files]
    matrix = encoders.embed_articles("e5", [(None, text) for text in texts])
    return {f.name: v for f, v in zip(files, matrix, strict=True)}
