"""pipeline.extract.language: confident detection first, then the page's declaration, then
the feed's hint."""

from __future__ import annotations

from articlepage import page

from pipeline.extract import detect_language, extract_article


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
