"""Tests of the test site library (tests/newssite.py) against a real local HTTP server.

If these fail, every pipeline test built on the site is suspect, so they check the site
itself: fixtures follow their schema, copy makers change what they claim, pages carry the
boilerplate real pages carry and trafilatura still finds the article in them, feeds parse,
and the server answers conditional requests like a careful origin server.
"""

from __future__ import annotations

import difflib
import email.utils
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import lxml.html
import pytest
import trafilatura
from newssite import (
    ARTICLES_DIR,
    SEED_STORY,
    SEEDS_DIR,
    THEMES,
    Article,
    FeedItem,
    NewsSite,
    SiteMap,
    boilerplate_markers,
    build_seed_site,
    dropping_paragraph,
    feed_item,
    first_sentence,
    fixture_article,
    load_fixture_articles,
    load_seed,
    render_article_page,
    render_atom,
    render_rss,
    wire_copy,
    with_new_headline,
    with_read_also_block,
    with_small_edits,
)
from pytest_httpserver import HTTPServer

# CI runs in a fresh clone with shared/ beside it; locally the repo is /work/main.
SHARED_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

SEED0 = load_seed("000")
SEED1 = load_seed("001")
FIXTURES = load_fixture_articles()
# Every page shape the pipeline meets: seeds, fixtures and two kinds of copies.
PAGE_ARTICLES = [
    SEED0,
    SEED1,
    *FIXTURES,
    with_read_also_block(SEED0),
    wire_copy(SEED1, dateline="Astana"),
]
HARD_NEGATIVES = {
    "putin-empfaengt-modi-moskau",
    "xi-putin-telefonat-handel",
    "nato-gipfel-washington",
}


def _ids(article: Article) -> str:
    return article.slug


def _page_text(page: str) -> str:
    """Visible text of a page (entities decoded), to check what a reader would see."""
    return lxml.html.fromstring(page).text_content()


def _word_changes(a: Article, b: Article) -> list[str]:
    """Words removed or added between two articles' bodies (difflib tokens with -/+)."""
    diff = difflib.ndiff(a.text.split(), b.text.split())
    return [token for token in diff if token[:1] in "+-"]


def _http_date(when: datetime) -> str:
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> HTTPServer:
    """pytest-httpserver on 127.0.0.1, cleared for each test."""
    return httpserver_ipv4


@pytest.fixture
def site(server: HTTPServer) -> NewsSite:
    return NewsSite(server)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c


# --------------------------------------------------------------------------------------------
# Seeds and fixture articles
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["000_b401fcb171ea15c0.txt", "001_3f246bda51a3333a.txt"])
def test_seed_copies_are_byte_identical_to_shared(name: str) -> None:
    if not SHARED_SEEDS.is_dir():
        pytest.skip(f"{SHARED_SEEDS} not present")
    assert (SEEDS_DIR / name).read_bytes() == (SHARED_SEEDS / name).read_bytes()


def test_seed_000_keeps_its_cruft_out_of_the_body() -> None:
    assert SEED0.title == (
        "Die Beziehungen zwischen China und Russland sind nach Auffassung von Präsident "
        "Wladimir Putin derzeit so gut wie noch niemals zuvor."
    )
    # No headline line in seed 000: the title is the first sentence and stays in the body.
    assert SEED0.paragraphs[0].startswith(SEED0.title)
    assert SEED0.published.isoformat() == "2024-07-03T10:42:00+02:00"
    assert SEED0.story == SEED_STORY
    assert len(SEED0.paragraphs) == 6
    for cruft in ("Lesen Sie auch", "Ich möchte eingebundene", "Inhalt erlauben"):
        assert cruft not in SEED0.text
    kinds = [(box.kind, box.after, box.heading) for box in SEED0.inline_boxes]
    assert kinds == [("read-also", 2, "Lesen Sie auch"), ("embed-consent", 5, "Video")]
    assert len(SEED0.inline_boxes[0].teasers) == 3
    assert SEED0.inline_boxes[1].button == "Inhalt erlauben"


