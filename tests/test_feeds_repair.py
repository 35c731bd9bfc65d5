"""pipeline.feeds.repair: numeric character references XML forbids (surrogates, beyond
U+10FFFF, control characters) replaced in the raw bytes, so one bad item costs nothing."""

from __future__ import annotations

import pytest
from feeddocs import item, parse, rss


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
