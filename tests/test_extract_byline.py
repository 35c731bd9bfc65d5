"""pipeline.extract.byline: the byline and dateline lines trafilatura leaves at the top of an
article's text are dropped (the author has its own column); nothing else is."""

from __future__ import annotations

import pytest

from pipeline.extract.byline import MAX_LEADING_LINES, is_byline, strip_byline

FIRST_PARAGRAPH = (
    "Der Stadtrat hat am Montagabend beschlossen, die Radwege im Norden der Stadt auszubauen."
)


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("Von Anna Schmidt, Berlin", None),
        ("By Jane Doe in London", None),
        ("Par Marie Dupont", None),
        ("Anna Schmidt", "Anna Schmidt"),  # the author's name on its own
        ("A. Schmidt, Berlin", "Anna Schmidt"),  # shares the surname
        ("BERLIN, 12. März 2024", None),
        ("Berlin (dpa)", None),
        ("London, 2024-03-12 10:15", None),
    ],
)
def test_bylines_and_datelines_are_recognised(line: str, author: str | None) -> None:
    assert is_byline(line, author)


@pytest.mark.parametrize(
    ("line", "author"),
    [
        (FIRST_PARAGRAPH, None),
        ("Von wegen.", None),  # a sentence, not a byline
        ("Was nun, Berlin?", None),
        ("Jane Doe", None),  # a bare name counts only as the author's
        ("Jane Doe", "John Roe"),
        ("", None),
    ],
)
def test_other_lines_are_not(line: str, author: str | None) -> None:
    assert not is_byline(line, author)


def test_leading_byline_and_dateline_are_stripped() -> None:
    text = f"Von Anna Schmidt\nBERLIN, 12. März 2024\n{FIRST_PARAGRAPH}\nAnna Schmidt"
    assert strip_byline(text, "Anna Schmidt") == f"{FIRST_PARAGRAPH}\nAnna Schmidt"


def test_only_the_first_lines_are_considered() -> None:
    leading = ["Von Anna Schmidt", "Berlin (dpa)", "London, 2024-03-12", "Berlin, 1. März 2024"]
    assert len(leading) > MAX_LEADING_LINES
    text = "\n".join([*leading, FIRST_PARAGRAPH])
    assert strip_byline(text) == "\n".join([*leading[MAX_LEADING_LINES:], FIRST_PARAGRAPH])


def test_stripping_stops_at_the_first_line_of_the_article() -> None:
    text = f"{FIRST_PARAGRAPH}\nVon Anna Schmidt"
    assert strip_byline(text) == text


def test_a_text_that_is_only_a_byline_is_kept() -> None:
    """Article text must remain after the byline; else the line is all there is."""
    assert strip_byline("Von Anna Schmidt") == "Von Anna Schmidt"
