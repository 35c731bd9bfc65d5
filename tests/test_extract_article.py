"""Extraction rules on top of trafilatura: cruft lines, headline, minimum text, language,
charsets. The page-by-page checks against realistic sites live in test_pages.py."""

from __future__ import annotations

import pytest

from pipeline.extract import ExtractionError, decode_html, detect_language, extract_article

BODY_DE = [
    "Die Beziehungen zwischen China und Russland sind nach Auffassung von Präsident Wladimir "
    "Putin derzeit so gut wie noch niemals zuvor, sagte er am Mittwoch in Astana.",
    "Bei einem Gespräch mit Xi am Rande eines Gipfeltreffens nannte Putin die Zusammenarbeit "
    "beider Länder einen Schlüsselfaktor für die globale Stabilisierung.",
    "Lesen Sie auch",
    "Video Ich möchte eingebundene Social Media Inhalte sehen. Hierbei werden personenbezogene "
    "Daten (IP-Adresse o.ä.) übertragen. Inhalt erlauben",
    "Die Konferenz dauert bis Donnerstag. Indiens Ministerpräsident Narendra Modi hat seine "
    "Teilnahme abgesagt und schickt Außenminister Subrahmanyam Jaishankar.",
]


def page(
    paragraphs: list[str],
    *,
    title: str = "Putin lobt Beziehungen zu China",
    lang: str = "de",
    head: str = "",
) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="article:published_time" content="2024-07-03T10:15:00+02:00">{head}'
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )


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


def test_language_detection_beats_wrong_declaration() -> None:
    english = [
        "The relationship between China and Russia is better than ever, President Vladimir Putin "
        "said on Wednesday at a summit in the Kazakh capital Astana.",
        "Meeting Xi on the sidelines of the gathering, Putin called the cooperation of both "
        "countries a key factor for global stability and security in the region.",
    ]
    article = extract_article(page(english, title="Putin praises ties", lang="de"))
    assert article.language == "en"


def test_language_falls_back_to_declaration_then_hint() -> None:
    assert detect_language("", declared="de", hint="en") == "de"
    assert detect_language("", declared=None, hint="en") == "en"


def test_decode_html_uses_header_charset_only_when_it_fits() -> None:
    latin = "<p>Grüße</p>".encode("iso-8859-1")
    assert decode_html(latin, "iso-8859-1") == "<p>Grüße</p>"
    # Declared utf-8 but bytes are latin-1: leave the bytes to trafilatura's sniffing.
    assert decode_html(latin, "utf-8") == latin
    assert decode_html(latin, "no-such-charset") == latin


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
