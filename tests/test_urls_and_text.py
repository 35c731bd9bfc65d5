"""Canonical URLs and text hygiene."""

from __future__ import annotations

import pytest

from pipeline.textnorm import clean_line, clean_text, text_hash, word_count
from pipeline.urls import absolute_http_url, canonical_or_none, canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://News.Example:443/a/b/?utm_source=rss&utm_medium=feed",
            "https://news.example/a/b",
        ),
        ("https://news.example/a?id=3&fbclid=x&page=2#top", "https://news.example/a?id=3&page=2"),
        ("http://news.example:80/a/", "http://news.example/a"),
        ("https://news.example", "https://news.example/"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_spellings_of_one_article_agree() -> None:
    variants = [
        "https://news.example/politik/gipfel-astana.html",
        "https://NEWS.example/politik/gipfel-astana.html?utm_campaign=x",
        "https://news.example/politik/gipfel-astana.html#kommentare",
    ]
    assert len({canonical_url(v) for v in variants}) == 1


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/a/b.html", "https://news.example/a/b.html"),
        ("c.html", "https://news.example/feeds/c.html"),
        ("javascript:void(0)", None),
        ("data:text/plain,x", None),
        ("file:///etc/passwd", None),
        ("mailto:x@news.example", None),
        ("", None),
        (None, None),
    ],
)
def test_absolute_http_url(link: str | None, expected: str | None) -> None:
    assert absolute_http_url(link, "https://news.example/feeds/all.xml") == expected


def test_canonical_or_none_rejects_non_http() -> None:
    assert canonical_or_none("/relative") is None
    assert canonical_or_none("https://x.example/a?utm_source=y") == "https://x.example/a"


def test_clean_text_removes_controls_keeps_paragraphs() -> None:
    raw = "Erster\x00 Absatz\r\n\r\n\r\nZweiter\u00a0\u00a0Absatz\x07\n  "
    assert clean_text(raw) == "Erster Absatz\n\nZweiter Absatz"


def test_clean_line_bounds_and_collapses() -> None:
    assert clean_line("  A\n\nB  ", 10) == "A B"
    assert clean_line("x" * 50, 10) == "x" * 10
    assert clean_line("\x00 ") is None


def test_text_hash_ignores_case_spacing_and_punctuation() -> None:
    a = "Putin trifft Xi in Astana. Die SCO tagt!"
    b = "putin  trifft xi in astana – die sco tagt"
    assert text_hash(a) == text_hash(b)
    assert text_hash(a) != text_hash(a.replace("Xi", "Modi"))
    assert word_count(a) == 8
