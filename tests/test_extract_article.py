"""pipeline.extract.article: trafilatura with our settings and cruft rules: cruft lines and
headline dropped, minimum text, declared canonical URL, articles in every script. Charset,
language and page dates have their own modules (test_extract_decode, _language, _dates)."""

from __future__ import annotations

import pytest
from articlepage import BODY_DE, page

from pipeline.extract import ExtractionError, extract_article


def test_cruft_lines_and_headline_are_dropped() -> None:
    article = extract_article(page(BODY_DE), url="https://welt.example/a")
    assert article.text.split("\n") == [BODY_DE[0], BODY_DE[1], BODY_DE[4]]
    assert article.title == "Putin lobt Beziehungen zu China"
    assert article.language == "de"
    assert article.published_at is not None
    assert article.published_at.isoformat() == "2024-07-03T10:15:00+02:00"
    assert article.word_count == len(article.text.split())


def test_declared_canonical_url_is_reported() -> None:
    head = '<link rel="canonical" href="https://original.example/gipfel">'
    article = extract_article(page(BODY_DE, head=head), url="https://copy.example/x")
    assert article.declared_url == "https://original.example/gipfel"


def test_too_little_text_is_an_error_with_reason() -> None:
    with pytest.raises(ExtractionError, match=r"too little article text: \d+ words"):
        extract_article(page(["Nur für Abonnenten. Jetzt weiterlesen mit Plus."]))


def test_page_without_text() -> None:
    with pytest.raises(ExtractionError, match="no article text found"):
        extract_article("<html><head><title>Leer</title></head><body></body></html>")
    with pytest.raises(ExtractionError, match="too little article text: 1 words"):
        extract_article("<html><body><nav><a href='/'>Start</a></nav></body></html>")


def test_nul_bytes_are_tolerated() -> None:
    article = extract_article(page(BODY_DE).replace("Putin derzeit", "Putin\x00 derzeit"))
    assert "\x00" not in article.text


@pytest.mark.parametrize(
    "slug",
    [
        "zh-hangzhou-waste-points",
        "zh-yangtze-flood-response",
        "ja-osaka-bus-fares",
        "ko-busan-bus-routes",
        "th-bangkok-bike-lanes",
    ],
)
def test_reports_in_every_script_are_articles(slug: str) -> None:
    """Word units count characters of unspaced scripts: a 310-character Chinese report was
    'too little article text: 28 words', a longer one 'only short lines'."""
    import json
    from pathlib import Path

    report = json.loads(
        (Path(__file__).parent / "fixtures" / "scripts" / f"{slug}.json").read_text("utf-8")
    )
    html = page(report["paragraphs"], title=report["title"], lang=report["language"])
    article = extract_article(html, url=f"https://example.com/{slug}")
    assert article.language == report["language"]
    assert article.word_count >= 100
    assert report["paragraphs"][1][:20] in article.text
