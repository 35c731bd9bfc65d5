"""Text hygiene for storage and the normal form used to recognise exact copies."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# C0/C1 control characters except tab and newline. PostgreSQL rejects NUL in text
# columns, and the rest only ever arrive as mojibake.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES_RE = re.compile(r"\n\s*\n+")
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def clean_text(value: str | None) -> str | None:
    """Text safe to store: no control characters, tidy whitespace, paragraphs kept."""
    if value is None:
        return None
    value = _CONTROL_RE.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    value = _SPACES_RE.sub(" ", value)
    lines = (line.strip() for line in value.split("\n"))
    value = "\n".join(lines)
    return _BLANK_LINES_RE.sub("\n\n", value).strip()


def clean_line(value: str | None, max_length: int = 1000) -> str | None:
    """A one-line field (title, author): cleaned, whitespace collapsed, bounded; None if empty."""
    cleaned = clean_text(value)
    if not cleaned:
        return None
    return " ".join(cleaned.split())[:max_length]


def cut_to_bytes(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits in `max_bytes` (never half a
    character)."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore")


def bounded_key(text: str, max_bytes: int) -> str:
    """`text` if its UTF-8 form fits in `max_bytes`, else a cut of it that stays unique: the
    prefix plus a digest of the whole.

    For values a feed controls that reach a btree index (PostgreSQL refuses index rows over
    2,704 bytes: a limit in bytes, and 1,000 CJK characters are 3,000 of them).
    """
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    digest = "…#" + hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]
    return cut_to_bytes(text, max_bytes - len(digest.encode("utf-8"))) + digest


def normalized_for_hash(text: str) -> str:
    """The form two exact copies share: NFKC, case-folded, words only."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD_RE.findall(folded))


def text_hash(text: str) -> str:
    """sha256 hex digest of the normalised text."""
    return hashlib.sha256(normalized_for_hash(text).encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    return len(_WORD_RE.findall(text))
