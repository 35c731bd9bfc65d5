"""Article pages to clean text and metadata with trafilatura.

`news-ingest extract PAGE.html` calls exactly `extract_article`, so editors see what the
pipeline would store.
"""

from __future__ import annotations

import codecs
import logging
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import trafilatura
import trafilatura.metadata
from lxml import html as lxml_html

from .feed_parser import MAX_UTC_OFFSET
from .textnorm import clean_line, clean_text, normalized_for_hash, word_count
from .urls import MAX_URL_BYTES, url_too_long

log = logging.getLogger(__name__)

DEFAULT_MIN_WORDS = 40
MIN_SENTENCE_WORDS = 10  # the longest paragraph of an article has at least this many words
LANGUAGE_CONFIDENCE = 0.9
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


def decode_html(content: bytes, charset: str | None) -> str | bytes:
    """Decode with the HTTP charset when it really fits the bytes.

    A server that declares the wrong charset is common: if strict decoding fails, hand the
    bytes to trafilatura, which sniffs <meta charset> and the content itself.
    """
    if charset:
        if charset.strip().lower() in _WINDOWS_1252_LABELS:
            charset = "cp1252"
        try:
            codecs.lookup(charset)
            return content.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    if _damaged_utf8(content):
        # Valid UTF-8 but for a few broken sequences (a cut multi-byte character, a stray
        # byte): decode it as browsers do, with U+FFFD. Sniffing would guess a legacy charset
        # from those bytes and garble every other non-ASCII character of the page.
        return content.decode("utf-8", errors="replace")
    return content


_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")


def _damaged_utf8(content: bytes) -> bool:
    """True if `content` is not valid UTF-8 but at least 4 of 5 non-ASCII sequences are."""
    text = content.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - content.count("\ufffd".encode())
    if invalid <= 0:
        return False
    valid = len(_NON_ASCII_RE.findall(text)) - text.count("\ufffd")
    return valid >= 4 * invalid


# Labels the WHATWG Encoding Standard (what every browser implements) decodes as
# windows-1252. Pages labelled ISO-8859-1 are very often windows-1252 („ “ – €); decoding
# them as real Latin-1 turns those into C1 control characters, which cleaning then drops.
_WINDOWS_1252_LABELS = frozenset(
    {
        "ansi_x3.4-1968",
        "ascii",
        "cp1252",
        "cp819",
        "csisolatin1",
        "ibm819",
        "iso-8859-1",
        "iso-ir-100",
        "iso8859-1",
        "iso88591",
        "iso_8859-1",
        "iso_8859-1:1987",
        "l1",
        "latin1",
        "us-ascii",
        "windows-1252",
        "x-cp1252",
    }
)


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
        published_at=_parse_date(document.date),
        sitename=clean_line(document.sitename, 300),
        description=clean_line(document.description, 2000),
        language=detect_language(text, declared=_declared_language(page), hint=language_hint),
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


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(value, fmt)
        except ValueError:
            continue
        offset = moment.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            return None  # no place on earth: unknown, not shifted
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _find_date_or_none(*args: Any, **kwargs: Any) -> str | None:
    """htmldate's find_date, for trafilatura, with an unreadable page date as no date.

    htmldate raises ValueError for a date whose UTC offset is 24 hours or more
    (`2025-06-10T12:00:00+99:99` in a meta tag or JSON-LD), and trafilatura then discards
    the whole page ("no article text found"). A date is only metadata: the article is kept
    and its date is the feed's, or unknown.
    """
    try:
        return _htmldate_find_date(*args, **kwargs)  # type: ignore[no-any-return]
    except (ValueError, OverflowError, TypeError) as exc:
        log.info("page date unreadable, left unknown: %s", exc)
        return None


# trafilatura calls htmldate through the name it imported into trafilatura.metadata; that
# name is the one place to put the guard. test_extract.py fails if it moves.
if not callable(getattr(trafilatura.metadata, "find_date", None)):
    raise RuntimeError("trafilatura.metadata.find_date is gone: adapt pipeline.extract")
_htmldate_find_date = trafilatura.metadata.find_date
trafilatura.metadata.find_date = _find_date_or_none


_LANGUAGE_MODEL_LOCK = threading.Lock()


def _language_identifier() -> Any:
    # The article threads of a run all extract their first page at the same moment; without
    # the lock each would load the model (measured: 7 s instead of 0.8 s for 8 threads).
    with _LANGUAGE_MODEL_LOCK:
        return _load_language_identifier()


@lru_cache(maxsize=1)
def _load_language_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(
    text: str, *, declared: str | None = None, hint: str | None = None
) -> str | None:
    """ISO 639-1 code: confident detection first (CMS templates often declare a wrong
    <html lang>), then the page's declaration, then the editor's hint for the feed."""
    if text:
        language, probability = _language_identifier().classify(text[:5000])
        if probability >= LANGUAGE_CONFIDENCE:
            return str(language)
    return declared or hint


def _declared_language(page: str | bytes) -> str | None:
    head = page[:20_000]
    try:
        root = lxml_html.fromstring(head)
    except (ValueError, lxml_html.etree.ParserError):
        return None
    value = root.get("lang") or next(
        iter(root.xpath("//meta[@http-equiv='content-language']/@content")), None
    )
    if not value:
        return None
    code = str(value).strip().lower()[:2]
    return code if code.isalpha() and len(code) == 2 else None
