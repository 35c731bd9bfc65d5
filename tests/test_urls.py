"""pipeline.urls: canonical URLs (one spelling per article), absolute http(s) links, the
bound on URL bytes, and when a page's declared URL is trusted."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    ("declared", "page", "aliases", "trusted"),
    [
        ("https://www.news.example/a", "https://news.example/b", [], True),  # www. aside
        ("https://news.example/a", "https://news.example:8443/b", [], False),  # another port
        ("https://other.example/a", "https://news.example/b", [], False),
        ("https://m.news.example/a", "https://news.example/b", [], False),
        ("https://m.news.example/a", "https://news.example/b", ["m.news.example"], True),
        ("https://wire.example:8080/a", "https://news.example/b", ["wire.example:8080"], True),
        ("https://wire.example:8081/a", "https://news.example/b", ["wire.example:8080"], False),
        ("not a url", "https://news.example/b", [], False),
    ],
)
def test_declared_url_counts_only_on_its_own_site(
    declared: str, page: str, aliases: list[str], trusted: bool
) -> None:
    from pipeline.urls import declared_on_own_site

    assert declared_on_own_site(declared, page, aliases) is trusted


def test_urls_are_bounded_in_bytes_not_characters() -> None:
    from pipeline.urls import MAX_URL_BYTES

    cjk = "https://news.example/" + "中" * 700  # 721 characters, 6,300 bytes percent-encoded
    assert canonical_or_none(cjk) is None
    ascii_ok = "https://news.example/" + "a" * (MAX_URL_BYTES - 30)
    assert canonical_or_none(ascii_ok) == ascii_ok
