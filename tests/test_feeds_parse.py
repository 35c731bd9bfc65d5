"""Feed documents → entries: formats, broken feeds, hostile entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from feeddocs import item, parse, rss

from pipeline.feeds.parse import FeedParseError


def test_rss2_entries() -> None:
    feed = parse(
        rss(
            item(
                "https://news.example/a?utm_source=rss",
                title="Gipfel in Astana",
                guid="g-1",
                date="Wed, 03 Jul 2024 10:15:00 +0200",
                description="<p>Der <b>Gipfel</b></p>",
            )
        )
    )
    (entry,) = feed.entries
    assert entry.url == "https://news.example/a?utm_source=rss"
    assert entry.canonical_url == "https://news.example/a"
    assert entry.guid == "g-1"
    assert entry.title == "Gipfel in Astana"
    assert entry.published_at == datetime(2024, 7, 3, 8, 15, tzinfo=UTC)
    assert entry.summary == "Der Gipfel"
    assert feed.version == "rss20"
    assert feed.problem is None


def test_atom_entries_with_relative_links() -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>'
        "<updated>2024-07-03T10:00:00Z</updated>"
        "<entry><title>Eins</title><id>urn:1</id><updated>2024-07-03T10:00:00Z</updated>"
        '<link rel="alternate" href="/politik/eins.html"/><summary>S</summary></entry>'
        "</feed>"
    )
    (entry,) = parse(atom).entries
    assert entry.url == "https://news.example/politik/eins.html"
    assert entry.guid == "urn:1"
    assert entry.published_at == datetime(2024, 7, 3, 10, 0, tzinfo=UTC)


def test_rss1_rdf() -> None:
    rdf = (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://news.example/">'
        "<title>R</title><link>https://news.example/</link></channel>"
        '<item rdf:about="https://news.example/r1"><title>R1</title>'
        "<link>https://news.example/r1</link></item></rdf:RDF>"
    )
    feed = parse(rdf)
    assert [e.url for e in feed.entries] == ["https://news.example/r1"]
    assert feed.version == "rss10"


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        (None, "entry has no link"),
        ("javascript:alert(1)", "link is not an http(s) URL"),
        ("data:text/html,<b>x</b>", "link is not an http(s) URL"),
        ("file:///etc/passwd", "link is not an http(s) URL"),
        ("ftp://files.example/a", "link is not an http(s) URL"),
    ],
)
def test_unfetchable_links_are_skipped_with_reason(link: str | None, reason: str) -> None:
    feed = parse(rss(item(link) + item("https://news.example/ok")))
    assert [e.url for e in feed.entries] == ["https://news.example/ok"]
    (skipped,) = feed.skipped
    assert skipped.reason.startswith(reason)


def test_duplicate_links_kept_once_duplicate_guids_kept() -> None:
    feed = parse(
        rss(
            item("https://news.example/a", guid="same")
            + item("https://news.example/a#comments", guid="other")
            + item("https://news.example/b", guid="same")
        )
    )
    assert [e.url for e in feed.entries] == ["https://news.example/a", "https://news.example/b"]
    assert [s.reason for s in feed.skipped] == ["duplicate of an earlier entry"]


@pytest.mark.parametrize(
    "date", ["Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 01 Jan 2999 00:00:00 GMT", "not a date"]
)
def test_absurd_dates_become_unknown(date: str) -> None:
    (entry,) = parse(rss(item("https://news.example/a", date=date))).entries
    assert entry.published_at is None


def test_max_entries_caps_and_reports() -> None:
    items = "".join(item(f"https://news.example/{i}") for i in range(30))
    feed = parse(rss(items), max_entries=10)
    assert len(feed.entries) == 10
    assert len(feed.skipped) == 20
    assert feed.skipped[0].reason == "beyond 10 entries"


def test_bozo_feed_with_entries_is_kept() -> None:
    broken = rss(item("https://news.example/a") + item("https://news.example/b")).replace(
        "</channel></rss>", "<unclosed></channel></rss>"
    )
    feed = parse(broken)
    assert len(feed.entries) == 2
    assert feed.problem


@pytest.mark.parametrize(
    "document",
    [
        b"this is not xml at all",
        b"<html><head><title>Home</title></head><body><p>Welcome</p></body></html>",
        rss(item("https://news.example/a")).encode()[:60],
        b"",
    ],
    ids=["not-xml", "html-page", "truncated", "empty-body"],
)
def test_unreadable_documents_raise(document: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse(document)


def test_empty_feed_is_fine() -> None:
    feed = parse(rss(""))
    assert feed.entries == []
    assert feed.problem is None


def test_encodings_are_decoded() -> None:
    latin = rss(item("https://news.example/a", title="Grüße aus Köln"), encoding="iso-8859-1")
    (entry,) = parse(latin.encode("iso-8859-1")).entries
    assert entry.title == "Grüße aus Köln"
    bom = b"\xef\xbb\xbf" + rss(item("https://news.example/b", title="Straße")).encode()
    assert parse(bom).entries[0].title == "Straße"
    # Declared UTF-8, actually windows-1252: feedparser falls back instead of failing.
    wrong = rss(item("https://news.example/c", title="Gebühr – 5 €")).encode("windows-1252")
    assert parse(wrong).entries[0].title == "Gebühr – 5 €"


def test_nul_and_control_characters_are_removed() -> None:
    feed = parse(rss(item("https://news.example/a", title="Null&#0;Byte\x01 Titel")))
    title = feed.entries[0].title
    assert title is not None
    assert "\x00" not in title
    assert "\x01" not in title
    assert "Titel" in title


def test_billion_laughs_does_not_expand() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
        + ']><rss version="2.0"><channel><title>&i;</title>'
        + item("https://news.example/a", title="&i;")
        + "</channel></rss>"
    )
    feed = parse(bomb.encode())
    for entry in feed.entries:
        assert len(entry.title or "") < 1000


def test_external_entities_are_not_resolved(tmp_path: object) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>X</title>'
        + item("https://news.example/a", title="&xxe;")
        + "</channel></rss>"
    )
    feed = parse(xxe.encode())
    assert all("root:" not in (entry.title or "") for entry in feed.entries)


def test_a_parser_crash_is_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedparser has no error contract: whatever it raises becomes FeedParseError."""

    def crash(*_args: object, **_kwargs: object) -> object:
        raise OverflowError("Python int too large to convert to C int")

    monkeypatch.setattr("pipeline.feeds.parse.feedparser.parse", crash)
    with pytest.raises(FeedParseError, match="feed parser failed: OverflowError"):
        parse(rss(item("https://news.example/a")))


