"""pipeline.extract.dates: page dates read strictly; an impossible UTC offset is an unknown
date, never a shifted one, and never costs the article."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from articlepage import BODY_DE, page

from pipeline.extract import extract_article
from pipeline.extract.dates import page_date


@pytest.mark.parametrize(
    "head",
    [
        '<meta property="article:published_time" content="2025-06-10T12:00:00+99:99">',
        '<meta property="article:published_time" content="2025-06-10T12:00:00+20:00">',
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2025-06-10T12:00:00+9999"}</script>',
    ],
)
def test_an_impossible_page_date_is_unknown_and_costs_nothing_else(head: str) -> None:
    """htmldate raised ValueError on such offsets and trafilatura dropped the whole page."""
    good_date = '<meta property="article:published_time" content="2024-07-03T10:15:00+02:00">'
    html = page(BODY_DE, head=head).replace(good_date, "")
    article = extract_article(html, url="https://example.com/a")
    assert article.published_at is None
    assert "Putin" in article.text


def test_htmldate_guard_is_installed_where_trafilatura_calls_it() -> None:
    import trafilatura.metadata

    from pipeline.extract.dates import _find_date_or_none

    assert trafilatura.metadata.find_date is _find_date_or_none


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2024-07-03T10:15:00+0200", datetime(2024, 7, 3, 8, 15, tzinfo=UTC)),
        ("2024-07-03T10:15:00-1400", datetime(2024, 7, 4, 0, 15, tzinfo=UTC)),
        ("2024-07-03", datetime(2024, 7, 3, tzinfo=UTC)),  # a day only: midnight UTC
    ],
)
def test_page_dates_are_aware_moments(value: str, moment: datetime) -> None:
    parsed = page_date(value)
    assert parsed == moment
    assert parsed is not None
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value", ["2024-07-03T10:15:00+1500", "2024-07-03T10:15:00-2359", "yesterday", "", None]
)
def test_an_impossible_or_unreadable_page_date_is_unknown(value: str | None) -> None:
    assert page_date(value) is None