def test_seed_000_paragraphs_and_boxes_rebuild_the_seed_text() -> None:
    """Nothing was lost or reworded: putting the cruft back gives the file's blocks."""
    raw = (SEEDS_DIR / "000_b401fcb171ea15c0.txt").read_text(encoding="utf-8")
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", raw) if b.strip()]
    blocks[0] = blocks[0].removeprefix("date 2024-07 ")
    rebuilt = list(SEED0.paragraphs)
    for box in sorted(SEED0.inline_boxes, key=lambda b: b.after, reverse=True):
        rebuilt.insert(box.after, box.source_text)
    assert rebuilt == blocks


def test_seed_001_uses_its_headline_as_title() -> None:
    assert SEED1.title == (
        "SOZ-Gipfel in Astana: Asiatische Integration und Abwehr der Destabilisierungsversuche"
    )
    assert all(SEED1.title not in p for p in SEED1.paragraphs)
    assert SEED1.paragraphs[0].startswith("Der russische Präsident Wladimir Putin")
    assert len(SEED1.paragraphs) == 8
    assert SEED1.published.date().isoformat() == "2024-07-02"
    assert SEED1.inline_boxes == ()
    assert SEED1.story == SEED_STORY


def test_load_seed_accepts_number_stem_or_file_name() -> None:
    assert load_seed("001_3f246bda51a3333a") == SEED1
    assert load_seed("001_3f246bda51a3333a.txt") == SEED1
    with pytest.raises(FileNotFoundError):
        load_seed("999")


