"""pipeline.feeds.repair: numeric character references XML forbids (surrogates, beyond
U+10FFFF, control characters) replaced in the raw bytes, so one bad item costs nothing."""

from __future__ import annotations

import pytest
from feeddocs import item, parse, rss

from pipeline.feeds.repair import sanitise_character_references


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("&#xD800;", "\ufffd"),
        ("&#xdfff;", "\ufffd"),
        ("&#x110000;", "\ufffd"),
        ("&#12345678901234567890;", "\ufffd"),
        ("&#" + "9" * 5000 + ";", "\ufffd"),  # int() would refuse more than 4,300 digits
        ("&#xFFFE;", "\ufffd"),
        ("&#1;", " "),
        ("&#0;", " "),
        ("&#x41;", "A"),  # valid references are left alone
        ("&#0000065;", "A"),
        ("&#x1F600;", "\U0001f600"),
    ],
)
def test_invalid_character_references_cost_nothing(reference: str, expected: str) -> None:
    feed = parse(
        rss(
            item("https://news.example/a", title=f"Vor{reference}Nach")
            + item("https://news.example/b", title="Nachbar")
        )
    )
    assert [entry.title for entry in feed.entries] == [
        " ".join(f"Vor{expected}Nach".split()),
        "Nachbar",
    ]
    assert feed.repaired_references == (0 if expected in ("A", "\U0001f600") else 1)


def test_invalid_references_in_utf16_are_repaired_in_utf16() -> None:
    document = rss(item("https://news.example/a", title="X&#xD800;Y"), encoding="utf-16")
    feed = parse(document.encode("utf-16"))
    assert feed.entries[0].title == "X\ufffdY"
    assert feed.repaired_references == 1


def test_repair_counts_and_replaces_only_what_xml_forbids() -> None:
    document = b"<t>&#xD800; &#65; &#x1; &#x10FFFF; &#x110000 &#9;</t>"
    repaired, count = sanitise_character_references(document)
    assert count == 3  # the surrogate, the control character, the one beyond U+10FFFF
    assert repaired == b"<t>&#xFFFD; &#65; &#32; &#x10FFFF; &#xFFFD; &#9;</t>"


def test_a_document_without_bad_references_comes_back_as_it_was() -> None:
    document = "<t>Grüße &amp; &#228; &#x1F600;</t>".encode()
    assert sanitise_character_references(document) == (document, 0)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wide_documents_are_repaired_in_their_own_encoding(codec: str) -> None:
    text = '<?xml version="1.0"?><t>a&#xDFFF;b</t>'
    repaired, count = sanitise_character_references(text.encode(codec))
    assert count == 1
    assert repaired.decode(codec) == text.replace("&#xDFFF;", "&#xFFFD;")


def test_a_document_that_is_not_what_its_byte_order_mark_says_is_left_to_the_parser() -> None:
    broken = b"\xff\xfe<\x00t\x00\x00\xd8"  # UTF-16-LE mark, then a lone high surrogate
    assert sanitise_character_references(broken) == (broken, 0)