def test_an_entry_that_raises_costs_only_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.feeds import parse as feed_parser

    real = feed_parser._entry

    def fragile(raw: object, **kwargs: object) -> object:
        if "bad" in str(raw.get("link")):  # type: ignore[attr-defined]
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real(raw, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_parser, "_entry", fragile)
    feed = parse(rss(item("https://news.example/bad") + item("https://news.example/good")))
    assert [entry.url for entry in feed.entries] == ["https://news.example/good"]
    (skip,) = feed.skipped
    assert skip.reason.startswith("entry could not be read: UnicodeEncodeError")


def test_declared_language_is_kept() -> None:
    document = rss("<language>de-DE</language>" + item("https://news.example/a"))
    assert parse(document).language == "de-DE"


@pytest.mark.parametrize(
    "date",
    [
        "Tue, 10 Jun 2025 12:00:00 +9999",
        "Tue, 10 Jun 2025 12:00:00 -2500",
        "Tue, 10 Jun 2025 12:00:00 +0060",
        "Tue, 10 Jun 2025 25:00:00 GMT",
        "Mon, 31 Feb 2025 12:00:00 GMT",
        "2025-06-10T12:00:00+99:99",
        "2025-06-10T12:00:00+14:30",
        "2025-13-10T12:00:00Z",
        "2025-06-31T12:00:00Z",
    ],
)
def test_impossible_dates_are_unknown_not_shifted(date: str) -> None:
    (entry,) = parse(rss(item("https://news.example/a", date=date))).entries
    assert entry.published_at is None


@pytest.mark.parametrize(
    ("date", "utc"),
    [
        ("Tue, 10 Jun 2025 12:00:00 +1400", datetime(2025, 6, 9, 22, 0, tzinfo=UTC)),
        ("Tue, 10 Jun 2025 12:00:00 -1200", datetime(2025, 6, 11, 0, 0, tzinfo=UTC)),
        ("2025-06-10T12:00:00+05:30", datetime(2025, 6, 10, 6, 30, tzinfo=UTC)),
        ("Tue, 10 Jun 2025 12:00:00 EST", datetime(2025, 6, 10, 17, 0, tzinfo=UTC)),
    ],
)
def test_real_offsets_still_count(date: str, utc: datetime) -> None:
    (entry,) = parse(rss(item("https://news.example/a", date=date))).entries
    assert entry.published_at == utc


def test_an_impossible_date_falls_back_to_the_entrys_other_date() -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        '<entry><title>T</title><link href="https://news.example/a"/>'
        "<published>2025-06-10T12:00:00+99:99</published>"
        "<updated>2025-06-10T13:00:00Z</updated></entry></feed>"
    )
    (entry,) = parse(atom).entries
    assert entry.published_at == datetime(2025, 6, 10, 13, 0, tzinfo=UTC)
