"""Article pages to clean text and metadata with trafilatura.

`news-ingest extract PAGE.html` calls exactly `extract_article`, so editors see what the
pipeline would store.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import trafilatura

from ..textnorm import clean_line, clean_text, normalized_for_hash, word_count
from ..urls import MAX_URL_BYTES, url_too_long
from .byline import strip_byline
from .dates import page_date
from .language import declared_language, detect_language

log = logging.getLogger(__name__)

DEFAULT_MIN_WORDS = 40
MIN_SENTENCE_WORDS = 10  # the longest paragraph of an article has at least this many words
DATE_PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True}

# Lines that are page furniture wherever they appear in the body: syndication keeps
# "read also" blocks and social-embed consent prompts inside the article markup.
_CRUFT_LINE_RE = re.compile(
    r"""^(?:
        (?:lesen\ sie\ (?:auch|mehr)|mehr\ zum\ thema|auch\ interessant|das\ könnte\ sie\ auch
           \ interessieren|read\ (?:also|more)|related(?:\ articles)?|see\ also)\b.{0,400}
      | (?:video\ |audio\ )?ich\ möchte\ (?:eingebundene|externe)\ .{0,40}inhalte\ sehen\b.*
      | .{0,80}personenbezogene\ daten\ \(ip-adresse.*
      | (?:anzeige|werbung|advertisement)
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class ExtractedArticle:
    """What the pipeline stores for one page."""

    text: str
    title: str | None
    author: str | None
    published_at: datetime | None
    sitename: str | None
    description: str | None
    language: str | None
    declared_url: str | None
    word_count: int

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        return data


class ExtractionError(ValueError):
    """The page yields no usable article text; the message says why."""


def extract_article(
    page: str | bytes,
    *,
    url: str | None = None,
    language_hint: str | None = None,
    min_words: int = DEFAULT_MIN_WORDS,
) -> ExtractedArticle:
    """Main text and metadata of an article page; raise ExtractionError if there is none."""
    page = page.replace(b"\x00", b"") if isinstance(page, bytes) else page.replace("\x00", "")
    try:
        document = trafilatura.bare_extraction(
            page,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            date_extraction_params=DATE_PARAMS,
        )
    except (ValueError, TypeError, RecursionError) as exc:  # malformed markup deep inside lxml
        raise ExtractionError(f"page could not be parsed: {exc}") from exc
    if document is None or not (document.text or "").strip():
        raise ExtractionError("no article text found on the page")

    title = clean_line(document.title)
    text = _drop_cruft_and_headline(clean_text(document.text) or "", title)
    text = strip_byline(text, author=clean_line(document.author, 300))
    words = word_count(text)
    if words < min_words:
        raise ExtractionError(
            f"too little article text: {words} words (minimum {min_words}; paywall or teaser?)"
        )
    longest = max(word_count(line) for line in text.split("\n"))
    if longest < MIN_SENTENCE_WORDS:
        # With no article body, trafilatura's fallback returns whatever lines it finds: a
        # menu, a list of teasers, gallery captions. An article has at least one sentence.
        raise ExtractionError(
            f"no article text found on the page: only short lines (the longest has {longest} "
            "words), such as a menu or captions"
        )
    return ExtractedArticle(
        text=text,
        title=title,
        author=clean_line(document.author, 300),
        published_at=page_date(document.date),
        sitename=clean_line(document.sitename, 300),
        description=clean_line(document.description, 2000),
        language=detect_language(text, declared=declared_language(page), hint=language_hint),
        declared_url=_declared_url(document.url),
        word_count=words,
    )


def _declared_url(value: str | None) -> str | None:
    """The page's rel=canonical / og:url, whole or not at all: a cut URL names another page."""
    url = clean_line(value, 100_000)
    if url and url_too_long(url):
        log.info("declared URL dropped: longer than %d bytes: %s", MAX_URL_BYTES, url[:200])
        return None
    return url


def _drop_cruft_and_headline(text: str, title: str | None) -> str:
    paragraphs = [p for p in text.split("\n") if p and not _CRUFT_LINE_RE.match(p.strip())]
    # trafilatura keeps the <h1> as the first line; the title has its own column.
    if paragraphs and title and normalized_for_hash(paragraphs[0]) == normalized_for_hash(title):
        paragraphs = paragraphs[1:]
    return "\n".join(paragraphs)