@pytest.mark.parametrize("path", sorted(ARTICLES_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_fixture_json_follows_the_schema(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {
        "slug", "language", "title", "published", "author",
        "section", "paragraphs", "story", "note",
    }  # fmt: skip
    assert data["slug"] == path.stem
    assert data["language"] in {"de", "en"}
    assert datetime.fromisoformat(data["published"]).utcoffset() is not None
    assert all(isinstance(p, str) and p.strip() == p and p for p in data["paragraphs"])
    assert 150 <= sum(len(p.split()) for p in data["paragraphs"]) <= 400
    assert data["note"]
    for key in ("title", "author", "section", "story"):
        assert data[key], key


def test_fixture_corpus_has_the_required_stories() -> None:
    by_slug = {a.slug: a for a in FIXTURES}
    stories = [a.story for a in FIXTURES] + [SEED0.story, SEED1.story]

    unrelated = [
        a
        for a in FIXTURES
        if a.slug not in HARD_NEGATIVES and a.story != SEED_STORY and stories.count(a.story) == 1
    ]
    assert sum(a.language == "de" for a in unrelated) >= 2
    assert sum(a.language == "en" for a in unrelated) >= 2

    # Three reports of the summit: both seeds and one fixture.
    assert stories.count(SEED_STORY) == 3

    negatives = [by_slug[s] for s in HARD_NEGATIVES]
    assert len({a.story for a in negatives} | {SEED_STORY}) == 4  # each its own story
    assert all(a.language == "de" and "Putin" in a.text for a in negatives)
    modi = by_slug["putin-empfaengt-modi-moskau"]
    assert modi.published.date().isoformat() in {"2024-07-08", "2024-07-09"}
    assert modi.title == "Putin empfängt Modi in Moskau"
    nato = by_slug["nato-gipfel-washington"]
    assert (nato.published.year, nato.published.month) == (2024, 7)
    assert "Washington" in nato.title
    call = by_slug["xi-putin-telefonat-handel"]
    assert (call.published.year, call.published.month) != (2024, 7)


def test_fixture_slugs_are_unique() -> None:
    slugs = [a.slug for a in FIXTURES] + [SEED0.slug, SEED1.slug]
    assert len(slugs) == len(set(slugs))


# --------------------------------------------------------------------------------------------
# Copy makers
# --------------------------------------------------------------------------------------------


def test_with_new_headline_changes_only_the_title() -> None:
    copy = with_new_headline(SEED0)
    assert copy.title == "Putin: Beziehungen zu China so gut wie nie zuvor"
    assert copy.paragraphs == SEED0.paragraphs
    assert (copy.story, copy.author, copy.published) == (SEED0.story, SEED0.author, SEED0.published)
    assert copy.slug != SEED0.slug
    generic = with_new_headline(fixture_article("ecb-holds-rates-july-2024"))
    assert generic.title.endswith("what we know so far")
    assert with_new_headline(SEED1, "Eigene Zeile").title == "Eigene Zeile"
    with pytest.raises(ValueError, match="equals"):
        with_new_headline(SEED1, SEED1.title)


def test_dropping_paragraph_removes_exactly_one_and_keeps_boxes_in_place() -> None:
    copy = dropping_paragraph(SEED0, 0)
    assert copy.paragraphs == SEED0.paragraphs[1:]
    # Boxes stay next to the same paragraphs: each moves up by one.
    assert [b.after for b in copy.inline_boxes] == [1, 4]
    last = dropping_paragraph(SEED0, -1)
    assert last.paragraphs == SEED0.paragraphs[:-1]
    assert [b.after for b in last.inline_boxes] == [2, 5]
    assert copy.slug != last.slug != SEED0.slug
    with pytest.raises(IndexError):
        dropping_paragraph(SEED0, 6)


def test_dropping_the_only_paragraph_is_refused() -> None:
    single = Article(
        slug="x", language="de", title="T", published=SEED0.published, author="A",
        section="S", paragraphs=("Nur ein Absatz.",), story="s",
    )  # fmt: skip
    with pytest.raises(ValueError, match="only paragraph"):
        dropping_paragraph(single, 0)


def test_with_read_also_block_flattens_the_seed_box_into_the_body() -> None:
    copy = with_read_also_block(SEED0)
    box = SEED0.inline_boxes[0]
    assert copy.paragraphs[box.after] == "Lesen Sie auch: " + " | ".join(box.teasers)
    assert copy.paragraphs[: box.after] == SEED0.paragraphs[: box.after]
    assert copy.paragraphs[box.after + 1 :] == SEED0.paragraphs[box.after :]
    # The aside is now text; the consent box moved down with its paragraphs.
    assert [(b.kind, b.after) for b in copy.inline_boxes] == [("embed-consent", 6)]


def test_with_read_also_block_uses_site_teasers_without_a_box() -> None:
    article = fixture_article("hearthline-smart-kettle-recall")
    copy = with_read_also_block(article)
    assert copy.paragraphs[2].startswith("Read more: ")
    assert len(copy.paragraphs) == len(article.paragraphs) + 1
    custom = with_read_also_block(article, ["One", "Two"], after=0)
    assert custom.paragraphs[0] == "Read more: One | Two"
    with pytest.raises(IndexError):
        with_read_also_block(article, after=99)


@pytest.mark.parametrize("article", [SEED0, SEED1, *FIXTURES], ids=_ids)
def test_with_small_edits_changes_a_few_words_only(article: Article) -> None:
    copy = with_small_edits(article)
    changes = _word_changes(article, copy)
    removed = sum(t.startswith("-") for t in changes)
    assert 1 <= removed <= 4, changes
    assert removed == sum(t.startswith("+") for t in changes)
    assert len(copy.paragraphs) == len(article.paragraphs)
    assert copy.title == article.title
    assert copy.slug != article.slug


def test_with_small_edits_swaps_name_spellings() -> None:
    copy = with_small_edits(SEED0)
    assert copy.text.count("Vladimir") == SEED0.text.count("Vladimir") + 1
    assert copy.text.count("Wladimir") == SEED0.text.count("Wladimir") - 1
    # Seed 001 writes "Erdoğan", the edit gives the ASCII spelling seed 000 uses.
    assert "Erdogan" in with_small_edits(SEED1).text


def test_wire_copy_adds_agency_prefix_and_byline() -> None:
    copy = wire_copy(SEED1)
    assert copy.paragraphs[0] == f"(dpa) – {SEED1.paragraphs[0]}"
    assert copy.paragraphs[1:] == SEED1.paragraphs[1:]
    assert copy.author == "dpa" != SEED1.author
    dated = wire_copy(SEED1, agency="AFP", dateline="Astana")
    assert dated.paragraphs[0].startswith("Astana (AFP) – Der russische")
    with pytest.raises(ValueError, match="different author"):
        wire_copy(SEED1, author=SEED1.author)


def test_copy_makers_leave_the_original_alone() -> None:
    before = load_seed("000")
    for make in (with_new_headline, with_small_edits, wire_copy, with_read_also_block):
        make(SEED0)
    dropping_paragraph(SEED0, 1)
    assert before == SEED0


# --------------------------------------------------------------------------------------------
# Article pages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("article", PAGE_ARTICLES, ids=_ids)
def test_page_has_metadata_article_and_boilerplate(article: Article, theme: str) -> None:
    canonical = f"https://www.example.test/{article.slug}.html"
    page = render_article_page(article, site_name="Weltblick", canonical_url=canonical, theme=theme)
    doc = lxml.html.fromstring(page)

    assert article.title in doc.findtext(".//title")
    assert doc.xpath("string(//meta[@name='description']/@content)") == article.description
    assert doc.xpath("string(//meta[@property='og:title']/@content)") == article.title
    assert doc.xpath("string(//meta[@property='og:url']/@content)") == canonical
    assert doc.xpath("//link[@rel='canonical']/@href") == [canonical]
    assert doc.get("lang") == article.language

    (ld_text,) = doc.xpath("//script[@type='application/ld+json']/text()")
    ld = json.loads(ld_text)
    assert ld["@type"] == "NewsArticle"
    assert ld["headline"] == article.title
    assert datetime.fromisoformat(ld["datePublished"]) == article.published
    assert ld["author"][0]["name"] == article.author
    assert ld["publisher"]["name"] == "Weltblick"
    assert ld["mainEntityOfPage"]["@id"] == canonical

    (h1,) = doc.xpath("//h1")
    assert h1.text_content() == article.title
    dates = doc.xpath("//time/@datetime | //*[@itemprop='datePublished']/@content")
    assert article.published.isoformat() in dates
    assert len(doc.xpath("//a[@href]")) >= 15 + 3 + 3  # menu, teasers, footer at least

    text = _page_text(page)
    for paragraph in article.paragraphs:
        assert paragraph in text
    # The negative extraction check below is only meaningful if the markers are on the page.
    for kind, markers in boilerplate_markers(article).items():
        for marker in markers:
            assert marker in text, (kind, marker)


@pytest.mark.parametrize("theme", THEMES)
def test_page_has_a_mega_menu(theme: str) -> None:
    doc = lxml.html.fromstring(render_article_page(SEED0, site_name="W", theme=theme))
    menu_links = doc.xpath(
        "//*[self::nav or contains(@class, 'menu') or @id='menu']//a[@href]"
        " | //*[contains(@class, 'main-nav')]//a[@href]"
    )
    assert len({a.get("href") for a in menu_links}) >= 15


@pytest.mark.parametrize("theme", THEMES)
def test_page_without_canonical_declares_none(theme: str) -> None:
    doc = lxml.html.fromstring(render_article_page(SEED0, site_name="W", theme=theme))
    assert doc.xpath("//link[@rel='canonical']") == []
    assert doc.xpath("//meta[@property='og:url']") == []
    ld = json.loads(doc.xpath("//script[@type='application/ld+json']/text()")[0])
    assert "mainEntityOfPage" not in ld


@pytest.mark.parametrize("theme", THEMES)
def test_page_without_extra_boilerplate_is_just_the_article(theme: str) -> None:
    page = render_article_page(SEED0, site_name="W", theme=theme, extra_boilerplate=False)
    text = _page_text(page)
    markers = boilerplate_markers(SEED0)
    for kind, strings in markers.items():
        # Seed 000's own boxes are part of its article, the site chrome is gone.
        own_box = kind in {"related links", "embed consent"}
        assert all((s in text) == own_box for s in strings), kind
    assert all(p in text for p in SEED0.paragraphs)


@pytest.mark.parametrize("theme", THEMES)
def test_page_escapes_markup_in_article_text(theme: str) -> None:
    nasty = Article(
        slug="escape",
        language="en",
        title='Tom & Jerry <script>alert("x")</script>',
        published=datetime(2024, 7, 1, 12, 0, tzinfo=UTC),
        author="O'Brien",
        section="Culture",
        paragraphs=("A </script> tag & an <b>unclosed bold.", "Second paragraph."),
        story="escape",
    )
    page = render_article_page(nasty, site_name="S&P", canonical_url="/a?b=1&c=2", theme=theme)
    doc = lxml.html.fromstring(page)
    # No injected element: the only "alert" is inside the JSON-LD string, with "</" escaped.
    scripts = [el for el in doc.iter("script") if "alert" in (el.text or "")]
    assert [el.get("type") for el in scripts] == ["application/ld+json"]
    assert "<\\/script>" in scripts[0].text
    assert doc.xpath("//h1")[0].text_content() == nasty.title
    ld = json.loads(doc.xpath("//script[@type='application/ld+json']/text()")[0])
    assert ld["headline"] == nasty.title
    assert ld["publisher"]["name"] == "S&P"
    assert doc.xpath("//link[@rel='canonical']/@href") == ["/a?b=1&c=2"]
    assert nasty.paragraphs[0] in doc.text_content()


def test_page_rejects_unknown_theme_and_language() -> None:
    with pytest.raises(ValueError, match="theme"):
        render_article_page(SEED0, site_name="W", theme="brutalist")  # type: ignore[arg-type]
    french = Article(
        slug="fr", language="fr", title="T", published=SEED0.published, author="A",
        section="S", paragraphs=("P.",), story="s",
    )  # fmt: skip
    with pytest.raises(ValueError, match="language"):
        render_article_page(french, site_name="W")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("article", PAGE_ARTICLES, ids=_ids)
def test_trafilatura_keeps_the_body_and_drops_the_boilerplate(article: Article, theme: str) -> None:
    page = render_article_page(article, site_name="Weltblick", canonical_url="/x", theme=theme)
    extracted = trafilatura.extract(page, include_comments=False)
    assert extracted
    missing = [i for i, p in enumerate(article.paragraphs) if p not in extracted]
    assert missing == [], f"paragraphs {missing} not extracted"
    kept = {
        kind: found
        for kind, markers in boilerplate_markers(article).items()
        if (found := [m for m in markers if m in extracted])
    }
    assert kept == {}
    for box in article.inline_boxes:
        assert box.source_text not in extracted


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("slug", ["ecb-holds-rates-july-2024", "putin-empfaengt-modi-moskau"])
def test_trafilatura_reads_the_page_metadata(slug: str, theme: str) -> None:
    article = fixture_article(slug)
    page = render_article_page(article, site_name="Weltblick", canonical_url="/x", theme=theme)
    meta = trafilatura.extract_metadata(page)
    assert meta.title == article.title
    assert meta.author == article.author
    assert meta.date == article.published.date().isoformat()
    assert meta.sitename == "Weltblick"


# --------------------------------------------------------------------------------------------
# Feeds
# --------------------------------------------------------------------------------------------

FEED_ARTICLES = [SEED0, SEED1, fixture_article("hearthline-smart-kettle-recall")]


def _items(*, permalink: bool) -> list[FeedItem]:
    """Feed items whose URLs carry '&' (tracking parameters), to exercise XML escaping."""
    items = []
    for article in FEED_ARTICLES:
        url = f"http://127.0.0.1:1/{article.slug}.html?utm_source=rss&utm_medium=feed"
        guid = None if permalink else f"tag:example.test,2024:{article.slug}"
        items.append(feed_item(article, url, guid=guid))
    return items


def test_rss_parses_cleanly_with_feedparser() -> None:
    items = _items(permalink=True)
    body = render_rss(items, title="Weltblick & Co", link="http://x/")
    assert body.count(b'isPermaLink="true"') == len(items)
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Weltblick & Co"
    assert len(parsed.entries) == len(items)
    for entry, item in zip(parsed.entries, items, strict=True):
        assert entry.link == item.url
        assert entry.id == item.guid
        assert entry.title == item.title
        assert entry.summary == item.summary
        assert entry.author == item.author
        assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == item.published


def test_rss_marks_non_url_guids_as_not_permalinks() -> None:
    items = _items(permalink=False)
    body = render_rss(items, title="T", link="http://x/").decode()
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0
    assert [e.id for e in parsed.entries] == [i.guid for i in items]
    assert all(e.link == i.url for e, i in zip(parsed.entries, items, strict=True))
    assert body.count('isPermaLink="false"') == len(items)


def test_atom_parses_cleanly_with_feedparser() -> None:
    items = _items(permalink=False)
    body = render_atom(items, title="Abendkurier", link="http://x/", self_url="http://x/atom.xml")
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Abendkurier"
    for entry, item in zip(parsed.entries, items, strict=True):
        assert entry.id == item.guid
        assert entry.link == item.url
        assert [link.rel for link in entry.links] == ["alternate"]
        assert entry.summary == item.summary
        published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
        assert published == item.published
        assert entry.updated_parsed == entry.published_parsed


def test_feeds_are_byte_stable_and_reject_naive_dates() -> None:
    items = _items(permalink=True)
    assert render_rss(items, title="T", link="L") == render_rss(items, title="T", link="L")
    assert render_atom(items, title="T", link="L") == render_atom(items, title="T", link="L")
    naive = FeedItem("http://x/a", "A", "http://x/a", datetime(2024, 7, 3, 12, 0), "S")
    with pytest.raises(ValueError, match="timezone"):
        render_rss([naive], title="T", link="L")
    with pytest.raises(ValueError, match="timezone"):
        render_atom([naive], title="T", link="L")


# --------------------------------------------------------------------------------------------
# NewsSite: serving and conditional requests
# --------------------------------------------------------------------------------------------

PUBLISHED = datetime(2024, 7, 3, 10, 42, tzinfo=UTC)


def test_page_is_served_with_validators(site: NewsSite, client: httpx.Client) -> None:
    url = site.add_page("/a.html", "<p>ä</p>", last_modified=PUBLISHED)
    assert url.startswith("http://127.0.0.1:")
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>ä</p>"
    assert response.headers["etag"] == site.etag("/a.html")
    assert re.fullmatch(r'"[0-9a-f]{20}"', response.headers["etag"])
    assert email.utils.parsedate_to_datetime(response.headers["last-modified"]) == PUBLISHED


def test_matching_if_none_match_gives_304_every_time(site: NewsSite, client: httpx.Client) -> None:
    url = site.add_page("/a.html", "<p>x</p>")
    etag = client.get(url).headers["etag"]
    for if_none_match in (etag, etag, etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(url, headers={"If-None-Match": if_none_match})
        assert response.status_code == 304, if_none_match
        assert response.content == b""
        assert response.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_if_modified_since(site: NewsSite, client: httpx.Client) -> None:
    url = site.add_page("/a.html", "<p>x</p>", last_modified=PUBLISHED)

    def status(since: str) -> int:
        return client.get(url, headers={"If-Modified-Since": since}).status_code

    assert status(_http_date(PUBLISHED)) == 304
    assert status(_http_date(PUBLISHED + timedelta(days=1))) == 304
    assert status(_http_date(PUBLISHED - timedelta(seconds=1))) == 200
    assert status("not a date") == 200


def test_if_none_match_takes_precedence_over_if_modified_since(
    site: NewsSite, client: httpx.Client
) -> None:
    url = site.add_page("/a.html", "<p>x</p>", last_modified=PUBLISHED)
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": _http_date(PUBLISHED)}
    assert client.get(url, headers=headers).status_code == 200


def test_replacing_a_feed_changes_its_validators(site: NewsSite, client: httpx.Client) -> None:
    first = render_rss(_items(permalink=True)[:1], title="T", link="http://x/")
    second = render_rss(_items(permalink=True), title="T", link="http://x/")
    url = site.add_feed("/feed.rss", first)
    old = client.get(url)
    site.add_feed("/feed.rss", second)
    response = client.get(url, headers={"If-None-Match": old.headers["etag"]})
    assert response.status_code == 200
    assert response.content == second
    assert response.headers["etag"] != old.headers["etag"]
    old_modified = email.utils.parsedate_to_datetime(old.headers["last-modified"])
    assert email.utils.parsedate_to_datetime(response.headers["last-modified"]) > old_modified
    since = {"If-Modified-Since": old.headers["last-modified"]}
    assert client.get(url, headers=since).status_code == 200
    current = {"If-None-Match": response.headers["etag"]}
    assert client.get(url, headers=current).status_code == 304


def test_validators_can_be_switched_off(site: NewsSite, client: httpx.Client) -> None:
    url = site.add_page("/plain.html", "<p>x</p>", etag=False, last_modified=False)
    response = client.get(url, headers={"If-None-Match": "*", "If-Modified-Since": "x"})
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert "last-modified" not in response.headers
    feed = site.add_feed("/f.atom", b"<feed/>", kind="atom", etag=False)
    assert "etag" not in client.get(feed).headers


def test_feeds_have_feed_media_types(site: NewsSite, client: httpx.Client) -> None:
    rss = site.add_feed("/f.rss", b"<rss/>")
    atom = site.add_feed("/f.atom", b"<feed/>", kind="atom")
    assert client.get(rss).headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert client.get(atom).headers["content-type"] == "application/atom+xml; charset=utf-8"


def test_errors_redirects_and_custom_headers(
    site: NewsSite, client: httpx.Client, server: HTTPServer
) -> None:
    gone = site.add_page("/gone.html", "<p>gone</p>", status=410)
    response = client.get(gone, headers={"If-None-Match": "*"})
    assert response.status_code == 410  # only a 200 resource can be "not modified"
    assert "etag" not in response.headers

    custom = site.add_page(
        "/latin1.html", "<p>x</p>".encode("latin-1"), headers={"content-type": "text/html"}
    )
    assert client.get(custom).headers["content-type"] == "text/html"

    moved = site.add_redirect("/old.html", "/a.html")
    response = client.get(moved)
    assert response.status_code == 301
    assert response.headers["location"] == site.url("/a.html")

    assert client.get(site.url("/nowhere.html")).status_code == 404
    server.clear_assertions()  # the unknown path is recorded as a server-side error


def test_head_requests(site: NewsSite, client: httpx.Client) -> None:
    url = site.add_page("/a.html", "<p>x</p>")
    response = client.head(url)
    assert response.status_code == 200
    assert response.content == b""
    etag = response.headers["etag"]
    assert client.head(url, headers={"If-None-Match": etag}).status_code == 304


def test_query_strings_are_served_and_logged(site: NewsSite, client: httpx.Client) -> None:
    url = site.add_page("/s/a.html?utm_source=rss&utm_medium=feed", "<p>x</p>")
    assert url.endswith("/s/a.html?utm_source=rss&utm_medium=feed")
    etag = client.get(url).headers["etag"]
    client.get(site.url("/s/a.html"), headers={"If-None-Match": etag})

    log = site.request_log()
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/s/a.html", 200),
        ("GET", "/s/a.html", 304),
    ]
    assert log[0].query == "utm_source=rss&utm_medium=feed"
    assert log[0].header("If-None-Match") is None
    assert log[1].header("if-none-match") == etag
    assert log[1].header("User-Agent").startswith("python-httpx/")
    assert site.requests_to("/s/a.html?ignored=1") == log


def test_paths_must_be_absolute(site: NewsSite) -> None:
    with pytest.raises(ValueError, match="start with"):
        site.add_page("a.html", "<p>x</p>")


# --------------------------------------------------------------------------------------------
# The seed scenario
# --------------------------------------------------------------------------------------------


@pytest.fixture
def seed_site(server: HTTPServer) -> SiteMap:
    return build_seed_site(server)


def test_seed_site_feeds_list_exactly_the_served_articles(
    seed_site: SiteMap, client: httpx.Client
) -> None:
    listed: set[str] = set()
    for outlet, feed_url in seed_site.feeds.items():
        response = client.get(feed_url)
        assert response.status_code == 200
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0, (outlet, parsed.get("bozo_exception"))
        assert parsed.version == {"rss": "rss20", "atom": "atom10"}[seed_site.feed_kinds[outlet]]
        for entry in parsed.entries:
            assert entry.id
            assert entry.published_parsed
            assert entry.summary
            page = client.get(entry.link)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            listed.add(entry.link)
    assert listed == set(seed_site.stories) == set(seed_site.articles.values())
    assert len(listed) == 7


def test_seed_site_expected_story_groups(seed_site: SiteMap) -> None:
    groups = seed_site.story_groups()
    syndicated = next(iter(seed_site.copies))
    assert groups[SEED_STORY] == {
        seed_site.articles["putin-xi-astana-beziehungen"],
        seed_site.articles["soz-gipfel-astana-integration"],
        syndicated,
    }
    modi = seed_site.articles["putin-empfaengt-modi-moskau"]
    assert groups[seed_site.stories[modi]] == {modi}
    assert sorted(len(urls) for urls in groups.values()) == [1, 1, 1, 1, 3]
    assert seed_site.copies == {syndicated: seed_site.articles["putin-xi-astana-beziehungen"]}


def test_seed_site_outlets_and_syndication(seed_site: SiteMap, client: httpx.Client) -> None:
    welt = [u for u in seed_site.stories if urlsplit(u).path.startswith("/welt/")]
    nachrichten = [u for u in seed_site.stories if urlsplit(u).path.startswith("/nachrichten/")]
    assert len(welt) == 3
    assert len(nachrichten) == 3
    for url in welt + nachrichten:
        doc = lxml.html.fromstring(client.get(url).text)
        assert doc.xpath("//link[@rel='canonical']/@href") == [url]
        assert seed_site.canonicals[url] == url

    (syndicated,) = seed_site.copies
    parts = urlsplit(syndicated)
    assert parts.path.startswith("/syndication/")
    assert parse_qs(parts.query) == {"utm_source": ["rss"], "utm_medium": ["feed"]}
    doc = lxml.html.fromstring(client.get(syndicated).text)
    assert doc.xpath("//link[@rel='canonical']") == []
    assert seed_site.canonicals[syndicated] is None
    # Different themes per outlet: the class names give them away.
    assert "article__body" in client.get(welt[0]).text
    assert "story__text" in client.get(nachrichten[0]).text
    assert 'itemprop="articleBody"' in client.get(syndicated).text


def test_seed_site_pages_extract_to_the_served_text(
    seed_site: SiteMap, client: httpx.Client
) -> None:
    for url, article in seed_site.served.items():
        extracted = trafilatura.extract(client.get(url).text, include_comments=False)
        assert extracted
        assert all(p in extracted for p in article.paragraphs), url
    original = seed_site.copies[next(iter(seed_site.copies))]
    syndicated = next(iter(seed_site.copies))
    # The outlet's aside is dropped; the syndicated copy carries it as body text by design.
    assert "Lesen Sie auch" not in trafilatura.extract(client.get(original).text)
    assert "Lesen Sie auch: " in trafilatura.extract(client.get(syndicated).text)


def test_seed_site_supports_conditional_polling(seed_site: SiteMap, client: httpx.Client) -> None:
    for feed_url in seed_site.feed_urls:
        first = client.get(feed_url)
        validators = {
            "If-None-Match": first.headers["etag"],
            "If-Modified-Since": first.headers["last-modified"],
        }
        for _ in range(2):
            assert client.get(feed_url, headers=validators).status_code == 304
    statuses = [r.status for r in seed_site.site.request_log()]
    assert statuses == [200, 304, 304] * 3


def test_seed_site_accepts_a_news_site(site: NewsSite) -> None:
    assert build_seed_site(site).site is site


def test_first_sentence_handles_abbreviated_numbers() -> None:
    assert first_sentence("Am 3. Juli begann der Gipfel. Danach ging es weiter.") == (
        "Am 3. Juli begann der Gipfel."
    )
