"""A small, realistic news web site for tests: articles, pages, feeds and an HTTP server.

The pipeline's tests never mock HTTP. They serve feeds and article pages from a local
``pytest_httpserver.HTTPServer`` and run the real pipeline against them. This module builds
that site:

* :class:`Article` and its loaders: :func:`load_seed` (the project's two seed reports in
  ``tests/fixtures/seeds``) and :func:`load_fixture_articles` (``tests/fixtures/articles``).
* Copy makers, pure functions that return a changed copy of an article, for near-copy
  detection: :func:`with_new_headline`, :func:`dropping_paragraph`,
  :func:`with_read_also_block`, :func:`with_small_edits`, :func:`wire_copy`.
* :func:`render_article_page`: a news page with the boilerplate real sites have (mega menu,
  cookie banner, related links, share buttons, newsletter box, comments, footer) in one of
  three markup themes, so extraction is not tested against one template only.
  :func:`boilerplate_markers` lists the chrome strings a page carries that must not reach
  the extracted text.
* :func:`render_rss` and :func:`render_atom` for :class:`FeedItem` lists.
* :class:`NewsSite`: serves pages and feeds with ETag/Last-Modified and answers conditional
  requests with 304, so polling code can be tested for real.
* :func:`build_seed_site`: the standard scenario (two outlets plus a syndication feed) with
  the expected story grouping, returned as a :class:`SiteMap`.
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

__all__ = [
    "ARTICLES_DIR",
    "SEEDS_DIR",
    "SEED_STORY",
    "THEMES",
    "TRACKING_QUERY",
    "Article",
    "FeedItem",
    "InlineBox",
    "LoggedRequest",
    "NewsSite",
    "SiteMap",
    "Theme",
    "boilerplate_markers",
    "build_seed_site",
    "dropping_paragraph",
    "feed_item",
    "first_sentence",
    "fixture_article",
    "load_fixture_article",
    "load_fixture_articles",
    "load_seed",
    "read_also_heading",
    "render_article_page",
    "render_atom",
    "render_rss",
    "wire_copy",
    "with_new_headline",
    "with_read_also_block",
    "with_small_edits",
]

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
SEEDS_DIR = FIXTURES_DIR / "seeds"
ARTICLES_DIR = FIXTURES_DIR / "articles"

#: Story label of the SCO summit in Astana (July 2024): both seeds and one fixture article.
SEED_STORY = "sco-astana-2024"

Theme = Literal["classic", "magazine", "portal"]
#: The markup themes :func:`render_article_page` knows.
THEMES: tuple[Theme, ...] = ("classic", "magazine", "portal")

# Central European Summer Time: the seeds are German reports from July.
_CEST = timezone(timedelta(hours=2))


# --------------------------------------------------------------------------------------------
# Articles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InlineBox:
    """Page furniture that sits between body paragraphs on the real page but is not article text.

    Seed 000 was extracted with two such boxes left inline ("Lesen Sie auch" and a social-media
    consent blurb). The seed loader removes them from the paragraphs and keeps them here so the
    page template can render them where a real site has them, as an aside and a consent box.
    """

    kind: Literal["read-also", "embed-consent"]
    #: Number of body paragraphs before the box (0 = before the first paragraph).
    after: int
    #: Box heading: "Lesen Sie auch" for read-also, the embed type ("Video") for consent.
    heading: str
    #: Consent wording (embed-consent only).
    text: str = ""
    #: Button label (embed-consent only), e.g. "Inhalt erlauben".
    button: str = ""
    #: Teaser headlines linked from a read-also box.
    teasers: tuple[str, ...] = ()
    #: The cruft exactly as it appeared in the seed's text, if it came from one.
    source_text: str = ""


@dataclass(frozen=True)
class Article:
    """One news article as a site publishes it. Immutable: copy makers return new instances."""

    slug: str
    language: str
    title: str
    published: datetime
    author: str
    section: str
    paragraphs: tuple[str, ...]
    story: str
    #: Why the fixture exists (from the JSON ``note``); not rendered.
    note: str = ""
    #: Non-article boxes that sit between paragraphs on the page (see :class:`InlineBox`).
    inline_boxes: tuple[InlineBox, ...] = ()

    def __post_init__(self) -> None:
        # Lists from JSON would make the frozen dataclass unhashable and mutable underneath.
        object.__setattr__(self, "paragraphs", tuple(self.paragraphs))
        object.__setattr__(self, "inline_boxes", tuple(self.inline_boxes))
        if self.published.tzinfo is None or self.published.utcoffset() is None:
            raise ValueError(f"{self.slug}: published must carry a timezone")
        if not self.paragraphs:
            raise ValueError(f"{self.slug}: an article needs at least one paragraph")
        for box in self.inline_boxes:
            if not 0 <= box.after <= len(self.paragraphs):
                raise ValueError(f"{self.slug}: inline box after={box.after} out of range")

    @property
    def text(self) -> str:
        """Body text: paragraphs separated by blank lines (what extraction should return)."""
        return "\n\n".join(self.paragraphs)

    @property
    def description(self) -> str:
        """Teaser text for meta description and feed summaries: the first sentence."""
        return first_sentence(self.paragraphs[0])

    @property
    def word_count(self) -> int:
        """Number of whitespace-separated words in the body."""
        return len(self.text.split())


# Sentence end followed by the start of a new sentence (capital letter or opening quote),
# except after a one- or two-digit number: German ordinals ("am 3. Juli") are not sentence ends.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])(?<!\b\d\.)(?<!\b\d\d\.)\s+(?=[A-ZÄÖÜ„“\"«])")


def first_sentence(text: str) -> str:
    """Return the first sentence of ``text`` (good enough for news prose, not a tokenizer)."""
    return _SENTENCE_BREAK.split(text.strip(), maxsplit=1)[0]


@dataclass(frozen=True)
class _SeedMeta:
    """What a seed file does not say about its page: slug, time, byline, related teasers."""

    slug: str
    published: datetime
    author: str
    section: str
    read_also_teasers: tuple[str, ...] = ()


# The seed files carry only "date 2024-07" and the text; the rest is made up but plausible.
_SEED_META: dict[str, _SeedMeta] = {
    "000_b401fcb171ea15c0": _SeedMeta(
        slug="putin-xi-astana-beziehungen",
        published=datetime(2024, 7, 3, 10, 42, tzinfo=_CEST),
        author="Julia Brandt",
        section="Ausland",
        # Related teasers point at neighbouring stories, as they do on real sites: if
        # extraction keeps them, the article text picks up NATO/Modi vocabulary.
        read_also_teasers=(
            "Nato-Gipfel in Washington: Was die Allianz der Ukraine zusagen will",
            "Modi reist nach Moskau – Indiens Balanceakt zwischen Ost und West",
            "Kasachstan zwischen den Großmächten: Tokajews schwieriger Kurs",
        ),
    ),
    "001_3f246bda51a3333a": _SeedMeta(
        slug="soz-gipfel-astana-integration",
        published=datetime(2024, 7, 2, 18, 5, tzinfo=_CEST),
        author="Tobias Keller",
        section="Ausland",
    ),
}

_SEED_FIRST_LINE = re.compile(r"^\s*date\s+(?P<month>\d{4}-\d{2})\s+(?P<rest>.+)$")
_READ_ALSO_CRUFT = re.compile(r"^(?:Lesen Sie auch|Mehr zum Thema|Auch interessant|Read more)$")
_CONSENT_CRUFT = re.compile(
    r"^(?:(?P<label>Video|Audio|Podcast|Grafik)\s+)?"
    r"(?P<text>Ich möchte eingebundene .+?)\s+(?P<button>Inhalt erlauben)$"
)


def _seed_path(name: str) -> Path:
    """Find a seed by file name, stem or number prefix ("000")."""
    candidates = sorted(
        p
        for p in SEEDS_DIR.glob("*.txt")
        if name in (p.name, p.stem) or p.stem.startswith(f"{name}_")
    )
    if len(candidates) != 1:
        raise FileNotFoundError(
            f"seed {name!r}: expected one match in {SEEDS_DIR}, got {candidates}"
        )
    return candidates[0]


def _looks_like_headline(line: str) -> bool:
    """A short first line without a sentence end is a headline (seed 001), not body text."""
    return not line.rstrip().endswith((".", "!", "?", "“", '"', "”")) and len(line.split()) <= 20


def load_seed(name: str) -> Article:
    """Load a project seed (``"000"``, ``"001"`` or the full file name) as an :class:`Article`.

    The title is the seed's headline when its first line is one (seed 001), otherwise the first
    sentence of the first paragraph (seed 000), which then stays in the body. Page cruft left in
    the text by the original extraction ("Lesen Sie auch", the social-media consent blurb) is
    removed from the paragraphs and kept as :class:`InlineBox` entries at the same position.
    """
    path = _seed_path(name)
    meta = _SEED_META[path.stem]
    blocks = [
        " ".join(block.split())
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
        if block.strip()
    ]
    match = _SEED_FIRST_LINE.match(blocks[0])
    if match is None:
        raise ValueError(f"{path.name}: first line does not start with 'date YYYY-MM'")
    if match["month"] != meta.published.strftime("%Y-%m"):
        raise ValueError(f"{path.name}: date {match['month']} disagrees with {meta.published}")
    blocks[0] = match["rest"]

    if _looks_like_headline(blocks[0]):
        title, blocks = blocks[0], blocks[1:]
    else:
        title = first_sentence(blocks[0])

    paragraphs: list[str] = []
    boxes: list[InlineBox] = []
    for block in blocks:
        if _READ_ALSO_CRUFT.match(block):
            boxes.append(
                InlineBox(
                    kind="read-also",
                    after=len(paragraphs),
                    heading=block,
                    teasers=meta.read_also_teasers or _CHROME["de"].teasers,
                    source_text=block,
                )
            )
        elif consent := _CONSENT_CRUFT.match(block):
            boxes.append(
                InlineBox(
                    kind="embed-consent",
                    after=len(paragraphs),
                    heading=consent["label"] or "Social Media",
                    text=consent["text"],
                    button=consent["button"],
                    source_text=block,
                )
            )
        else:
            paragraphs.append(block)

    return Article(
        slug=meta.slug,
        language="de",
        title=title,
        published=meta.published,
        author=meta.author,
        section=meta.section,
        paragraphs=tuple(paragraphs),
        story=SEED_STORY,
        note=f"project seed {path.name}",
        inline_boxes=tuple(boxes),
    )


def load_fixture_article(path: Path) -> Article:
    """Load one ``tests/fixtures/articles/*.json`` file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return Article(
        slug=data["slug"],
        language=data["language"],
        title=data["title"],
        published=datetime.fromisoformat(data["published"]),
        author=data["author"],
        section=data["section"],
        paragraphs=tuple(data["paragraphs"]),
        story=data["story"],
        note=data.get("note", ""),
    )


def load_fixture_articles() -> list[Article]:
    """Load every fixture article, sorted by slug so test ids are stable."""
    articles = [load_fixture_article(p) for p in sorted(ARTICLES_DIR.glob("*.json"))]
    return sorted(articles, key=lambda a: a.slug)


def fixture_article(slug: str) -> Article:
    """Load the fixture article with this slug."""
    return load_fixture_article(ARTICLES_DIR / f"{slug}.json")


# --------------------------------------------------------------------------------------------
# Copy makers (near-copies for copy detection; pure, deterministic)
# --------------------------------------------------------------------------------------------

# Hand-written alternative headlines: a rewrite should read like an editor's, not a template.
_ALTERNATIVE_HEADLINES = {
    "putin-xi-astana-beziehungen": "Putin: Beziehungen zu China so gut wie nie zuvor",
    "soz-gipfel-astana-integration": "Putin reist zum Gipfel der Schanghaier Organisation",
}


def with_new_headline(article: Article, headline: str | None = None) -> Article:
    """Same body under a different headline (outlets retitle agency copy all the time)."""
    if headline is None:
        headline = _ALTERNATIVE_HEADLINES.get(article.slug) or (
            f"{article.title}: Was bisher bekannt ist"
            if article.language == "de"
            else f"{article.title}: what we know so far"
        )
    if headline == article.title:
        raise ValueError("the new headline equals the old one")
    return dataclasses.replace(article, title=headline, slug=f"{article.slug}--headline")


def _shift_boxes(boxes: Iterable[InlineBox], at: int, delta: int) -> tuple[InlineBox, ...]:
    """Move boxes that stand after paragraph position ``at`` by ``delta`` paragraphs."""
    return tuple(
        dataclasses.replace(box, after=box.after + delta) if box.after > at else box
        for box in boxes
    )


def dropping_paragraph(article: Article, index: int) -> Article:
    """Copy without paragraph ``index`` (negative counts from the end), as shortened copies are."""
    if len(article.paragraphs) < 2:
        raise ValueError("cannot drop the only paragraph")
    position = range(len(article.paragraphs))[index]  # raises IndexError like a list would
    paragraphs = article.paragraphs[:position] + article.paragraphs[position + 1 :]
    return dataclasses.replace(
        article,
        slug=f"{article.slug}--drop{position}",
        paragraphs=paragraphs,
        inline_boxes=_shift_boxes(article.inline_boxes, position, -1),
    )


def read_also_heading(language: str) -> str:
    """The related-links heading used in this language ("Lesen Sie auch" / "Read more")."""
    return _chrome(language).read_also


def with_read_also_block(
    article: Article, teasers: Sequence[str] | None = None, *, after: int | None = None
) -> Article:
    """Copy with a "Lesen Sie auch: …" paragraph inside the body text.

    Sloppy syndication flattens the related-links box into the article text. By default the
    article's own read-also box is flattened (its teasers, at its position, and the box is
    removed); without one, the site's generic teasers go after the second paragraph.
    """
    own_box = next((b for b in article.inline_boxes if b.kind == "read-also"), None)
    if teasers is None:
        teasers = own_box.teasers if own_box else _chrome(article.language).teasers
    if after is None:
        after = own_box.after if own_box else min(2, len(article.paragraphs))
    if not 0 <= after <= len(article.paragraphs):
        raise IndexError(f"after={after} outside 0..{len(article.paragraphs)}")
    block = f"{read_also_heading(article.language)}: " + " | ".join(teasers)
    boxes = tuple(b for b in article.inline_boxes if b is not own_box)
    return dataclasses.replace(
        article,
        slug=f"{article.slug}--read-also",
        paragraphs=(*article.paragraphs[:after], block, *article.paragraphs[after:]),
        inline_boxes=_shift_boxes(boxes, after - 1, +1),
    )


# Spelling variants agencies and outlets disagree on; each pair is swapped in whichever
# direction applies, first occurrence only, to keep the edit small.
_NAME_VARIANTS = (
    ("Wladimir", "Vladimir"),
    ("Erdoğan", "Erdogan"),
    ("Selenskyj", "Selenski"),
)
_SYNONYMS = {
    "de": (("sagte", "erklärte"), ("derzeit", "aktuell"), ("bereits", "schon"), ("teilte", "gab")),
    "en": (("said", "stated"), ("about", "around"), ("after", "following")),
}


def _replace_first(paragraphs: tuple[str, ...], old: str, new: str) -> tuple[tuple[str, ...], bool]:
    """Replace the first whole-word ``old`` across the paragraphs; report whether it did."""
    pattern = re.compile(rf"\b{re.escape(old)}\b")
    for i, paragraph in enumerate(paragraphs):
        if pattern.search(paragraph):
            changed = pattern.sub(new, paragraph, count=1)
            return (*paragraphs[:i], changed, *paragraphs[i + 1 :]), True
    return paragraphs, False


def _with_typo(paragraph: str) -> str:
    """Swap two letters in the middle of the paragraph's first long word (a typical typo)."""
    for word in re.findall(r"\b[^\W\d_]{9,}\b", paragraph):
        mid = len(word) // 2
        if word[mid - 1] != word[mid]:
            typo = word[: mid - 1] + word[mid] + word[mid - 1] + word[mid + 1 :]
            return paragraph.replace(word, typo, 1)
    return paragraph


def with_small_edits(article: Article) -> Article:
    """Copy with a few words changed: name spellings swapped, one synonym, one typo.

    Example: "Wladimir" becomes "Vladimir", "sagte" becomes "erklärte" and a long word in the
    last paragraph gets two letters transposed. At most four words differ.
    """
    paragraphs = article.paragraphs
    edits = 0
    for a, b in _NAME_VARIANTS:
        paragraphs, done = _replace_first(paragraphs, a, b)
        if not done:
            paragraphs, done = _replace_first(paragraphs, b, a)
        edits += done
        if edits == 2:
            break
    for old, new in _SYNONYMS.get(article.language, ()):
        paragraphs, done = _replace_first(paragraphs, old, new)
        if done:
            edits += 1
            break
    typo = _with_typo(paragraphs[-1])
    if typo != paragraphs[-1]:
        paragraphs = (*paragraphs[:-1], typo)
        edits += 1
    if edits == 0:
        raise ValueError(f"{article.slug}: no small edit applies")
    return dataclasses.replace(article, slug=f"{article.slug}--edited", paragraphs=paragraphs)


def wire_copy(
    article: Article, *, agency: str = "dpa", dateline: str | None = None, author: str | None = None
) -> Article:
    """Agency version: "(dpa) – " (or "Astana (dpa) – ") before the text, agency as author."""
    author = author or agency
    if author == article.author:
        raise ValueError("a wire copy needs a different author")
    prefix = f"{dateline} ({agency}) – " if dateline else f"({agency}) – "
    return dataclasses.replace(
        article,
        slug=f"{article.slug}--wire",
        author=author,
        paragraphs=(prefix + article.paragraphs[0], *article.paragraphs[1:]),
    )


# --------------------------------------------------------------------------------------------
# Page chrome: the boilerplate texts, per language
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chrome:
    """Every boilerplate string a page shows, in one language (one source for renderer+markers)."""

    skip_link: str
    account_links: tuple[str, ...]
    nav_label: str
    #: Top-level sections with their sub-sections: the mega menu.
    nav: tuple[tuple[str, tuple[str, ...]], ...]
    cookie_title: str
    cookie_text: str
    cookie_buttons: tuple[str, ...]
    breadcrumb_home: str
    byline_prefix: str
    read_also: str
    teasers: tuple[str, ...]
    most_read: str
    most_read_items: tuple[str, ...]
    share_label: str
    share_buttons: tuple[str, ...]
    newsletter_title: str
    newsletter_text: str
    newsletter_placeholder: str
    newsletter_button: str
    comments_title: str
    comments_text: str
    ad_label: str
    footer_links: tuple[str, ...]
    rights: str
    months: tuple[str, ...]


_CHROME: dict[str, _Chrome] = {
    "de": _Chrome(
        skip_link="Zum Inhalt springen",
        account_links=("Abo testen", "Anmelden"),
        nav_label="Hauptnavigation",
        nav=(
            ("Politik", ("Deutschland", "Ausland", "Europa", "Meinung")),
            ("Wirtschaft", ("Finanzen", "Immobilien", "Verbraucher", "Karriere")),
            ("Sport", ("Fußball", "Bundesliga", "Formel 1", "Tennis")),
            ("Panorama", ("Kriminalität", "Leute", "Wetter")),
            ("Kultur", ("Kino", "Literatur", "Musik")),
            ("Wissen", ("Gesundheit", "Klima", "Technik")),
            ("Reise", ()),
            ("Regional", ()),
            ("Video", ()),
            ("Podcasts", ()),
            ("Rätsel & Spiele", ()),
        ),
        cookie_title="Wir respektieren Ihre Privatsphäre",
        cookie_text=(
            "Wir verwenden Cookies und ähnliche Technologien, um Inhalte zu personalisieren, "
            "Werbung anzupassen und die Nutzung unseres Angebots zu analysieren. Dabei werden "
            "auch Daten an Drittanbieter übermittelt. Ihre Einwilligung können Sie jederzeit "
            "über „Cookie-Einstellungen“ am Ende der Seite widerrufen."
        ),
        cookie_buttons=("Alle akzeptieren", "Nur notwendige Cookies", "Einstellungen verwalten"),
        breadcrumb_home="Startseite",
        byline_prefix="Von",
        read_also="Lesen Sie auch",
        teasers=(
            "Bahnstreik: Was Pendler jetzt wissen müssen",
            "Unwetterwarnung: Gewitter und Hagel im Süden erwartet",
            "Rentenpaket: Koalition streitet über die Finanzierung",
        ),
        most_read="Meistgelesen",
        most_read_items=(
            "Lottozahlen vom Mittwoch: Jackpot geknackt",
            "Diese Supermärkte haben am Feiertag geöffnet",
            "Rückruf: Salmonellen in Bio-Eiern entdeckt",
        ),
        share_label="Artikel teilen",
        share_buttons=(
            "Auf Facebook teilen",
            "Auf X teilen",
            "Per WhatsApp senden",
            "Link kopieren",
        ),
        newsletter_title="Newsletter abonnieren",
        newsletter_text=(
            "Der Morgen-Überblick: Die wichtigsten Nachrichten des Tages, "
            "jeden Morgen um 6 Uhr in Ihrem Postfach."
        ),
        newsletter_placeholder="Ihre E-Mail-Adresse",
        newsletter_button="Kostenlos anmelden",
        comments_title="Kommentare",
        comments_text="Die Kommentare werden geladen. Bitte beachten Sie unsere Netiquette.",
        ad_label="Anzeige",
        footer_links=(
            "Impressum",
            "Datenschutzerklärung",
            "Cookie-Einstellungen",
            "AGB",
            "Kontakt",
            "Barrierefreiheit",
            "Mediadaten",
        ),
        rights="Alle Rechte vorbehalten.",
        months=(
            *("Januar", "Februar", "März", "April", "Mai", "Juni"),
            *("Juli", "August", "September", "Oktober", "November", "Dezember"),
        ),
    ),
    "en": _Chrome(
        skip_link="Skip to content",
        account_links=("Subscribe", "Sign in"),
        nav_label="Main navigation",
        nav=(
            ("World", ("Europe", "Americas", "Asia", "Africa")),
            ("Business", ("Markets", "Economy", "Companies", "Personal finance")),
            ("Technology", ("Gadgets", "Security", "Artificial intelligence")),
            ("Sport", ("Football", "Tennis", "Formula 1")),
            ("Culture", ("Film", "Books", "Music")),
            ("Science", ()),
            ("Climate", ()),
            ("Travel", ()),
            ("Opinion", ()),
            ("Video", ()),
            ("Podcasts", ()),
            ("Puzzles & Games", ()),
        ),
        cookie_title="Your privacy choices",
        cookie_text=(
            "We use cookies and similar technologies to personalise content, tailor advertising "
            "and analyse how our site is used. Some data is shared with third-party partners. "
            "You can withdraw your consent at any time under “Cookie settings” at the bottom "
            "of the page."
        ),
        cookie_buttons=("Accept all", "Reject non-essential", "Manage settings"),
        breadcrumb_home="Front page",
        byline_prefix="By",
        read_also="Read more",
        teasers=(
            "Rail strike: what commuters need to know",
            "Storm warning issued for the south coast",
            "Pension reform plan faces budget questions",
        ),
        most_read="Most read",
        most_read_items=(
            "Lottery jackpot finally won after nine draws",
            "The best budget laptops we tested this year",
            "Heatwave: how to keep your home cool",
        ),
        share_label="Share this article",
        share_buttons=("Share on Facebook", "Share on X", "Share on WhatsApp", "Copy link"),
        newsletter_title="Sign up to our morning briefing",
        newsletter_text=(
            "The day's essential stories, explained, delivered to your inbox every weekday at 7am."
        ),
        newsletter_placeholder="Your email address",
        newsletter_button="Sign up for free",
        comments_title="Comments",
        comments_text="Loading comments. Please read our community guidelines before posting.",
        ad_label="Advertisement",
        footer_links=(
            "About us",
            "Terms of use",
            "Privacy policy",
            "Cookie settings",
            "Contact",
            "Accessibility",
            "Advertise with us",
        ),
        rights="All rights reserved.",
        months=(
            *("January", "February", "March", "April", "May", "June"),
            *("July", "August", "September", "October", "November", "December"),
        ),
    ),
}


def _chrome(language: str) -> _Chrome:
    """Boilerplate texts for a language; only German and English pages exist."""
    try:
        return _CHROME[language]
    except KeyError:
        raise ValueError(f"no page chrome for language {language!r}") from None


def boilerplate_markers(article: Article) -> dict[str, tuple[str, ...]]:
    """Boilerplate strings on this article's page, by kind, that extraction must drop.

    Every theme shows all of them (with ``extra_boilerplate=True``). Strings that also occur in
    the article's body text are left out: a copy that flattened "Lesen Sie auch: …" into its
    body legitimately has them in the extracted text.
    """
    c = _chrome(article.language)
    # An article's own read-also box replaces the theme's generic related links.
    own = [b for b in article.inline_boxes if b.kind == "read-also"]
    related = [s for b in own for s in (b.heading, *b.teasers)] or [c.read_also, *c.teasers]
    consent = [
        s
        for box in article.inline_boxes
        if box.kind == "embed-consent"
        for s in (box.text, box.button)
    ]
    markers = {
        "cookie banner": (c.cookie_text.split(",")[0], c.cookie_buttons[0], c.cookie_title),
        "navigation": (c.nav[1][1][1], c.nav[-1][0], c.skip_link, c.account_links[0]),
        "breadcrumb": (c.breadcrumb_home,),
        "related links": tuple(related),
        "most read": (c.most_read, *c.most_read_items),
        "social share": (c.share_buttons[0], c.share_buttons[-1]),
        "newsletter": (c.newsletter_title, c.newsletter_text, c.newsletter_button),
        "comments": (c.comments_text,),
        "advertising": (c.ad_label,),
        # Not "Datenschutzerklärung"/"Cookie-Einstellungen": consent texts name them too.
        "footer": (c.footer_links[0], c.footer_links[-1], c.rights),
        "embed consent": tuple(consent),
    }
    body = article.text
    return {
        kind: kept
        for kind, strings in markers.items()
        if (kept := tuple(s for s in strings if s and s not in body))
    }


# --------------------------------------------------------------------------------------------
# Article pages
# --------------------------------------------------------------------------------------------


def _e(text: str) -> str:
    """HTML-escape text for element content and double-quoted attributes."""
    return html.escape(text, quote=True)


def _slugify(text: str) -> str:
    """URL path segment for a section or person name ("Ausland" → "ausland")."""
    text = text.lower()
    for umlaut, ascii_ in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, ascii_)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _display_time(when: datetime, language: str) -> str:
    """Date as the site prints it, in the article's own time zone."""
    c = _chrome(language)
    if language == "de":
        return f"{when:%d.%m.%Y}, {when:%H:%M} Uhr"
    return f"{when.day} {c.months[when.month - 1]} {when.year}, {when:%H:%M}"


_AGENCIES = frozenset({"dpa", "AFP", "Reuters", "AP", "KNA", "epd", "APA", "SDA"})


def _json_ld(article: Article, site_name: str, canonical_url: str | None) -> str:
    """schema.org NewsArticle, safe to embed in a <script> element."""
    author_type = "Organization" if article.author in _AGENCIES else "Person"
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.description,
        "datePublished": article.published.isoformat(),
        "dateModified": article.published.isoformat(),
        "inLanguage": article.language,
        "articleSection": article.section,
        "author": [{"@type": author_type, "name": article.author}],
        "publisher": {
            "@type": "Organization",
            "name": site_name,
            "logo": {"@type": "ImageObject", "url": "/static/logo-600x60.png"},
        },
    }
    if canonical_url:
        data["mainEntityOfPage"] = {"@type": "WebPage", "@id": canonical_url}
    # "</" inside a string would end the script element early.
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


def _head(article: Article, site_name: str, canonical_url: str | None, theme: Theme) -> str:
    """<head> with title, description, Open Graph, canonical link and JSON-LD."""
    title = (
        f"{article.title} | {site_name}" if theme != "portal" else f"{site_name}: {article.title}"
    )
    locale = {"de": "de_DE", "en": "en_GB"}.get(article.language, article.language)
    lines = [
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f'<meta name="description" content="{_e(article.description)}">',
        '<meta name="robots" content="index, follow, max-image-preview:large">',
        f'<meta name="author" content="{_e(article.author)}">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:title" content="{_e(article.title)}">',
        f'<meta property="og:description" content="{_e(article.description)}">',
        f'<meta property="og:site_name" content="{_e(site_name)}">',
        f'<meta property="og:locale" content="{locale}">',
    ]
    if canonical_url:
        lines.append(f'<meta property="og:url" content="{_e(canonical_url)}">')
    lines += [
        f'<meta property="article:published_time" content="{article.published.isoformat()}">',
        f'<meta property="article:section" content="{_e(article.section)}">',
        '<meta name="twitter:card" content="summary_large_image">',
    ]
    if canonical_url:
        lines.append(f'<link rel="canonical" href="{_e(canonical_url)}">')
    lines += [
        f'<link rel="stylesheet" href="/static/{theme}.css">',
        '<link rel="icon" href="/favicon.ico">',
        '<script type="application/ld+json">',
        _json_ld(article, site_name, canonical_url),
        "</script>",
        # Tag-manager snippets are in every real page head; extraction must ignore scripts.
        "<script>window.dataLayer = window.dataLayer || [];"
        f" dataLayer.push({{'pageType': 'article', 'section': {json.dumps(article.section)}}});"
        "</script>",
        "</head>",
    ]
    return "\n".join(lines)


def _teaser_links(items: Sequence[str], css: str) -> str:
    """<li> teaser links to made-up neighbouring articles."""
    return "\n".join(
        f'<li class="{css}"><a href="/{_slugify(item)[:60]}.html">{_e(item)}</a></li>'
        for item in items
    )


def _share_links(c: _Chrome, css: str) -> str:
    """Social share buttons (links plus a copy-link button, as share bars have)."""
    *links, copy = c.share_buttons
    networks = ("facebook", "x", "whatsapp")
    parts = [
        f'<a class="{css}__item {css}__item--{net}" href="https://share.invalid/{net}" '
        f'rel="nofollow noopener">{_e(label)}</a>'
        for net, label in zip(networks, links, strict=True)
    ]
    parts.append(f'<button class="{css}__item {css}__item--copy" type="button">{_e(copy)}</button>')
    return "\n".join(parts)


def _footer_links(c: _Chrome) -> str:
    """Footer <li> links: imprint, privacy, cookie settings and the rest."""
    return "\n".join(f'<li><a href="/{_slugify(x)}/">{_e(x)}</a></li>' for x in c.footer_links)


def _byline_link(article: Article) -> str:
    """The author's name as a profile link (agency names are not linked, as on real sites)."""
    if article.author in _AGENCIES:
        return _e(article.author)
    return f'<a rel="author" href="/autor/{_slugify(article.author)}/">{_e(article.author)}</a>'


def _body_with_boxes(
    article: Article, render_box: Mapping[str, str], *, p_class: str = "", ad: str = ""
) -> str:
    """Paragraphs with the inline boxes in place; ``render_box`` maps box kind → HTML format.

    ``ad`` (an ad-slot snippet) goes after the third paragraph, where in-article ads sit.
    """
    by_position: dict[int, list[str]] = {}
    for box in article.inline_boxes:
        snippet = render_box[box.kind].format(
            heading=_e(box.heading),
            text=_e(box.text),
            button=_e(box.button),
            teasers=_teaser_links(box.teasers, "teaser"),
        )
        by_position.setdefault(box.after, []).append(snippet)
    if ad and len(article.paragraphs) > 3:
        by_position.setdefault(3, []).append(ad)
    p_open = f'<p class="{p_class}">' if p_class else "<p>"
    parts: list[str] = []
    for i, paragraph in enumerate(article.paragraphs):
        parts += by_position.get(i, [])
        parts.append(f"{p_open}{_e(paragraph)}</p>")
    parts += by_position.get(len(article.paragraphs), [])
    return "\n".join(parts)


def _has_read_also(article: Article) -> bool:
    """Whether the article brings its own related-links box (then the theme adds none)."""
    return any(b.kind == "read-also" for b in article.inline_boxes)


def _nav_classic(c: _Chrome) -> str:
    """Semantic mega menu: <nav> with nested lists."""
    items = []
    for top, subs in c.nav:
        sub = "".join(
            f'<li><a href="/{_slugify(top)}/{_slugify(s)}/">{_e(s)}</a></li>' for s in subs
        )
        sub_html = f'\n<ul class="main-nav__sub">{sub}</ul>' if subs else ""
        items.append(
            f'<li class="main-nav__item"><a href="/{_slugify(top)}/">{_e(top)}</a>{sub_html}</li>'
        )
    return (
        f'<nav class="main-nav" aria-label="{_e(c.nav_label)}">\n<ul class="main-nav__list">\n'
        + "\n".join(items)
        + "\n</ul>\n</nav>"
    )


def _render_classic(
    article: Article, site_name: str, canonical_url: str | None, extra: bool
) -> str:
    """Semantic HTML5 theme: header/nav/main/article/aside/footer, consent layer on top."""
    c = _chrome(article.language)
    boxes = {
        "read-also": (
            '<aside class="related-links related-links--inline" aria-label="{heading}">\n'
            '<h2 class="related-links__title">{heading}</h2>\n<ul>\n{teasers}\n</ul>\n</aside>'
        ),
        "embed-consent": (
            '<div class="embed-consent" data-embed-provider="x">\n'
            '<p class="embed-consent__type">{heading}</p>\n'
            '<p class="embed-consent__text">{text}</p>\n'
            '<button class="embed-consent__button" type="button">{button}</button>\n</div>'
        ),
    }
    ad = (
        f'<div class="ad-slot ad-slot--inarticle" data-ad-unit="article_mid">'
        f'<span class="ad-slot__label">{_e(c.ad_label)}</span></div>'
        if extra
        else ""
    )
    if extra and not _has_read_also(article):
        generic = InlineBox(
            "read-also", min(2, len(article.paragraphs)), c.read_also, teasers=c.teasers
        )
        article = dataclasses.replace(article, inline_boxes=(*article.inline_boxes, generic))
    published = article.published.isoformat()
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{article.language}">',
        _head(article, site_name, canonical_url, "classic"),
    ]
    parts.append('<body class="page page--article">')
    if extra:
        parts += [
            f'<a class="skip-link" href="#main">{_e(c.skip_link)}</a>',
            '<div id="cookie-consent" class="cmp-layer" role="dialog" aria-modal="true" '
            'aria-labelledby="cmp-title">',
            f'<h2 id="cmp-title">{_e(c.cookie_title)}</h2>',
            f"<p>{_e(c.cookie_text)}</p>",
            '<div class="cmp-layer__actions">',
            *(f'<button type="button" class="cmp-btn">{_e(b)}</button>' for b in c.cookie_buttons),
            "</div>",
            "</div>",
            '<header class="site-header">',
            f'<a class="site-header__logo" href="/">{_e(site_name)}</a>',
            '<ul class="site-header__account">',
            *(f'<li><a href="/konto/">{_e(x)}</a></li>' for x in c.account_links),
            "</ul>",
            _nav_classic(c),
            "</header>",
            '<nav class="breadcrumb" aria-label="Breadcrumb">',
            f'<ol><li><a href="/">{_e(c.breadcrumb_home)}</a></li>',
            f'<li><a href="/{_slugify(article.section)}/">{_e(article.section)}</a></li>',
            f'<li aria-current="page">{_e(article.title)}</li></ol>',
            "</nav>",
        ]
    parts += [
        '<main id="main">',
        '<article class="article">',
        '<header class="article__header">',
        f'<p class="article__kicker">{_e(article.section)}</p>',
        f'<h1 class="article__headline">{_e(article.title)}</h1>',
        '<div class="article__meta">',
        f'<span class="article__byline">{_e(c.byline_prefix)} {_byline_link(article)}</span>',
        f'<time class="article__date" datetime="{published}">'
        f"{_display_time(article.published, article.language)}</time>",
        "</div>",
        "</header>",
        '<div class="article__body">',
        _body_with_boxes(article, boxes, ad=ad),
        "</div>",
    ]
    if extra:
        parts += [
            f'<div class="share-bar" aria-label="{_e(c.share_label)}">',
            _share_links(c, "share-bar"),
            "</div>",
        ]
    parts.append("</article>")
    if extra:
        parts += [
            '<section class="newsletter-box" aria-labelledby="nl-title">',
            f'<h2 id="nl-title">{_e(c.newsletter_title)}</h2>',
            f"<p>{_e(c.newsletter_text)}</p>",
            '<form action="/newsletter/anmelden" method="post">',
            f'<input type="email" name="email" placeholder="{_e(c.newsletter_placeholder)}">',
            f'<button type="submit">{_e(c.newsletter_button)}</button>',
            "</form>",
            "</section>",
            '<section id="comments" class="comments">',
            f"<h2>{_e(c.comments_title)}</h2>",
            f'<p class="comments__loading">{_e(c.comments_text)}</p>',
            "</section>",
        ]
    parts.append("</main>")
    if extra:
        parts += [
            '<aside class="sidebar" aria-label="Meistgelesen">',
            f"<h2>{_e(c.most_read)}</h2>",
            f"<ol>\n{_teaser_links(c.most_read_items, 'most-read__item')}\n</ol>",
            "</aside>",
            '<footer class="site-footer">',
            f'<ul class="site-footer__links">\n{_footer_links(c)}\n</ul>',
            f"<p>© {article.published.year} {_e(site_name)}. {_e(c.rights)}</p>",
            "</footer>",
        ]
    parts += ['<script src="/static/app.js" defer></script>', "</body>", "</html>"]
    return "\n".join(parts)


def _render_magazine(
    article: Article, site_name: str, canonical_url: str | None, extra: bool
) -> str:
    """Div-soup theme (CMS style): BEM class names, no semantic sectioning elements."""
    c = _chrome(article.language)
    boxes = {
        "read-also": (
            '<div class="inline-teaser inline-teaser--related">\n'
            '<div class="inline-teaser__label">{heading}</div>\n<ul>\n{teasers}\n</ul>\n</div>'
        ),
        "embed-consent": (
            '<div class="social-embed social-embed--blocked">\n'
            '<div class="social-embed__consent">\n'
            "<strong>{heading}</strong>\n<p>{text}</p>\n"
            '<a class="social-embed__allow" href="#" role="button">{button}</a>\n</div>\n</div>'
        ),
    }
    ad = (
        f'<div class="ad-container" id="ad-inread-1"><div class="ad-container__label">'
        f"{_e(c.ad_label)}</div></div>"
        if extra
        else ""
    )
    published = article.published.isoformat()
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{article.language}">',
        _head(article, site_name, canonical_url, "magazine"),
    ]
    parts.append("<body>")
    if extra:
        columns = []
        for top, subs in c.nav:
            links = "".join(
                f'<li><a href="/{_slugify(top)}/{_slugify(s)}/">{_e(s)}</a></li>' for s in subs
            )
            columns.append(
                f'<div class="mega-menu__column"><a class="mega-menu__title" '
                f'href="/{_slugify(top)}/">{_e(top)}</a><ul>{links}</ul></div>'
            )
        parts += [
            '<div class="consent-overlay" id="consent-overlay">',
            '<div class="consent-overlay__box">',
            f'<div class="consent-overlay__title">{_e(c.cookie_title)}</div>',
            f"<p>{_e(c.cookie_text)}</p>",
            *(f'<a class="btn" href="#" role="button">{_e(b)}</a>' for b in c.cookie_buttons),
            "</div>",
            "</div>",
            '<div class="page-wrapper">',
            '<div class="masthead">',
            f'<div class="masthead__brand"><a href="/">{_e(site_name)}</a></div>',
            f'<div class="masthead__login"><a href="/login">{_e(c.account_links[1])}</a> '
            f'<a href="/abo/">{_e(c.account_links[0])}</a></div>',
            f'<a class="masthead__skip" href="#story">{_e(c.skip_link)}</a>',
            '<div class="mega-menu" id="mega-menu">',
            *columns,
            "</div>",
            "</div>",
            '<div class="breadcrumbs">',
            f'<a href="/">{_e(c.breadcrumb_home)}</a> › '
            f'<a href="/{_slugify(article.section)}/">{_e(article.section)}</a>',
            "</div>",
        ]
    else:
        parts.append('<div class="page-wrapper">')
    parts += [
        '<div class="content-wrapper">',
        '<div class="story" id="story">',
        '<div class="story__head">',
        f'<div class="story__kicker">{_e(article.section)}</div>',
        f'<h1 class="story__title">{_e(article.title)}</h1>',
        f'<div class="story__byline">{_e(c.byline_prefix)} {_byline_link(article)} · '
        f'<time datetime="{published}">'
        f"{_display_time(article.published, article.language)}</time></div>",
        "</div>",
        '<div class="story__text">',
        _body_with_boxes(article, boxes, p_class="story__paragraph", ad=ad),
        "</div>",
    ]
    if extra:
        if not _has_read_also(article):
            parts += [
                '<div class="story__related teaser-list">',
                f'<div class="teaser-list__title">{_e(c.read_also)}</div>',
                f"<ul>\n{_teaser_links(c.teasers, 'teaser-list__item')}\n</ul>",
                "</div>",
            ]
        parts += [
            '<div class="social-buttons">',
            f"<span>{_e(c.share_label)}</span>",
            _share_links(c, "social-buttons"),
            "</div>",
            '<div class="newsletter-signup">',
            f'<div class="newsletter-signup__title">{_e(c.newsletter_title)}</div>',
            f"<p>{_e(c.newsletter_text)}</p>",
            '<form action="/newsletter" method="post">',
            f'<input type="email" name="email" placeholder="{_e(c.newsletter_placeholder)}">',
            f'<button type="submit">{_e(c.newsletter_button)}</button>',
            "</form>",
            "</div>",
        ]
    parts.append("</div>")  # .story
    if extra:
        parts += [
            '<div class="rail">',
            '<div class="rail__box most-read">',
            f'<div class="rail__title">{_e(c.most_read)}</div>',
            f"<ol>\n{_teaser_links(c.most_read_items, 'most-read__item')}\n</ol>",
            "</div>",
            "</div>",
        ]
    parts.append("</div>")  # .content-wrapper
    if extra:
        parts += [
            '<div class="comments-container" id="comments">',
            f'<div class="comments-container__title">{_e(c.comments_title)}</div>',
            f"<p>{_e(c.comments_text)}</p>",
            "</div>",
            '<div class="page-footer">',
            f'<ul class="page-footer__links">\n{_footer_links(c)}\n</ul>',
            f'<div class="page-footer__copyright">© {article.published.year} {_e(site_name)}. '
            f"{_e(c.rights)}</div>",
            "</div>",
        ]
    parts += ["</div>", '<script src="/static/bundle.js"></script>', "</body>", "</html>"]
    return "\n".join(parts)


def _render_portal(article: Article, site_name: str, canonical_url: str | None, extra: bool) -> str:
    """Older portal theme: id-based layout, itemprop markup, sidebar, cookie bar at the end."""
    c = _chrome(article.language)
    boxes = {
        "read-also": (
            '<aside class="read-also">\n<h3>{heading}</h3>\n<ul>\n{teasers}\n</ul>\n</aside>'
        ),
        "embed-consent": (
            '<div class="consent-placeholder" data-vendor="social">\n'
            '<span class="consent-placeholder__type">{heading}</span>\n<p>{text}</p>\n'
            '<button type="button">{button}</button>\n</div>'
        ),
    }
    ad = (
        f'<div class="adslot" id="ad-medrec-1" data-label="{_e(c.ad_label)}">'
        f"<small>{_e(c.ad_label)}</small></div>"
        if extra
        else ""
    )
    published = article.published.isoformat()
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{article.language}">',
        _head(article, site_name, canonical_url, "portal"),
    ]
    parts.append('<body id="top">')
    if extra:
        menu = "\n".join(
            f'<li><a href="/{_slugify(top)}/">{_e(top)}</a></li>'
            + "".join(f'<li class="sub"><a href="/{_slugify(s)}/">{_e(s)}</a></li>' for s in subs)
            for top, subs in c.nav
        )
        parts += [
            '<div id="header">',
            f'<div id="logo"><a href="/">{_e(site_name)}</a></div>',
            f'<div class="topbar"><a href="#content">{_e(c.skip_link)}</a> | '
            + " | ".join(f'<a href="/user/">{_e(x)}</a>' for x in c.account_links)
            + "</div>",
            f'<ul id="menu">\n{menu}\n</ul>',
            "</div>",
            '<div id="breadcrumb">',
            f'<a href="/">{_e(c.breadcrumb_home)}</a> &raquo; {_e(article.section)}',
            "</div>",
        ]
    parts += [
        '<div id="wrapper">',
        '<div id="content">',
        '<section class="article-container" itemscope itemtype="https://schema.org/NewsArticle">',
        f'<h1 itemprop="headline">{_e(article.title)}</h1>',
        f'<p class="info"><span class="date" itemprop="datePublished" content="{published}">'
        f"{_display_time(article.published, article.language)}</span> | "
        f'<span class="author" itemprop="author">{_byline_link(article)}</span></p>',
        '<div itemprop="articleBody">',
        _body_with_boxes(article, boxes, ad=ad),
        "</div>",
    ]
    if extra:
        parts += [
            '<div class="sharing">',
            f"<p>{_e(c.share_label)}:</p>",
            _share_links(c, "sharing"),
            "</div>",
        ]
    parts.append("</section>")
    if extra:
        parts += [
            '<div id="comments">',
            f"<h3>{_e(c.comments_title)}</h3>",
            f"<p>{_e(c.comments_text)}</p>",
            "</div>",
        ]
    parts.append("</div>")  # #content
    if extra:
        related = (
            ""
            if _has_read_also(article)
            else f"<h3>{_e(c.read_also)}</h3>\n<ul>\n{_teaser_links(c.teasers, 'teaser')}\n</ul>\n"
        )
        parts += [
            '<div id="sidebar">',
            related
            + f"<h3>{_e(c.most_read)}</h3>\n<ol>\n{_teaser_links(c.most_read_items, 'top')}\n</ol>",
            '<div class="box newsletter">',
            f"<h3>{_e(c.newsletter_title)}</h3>",
            f"<p>{_e(c.newsletter_text)}</p>",
            '<form action="/nl" method="post">',
            f'<input type="text" name="email" placeholder="{_e(c.newsletter_placeholder)}">',
            f'<button class="btn" type="submit">{_e(c.newsletter_button)}</button>',
            "</form>",
            "</div>",
            "</div>",
        ]
    parts.append("</div>")  # #wrapper
    if extra:
        parts += [
            '<div id="footer">',
            f"<ul>\n{_footer_links(c)}\n</ul>",
            f"<p>© {article.published.year} {_e(site_name)} – {_e(c.rights)}</p>",
            "</div>",
            # cookieconsent-style bar, appended at the end of <body> by a script on real sites.
            '<div class="cc-window cc-banner" role="dialog" aria-label="cookieconsent">',
            f'<span class="cc-message"><b>{_e(c.cookie_title)}</b> {_e(c.cookie_text)}</span>',
            '<div class="cc-compliance">',
            *(
                f'<a class="cc-btn" role="button" tabindex="0">{_e(b)}</a>'
                for b in c.cookie_buttons
            ),
            "</div>",
            "</div>",
        ]
    parts += ["</body>", "</html>"]
    return "\n".join(parts)


_RENDERERS = {
    "classic": _render_classic,
    "magazine": _render_magazine,
    "portal": _render_portal,
}


def render_article_page(
    article: Article,
    *,
    site_name: str,
    canonical_url: str | None = None,
    extra_boilerplate: bool = True,
    theme: Theme = "classic",
) -> str:
    """Render a complete HTML5 news page for ``article``.

    The ``<head>`` carries title, meta description, Open Graph tags, ``<link rel=canonical>``
    (only when ``canonical_url`` is given) and JSON-LD ``NewsArticle``. With
    ``extra_boilerplate`` the body has everything a real news page surrounds an article with
    (see :func:`boilerplate_markers`); without it the page holds only the article, which helps
    tell extraction problems from boilerplate problems. The article's own inline boxes (seed
    000's read-also aside and consent box) are part of the article and always rendered.

    Themes differ in markup, not content: ``classic`` is semantic HTML5, ``magazine`` is a
    div-based CMS layout, ``portal`` an older id-based layout with a sidebar.
    """
    try:
        renderer = _RENDERERS[theme]
    except KeyError:
        raise ValueError(f"unknown theme {theme!r}; use one of {THEMES}") from None
    return renderer(article, site_name, canonical_url, extra_boilerplate) + "\n"


# --------------------------------------------------------------------------------------------
# Feeds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    """One feed entry. ``guid`` is the RSS guid / Atom id; equal to ``url`` means a permalink."""

    url: str
    title: str
    guid: str
    published: datetime
    summary: str
    #: Atom <updated>; defaults to ``published``.
    updated: datetime | None = None
    author: str | None = None


def feed_item(article: Article, url: str, *, guid: str | None = None) -> FeedItem:
    """Feed entry for an article served at ``url`` (guid defaults to the URL)."""
    return FeedItem(
        url=url,
        title=article.title,
        guid=guid or url,
        published=article.published,
        summary=article.description,
        author=article.author,
    )


def _x(text: str) -> str:
    """Escape for XML text and double-quoted attributes (&, <, >, ")."""
    return html.escape(text, quote=True)


def _require_aware(when: datetime) -> datetime:
    """Feed dates must carry a zone: a naive one would silently mean the server's local time."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"feed date without timezone: {when!r}")
    return when


def _newest(items: Sequence[FeedItem]) -> datetime:
    """Newest item time; feed-level dates derive from items so output is byte-stable."""
    if not items:
        return datetime(2024, 1, 1, tzinfo=UTC)
    return max(_require_aware(i.updated or i.published) for i in items)


def render_rss(
    items: Sequence[FeedItem],
    *,
    title: str,
    link: str,
    description: str = "",
    language: str | None = None,
    self_url: str | None = None,
) -> bytes:
    """RSS 2.0 feed (UTF-8): guid, RFC 822 pubDate, description and dc:creator per item.

    Output depends only on the arguments (no "now"), so the same items give the same bytes and
    therefore the same ETag when served by :class:`NewsSite`.
    """
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{_x(title)}</title>",
        f"<link>{_x(link)}</link>",
        f"<description>{_x(description or title)}</description>",
    ]
    if language:
        lines.append(f"<language>{_x(language)}</language>")
    lines += [
        f"<lastBuildDate>{email.utils.format_datetime(_newest(items))}</lastBuildDate>",
        "<ttl>15</ttl>",
    ]
    if self_url:
        lines.append(f'<atom:link href="{_x(self_url)}" rel="self" type="application/rss+xml"/>')
    for item in items:
        permalink = "true" if item.guid == item.url else "false"
        lines += [
            "<item>",
            f"<title>{_x(item.title)}</title>",
            f"<link>{_x(item.url)}</link>",
            f'<guid isPermaLink="{permalink}">{_x(item.guid)}</guid>',
            f"<pubDate>{email.utils.format_datetime(_require_aware(item.published))}</pubDate>",
            f"<description>{_x(item.summary)}</description>",
        ]
        if item.author:
            lines.append(f"<dc:creator>{_x(item.author)}</dc:creator>")
        lines.append("</item>")
    lines += ["</channel>", "</rss>", ""]
    return "\n".join(lines).encode("utf-8")


def render_atom(
    items: Sequence[FeedItem],
    *,
    title: str,
    link: str,
    feed_id: str | None = None,
    self_url: str | None = None,
    language: str | None = None,
    author: str | None = None,
) -> bytes:
    """Atom 1.0 feed (UTF-8): id, published/updated, rel=alternate link and summary per entry.

    Like :func:`render_rss`, byte-stable for the same arguments.
    """
    lang = f' xml:lang="{_x(language)}"' if language else ""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom"{lang}>',
        f"<id>{_x(feed_id or link)}</id>",
        f'<title type="text">{_x(title)}</title>',
        f"<updated>{_newest(items).isoformat()}</updated>",
        f'<link rel="alternate" type="text/html" href="{_x(link)}"/>',
    ]
    if self_url:
        lines.append(f'<link rel="self" type="application/atom+xml" href="{_x(self_url)}"/>')
    # Atom requires an author on the feed or on every entry.
    lines.append(f"<author><name>{_x(author or title)}</name></author>")
    for item in items:
        published = _require_aware(item.published)
        updated = _require_aware(item.updated or item.published)
        lines += [
            "<entry>",
            f"<id>{_x(item.guid)}</id>",
            f'<title type="text">{_x(item.title)}</title>',
            f'<link rel="alternate" type="text/html" href="{_x(item.url)}"/>',
            f"<published>{published.isoformat()}</published>",
            f"<updated>{updated.isoformat()}</updated>",
            f'<summary type="text">{_x(item.summary)}</summary>',
        ]
        if item.author:
            lines.append(f"<author><name>{_x(item.author)}</name></author>")
        lines.append("</entry>")
    lines += ["</feed>", ""]
    return "\n".join(lines).encode("utf-8")


# --------------------------------------------------------------------------------------------
# The HTTP side
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    """What a path currently serves."""

    body: bytes
    status: int
    headers: dict[str, str]
    etag: str | None
    last_modified: datetime | None


@dataclass(frozen=True)
class LoggedRequest:
    """One request the server answered, for assertions about polling behaviour."""

    method: str
    path: str
    query: str
    #: Request headers with lower-case names.
    headers: Mapping[str, str]
    status: int

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name, or None."""
        return self.headers.get(name.lower())


_FEED_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list (or "*") against our ETag."""
    if if_none_match.strip() == "*":
        return True

    def opaque(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    return any(opaque(candidate) == opaque(etag) for candidate in if_none_match.split(","))


class NewsSite:
    """Pages and feeds on a ``pytest_httpserver.HTTPServer``, with HTTP caching validators.

    Every path gets one permanent handler, so it can be requested any number of times.
    Adding a path again replaces what it serves (new ETag, later Last-Modified): that is how a
    test publishes an updated feed. Conditional GET/HEAD requests are answered like a careful
    origin server does (RFC 9110 §13): ``If-None-Match`` matching the ETag gives 304, and only
    without ``If-None-Match`` does ``If-Modified-Since`` ≥ Last-Modified give 304. Paths nobody
    added answer 404, as a real site would (pytest-httpserver still records them as errors).
    """

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self._resources: dict[str, _Resource] = {}
        # A site answers unknown paths with 404; pytest-httpserver's default is 500.
        server.no_handler_status_code = 404

    def url(self, path: str) -> str:
        """Absolute URL for a path on this server (query strings are kept)."""
        return self.server.url_for(path)

    def add_page(
        self,
        path: str,
        html: str | bytes,
        *,
        etag: bool = True,
        last_modified: bool | datetime = True,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Serve an HTML page at ``path`` and return its URL.

        ``last_modified`` may be a datetime (e.g. the article's publication time); ``True``
        uses the current time. A query string in ``path`` is kept in the returned URL but not
        matched: like real sites, the page is served for any query (tracking parameters).
        ``headers`` are added to, or override, the default response headers.
        """
        body = html.encode("utf-8") if isinstance(html, str) else html
        return self._add(
            path,
            body,
            content_type="text/html; charset=utf-8",
            etag=etag,
            last_modified=last_modified,
            status=status,
            headers=headers,
        )

    def add_feed(
        self,
        path: str,
        body: str | bytes,
        *,
        kind: Literal["rss", "atom"] = "rss",
        etag: bool = True,
        last_modified: bool | datetime = True,
    ) -> str:
        """Serve an RSS or Atom feed at ``path`` with its proper media type; return its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self._add(
            path,
            data,
            content_type=_FEED_TYPES[kind],
            etag=etag,
            last_modified=last_modified,
            status=200,
            headers=None,
        )

    def add_redirect(self, path: str, target: str, *, status: int = 301) -> str:
        """Answer ``path`` with a redirect to ``target`` (a path or absolute URL)."""
        location = target if "://" in target else self.url(target)
        return self._add(
            path,
            b"",
            content_type="text/html; charset=utf-8",
            etag=False,
            last_modified=False,
            status=status,
            headers={"Location": location},
        )

    def etag(self, path: str) -> str | None:
        """The ETag ``path`` currently serves (quoted, as in the header)."""
        return self._resources[path.split("?", 1)[0]].etag

    def last_modified(self, path: str) -> datetime | None:
        """The Last-Modified time ``path`` currently serves."""
        return self._resources[path.split("?", 1)[0]].last_modified

    def request_log(self) -> list[LoggedRequest]:
        """Every request the server answered so far, oldest first."""
        return [
            LoggedRequest(
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                headers={k.lower(): v for k, v in request.headers.items()},
                status=response.status_code,
            )
            for request, response in self.server.log
        ]

    def requests_to(self, path: str) -> list[LoggedRequest]:
        """Logged requests for one path (query string ignored)."""
        wanted = path.split("?", 1)[0]
        return [r for r in self.request_log() if r.path == wanted]

    def _add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str,
        etag: bool,
        last_modified: bool | datetime,
        status: int,
        headers: Mapping[str, str] | None,
    ) -> str:
        """Store what ``path`` serves and register its handler the first time."""
        route = path.split("?", 1)[0]
        if not route.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        previous = self._resources.get(route)
        response_headers = {"Content-Type": content_type, "Cache-Control": "no-cache"}
        for name, value in (headers or {}).items():
            # Case-insensitive override, so headers={"content-type": ...} replaces the default.
            for existing in [k for k in response_headers if k.lower() == name.lower()]:
                del response_headers[existing]
            response_headers[name] = value
        self._resources[route] = _Resource(
            body=body,
            status=status,
            headers=response_headers,
            etag=f'"{hashlib.sha256(body).hexdigest()[:20]}"' if etag else None,
            last_modified=self._modified_time(last_modified, previous),
        )
        if previous is None:
            self.server.expect_request(route).respond_with_handler(
                lambda request: self._respond(route, request)
            )
        return self.url(path)

    @staticmethod
    def _modified_time(value: bool | datetime, previous: _Resource | None) -> datetime | None:
        """Last-Modified to serve: whole seconds (HTTP dates have no fractions), increasing."""
        if value is False:
            return None
        if value is True:
            when = datetime.now(UTC).replace(microsecond=0)
            # A replacement within the same second must still look newer to If-Modified-Since.
            if previous is not None and previous.last_modified is not None:
                when = max(when, previous.last_modified + timedelta(seconds=1))
            return when
        return _require_aware(value).astimezone(UTC).replace(microsecond=0)

    def _respond(self, route: str, request: Request) -> Response:
        """Serve ``route``, or 304 when the request's validators show the client is current."""
        resource = self._resources[route]
        headers = dict(resource.headers)
        if resource.status != 200:
            # Validators describe a representation; error pages and redirects get none.
            return Response(resource.body, status=resource.status, headers=headers)
        if resource.etag:
            headers["ETag"] = resource.etag
        if resource.last_modified:
            headers["Last-Modified"] = email.utils.format_datetime(
                resource.last_modified, usegmt=True
            )
        if self._not_modified(request, resource):
            validators = {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}
            return Response(status=304, headers={**validators, "Cache-Control": "no-cache"})
        return Response(resource.body, status=resource.status, headers=headers)

    @staticmethod
    def _not_modified(request: Request, resource: _Resource) -> bool:
        """RFC 9110 §13.2.2 evaluation order for GET/HEAD on a 200 resource."""
        if request.method not in ("GET", "HEAD"):
            return False
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            # If-None-Match wins; If-Modified-Since is then ignored entirely.
            return resource.etag is not None and _etag_matches(if_none_match, resource.etag)
        since = request.if_modified_since  # None when absent or unparseable (then ignored)
        return (
            since is not None
            and resource.last_modified is not None
            and resource.last_modified <= since
        )


# --------------------------------------------------------------------------------------------
# The standard scenario
# --------------------------------------------------------------------------------------------

TRACKING_QUERY = "utm_source=rss&utm_medium=feed"


@dataclass(frozen=True)
class SiteMap:
    """What :func:`build_seed_site` published, so tests can assert without hard-coding ids."""

    site: NewsSite
    #: Outlet name ("welt", "nachrichten", "syndication") → feed URL.
    feeds: dict[str, str]
    #: Outlet name → "rss" or "atom".
    feed_kinds: dict[str, str]
    #: Article slug → URL exactly as listed in its feed (tracking parameters included).
    articles: dict[str, str]
    #: Article URL (as in ``articles``) → expected story label.
    stories: dict[str, str]
    #: URL of a copy → URL of the article it copies.
    copies: dict[str, str]
    #: Article URL → the canonical URL its page declares, or None.
    canonicals: dict[str, str | None]
    #: Article URL → the Article served there (expected text: ``.paragraphs``).
    served: dict[str, Article] = field(repr=False)

    @property
    def feed_urls(self) -> list[str]:
        """All feed URLs, in a stable order."""
        return list(self.feeds.values())

    def story_groups(self) -> dict[str, frozenset[str]]:
        """Expected grouping: story label → the URLs of its reports."""
        groups: dict[str, set[str]] = {}
        for url, label in self.stories.items():
            groups.setdefault(label, set()).add(url)
        return {label: frozenset(urls) for label, urls in groups.items()}


def _article_number(slug: str) -> int:
    """Stable numeric article id for URL styles that have one ("article252337402")."""
    return 250_000_000 + int(hashlib.sha256(slug.encode()).hexdigest()[:6], 16)


def build_seed_site(server: HTTPServer | NewsSite) -> SiteMap:
    """Publish the scenario most pipeline tests need and return its :class:`SiteMap`.

    * ``/welt/`` ("Weltblick", classic theme, RSS): seed 000, the Nahe flood, the Oberliga match.
    * ``/nachrichten/`` ("Abendkurier", magazine theme, Atom): seed 001, the Putin–Modi hard
      negative, the Mühlbach council story.
    * ``/syndication/`` ("Rundblick24", portal theme, RSS): a sloppy syndicated copy of seed
      000 (read-also box flattened into the text), listed with ``?utm_source=rss&utm_medium=feed``
      and without a canonical link on its page.

    Outlet pages declare themselves canonical. Pages carry Last-Modified = publication time.
    """
    site = server if isinstance(server, NewsSite) else NewsSite(server)
    seed0, seed1 = load_seed("000"), load_seed("001")
    flood = fixture_article("hochwasser-nahe-bad-kreuznach")
    football = fixture_article("oberliga-rheinau-talheim")
    modi = fixture_article("putin-empfaengt-modi-moskau")
    council = fixture_article("stadtrat-muehlbach-radwege")
    syndicated = with_read_also_block(seed0)

    articles: dict[str, str] = {}
    stories: dict[str, str] = {}
    canonicals: dict[str, str | None] = {}
    served: dict[str, Article] = {}

    def publish(article: Article, path: str, site_name: str, theme: Theme, canonical: bool) -> str:
        url = site.url(path)
        canonical_url = url if canonical else None
        page = render_article_page(
            article, site_name=site_name, canonical_url=canonical_url, theme=theme
        )
        site.add_page(path, page, last_modified=article.published)
        articles[article.slug] = url
        stories[url] = article.story
        canonicals[url] = canonical_url
        served[url] = article
        return url

    # Outlet A: Weltblick, RSS with permalink guids.
    welt_items = []
    for article in (seed0, flood, football):
        path = (
            f"/welt/{_slugify(article.section)}/article{_article_number(article.slug)}/"
            f"{article.slug}.html"
        )
        url = publish(article, path, "Weltblick", "classic", canonical=True)
        welt_items.append(feed_item(article, url))

    # Outlet B: Abendkurier, Atom with tag: ids.
    nachrichten_items = []
    for article in (seed1, modi, council):
        path = f"/nachrichten/{article.published:%Y/%m/%d}/{article.slug}"
        url = publish(article, path, "Abendkurier", "magazine", canonical=True)
        tag = f"tag:abendkurier.test,{article.published:%Y-%m-%d}:{article.slug}"
        nachrichten_items.append(feed_item(article, url, guid=tag))

    # Syndication partner: copy of seed 000, tracking parameters, no canonical.
    path = f"/syndication/partner/{seed0.slug}.html?{TRACKING_QUERY}"
    syndicated_url = publish(syndicated, path, "Rundblick24", "portal", canonical=False)
    syndication_items = [
        feed_item(
            syndicated, syndicated_url, guid=f"rundblick24-{_article_number(syndicated.slug)}"
        )
    ]

    def newest_first(items: list[FeedItem]) -> list[FeedItem]:
        return sorted(items, key=lambda i: i.published, reverse=True)

    feeds = {
        "welt": site.add_feed(
            "/welt/feeds/politik.rss",
            render_rss(
                newest_first(welt_items),
                title="Weltblick – Nachrichten",
                link=site.url("/welt/"),
                description="Aktuelle Nachrichten von Weltblick",
                language="de",
                self_url=site.url("/welt/feeds/politik.rss"),
            ),
            kind="rss",
            last_modified=max(i.published for i in welt_items),
        ),
        "nachrichten": site.add_feed(
            "/nachrichten/atom.xml",
            render_atom(
                newest_first(nachrichten_items),
                title="Abendkurier – Nachrichten",
                link=site.url("/nachrichten/"),
                feed_id="tag:abendkurier.test,2024:feed",
                self_url=site.url("/nachrichten/atom.xml"),
                language="de",
            ),
            kind="atom",
            last_modified=max(i.published for i in nachrichten_items),
        ),
        "syndication": site.add_feed(
            "/syndication/feed.xml",
            render_rss(
                syndication_items,
                title="Rundblick24 – Partnerinhalte",
                link=site.url("/syndication/"),
                language="de",
            ),
            kind="rss",
            last_modified=syndicated.published,
        ),
    }
    return SiteMap(
        site=site,
        feeds=feeds,
        feed_kinds={"welt": "rss", "nachrichten": "atom", "syndication": "rss"},
        articles=articles,
        stories=stories,
        copies={syndicated_url: articles[seed0.slug]},
        canonicals=canonicals,
        served=served,
    )
