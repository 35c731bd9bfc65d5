"""pipeline.extract.language: confident detection first, then the page's declaration, then
the feed's hint."""

from __future__ import annotations

import pytest
from articlepage import BODY_DE, page

from pipeline.extract import detect_language, extract_article
from pipeline.extract.language import declared_language


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


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ('<html lang="de-DE"><body><p>x</p></body></html>', "de"),
        (b'<html lang="EN"><body><p>x</p></body></html>', "en"),
        ('<html><head><meta http-equiv="content-language" content="fr"></head></html>', "fr"),
        ('<html lang="x1"><body></body></html>', None),
        ("<html><body><p>kein lang</p></body></html>", None),
        ("", None),
    ],
)
def test_declared_language_is_the_pages_two_letter_code(
    document: str | bytes, code: str | None
) -> None:
    assert declared_language(document) == code


def test_a_short_unclear_text_keeps_the_pages_declaration() -> None:
    assert detect_language("OK", declared="de", hint="en") == "de"


def test_a_confident_detection_overrides_declaration_and_hint() -> None:
    text = " ".join(BODY_DE[:2])
    assert detect_language(text, declared="en", hint="fr") == "de"
