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

# --- scripts written without spaces between words ------------------------------------------
#
# \w+ finds words in scripts that separate them with spaces. Chinese and Japanese (Han,
# kana) and the Brahmic scripts of South-East Asia (Thai, Lao, Khmer, Myanmar) do not: a
# \w+ run there is a clause or a sentence, so a 374-character Chinese report "had 28 words".
# A word unit in those scripts is one character, as word processors count CJK: about 1.5
# per Chinese word, close to a word in Japanese kana. Thai, Lao, Khmer and Myanmar letters
# carry combining vowel and tone marks (which \w does not match); a letter with its marks is
# one unit, and as their words average about four such letters (3.7 in the first paragraph
# of our Thai test report, segmented by hand), four units count as one word: counting
# letters as words would let a ten-word teaser pass a 40-word minimum. Korean (Hangul)
# separates words with spaces and needs nothing.
_HAN_KANA = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c\u3041-\u30ff"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_SOUTHEAST_ASIAN = "\u0e01-\u0e5b\u0e81-\u0edf\u1000-\u109f\u1780-\u17ff"
# Combining marks of those four scripts (Unicode categories Mn and Mc)
SOUTHEAST_ASIAN_MARKS = (
    "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd\u102b-\u103e"
    "\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d"
    "\u108f\u109a-\u109d\u17b4-\u17d3\u17dd"
)
LETTERS_PER_SOUTHEAST_ASIAN_WORD = 4
_UNSPACED_RE = re.compile(f"[{_HAN_KANA}{_SOUTHEAST_ASIAN}]")
_SOUTHEAST_ASIAN_RE = re.compile(f"[{_SOUTHEAST_ASIAN}]")
# A token: a \w+ word, or a run of Thai/Lao/Khmer/Myanmar letters with their marks
_TOKEN_RE = re.compile(f"[\\w{SOUTHEAST_ASIAN_MARKS}]+")
# Pieces of a token: one CJK character, one South-East Asian letter with its marks, or a
# run of anything else (digits and letters of spaced scripts)
_PIECE_RE = re.compile(
    f"([{_HAN_KANA}])|([{_SOUTHEAST_ASIAN}][{SOUTHEAST_ASIAN_MARKS}]*)"
    f"|[^{_HAN_KANA}{_SOUTHEAST_ASIAN}]+"
)


def has_unspaced(text: str) -> bool:
    """Whether `text` has a character of a script written without spaces between words."""
    return _UNSPACED_RE.search(text) is not None


def word_units(text: str) -> list[str]:
    r"""The words of `text`: \w+ words of spaced scripts (unchanged), and one unit per CJK
    character and per Thai/Lao/Khmer/Myanmar letter (with its combining marks)."""
    if not has_unspaced(text):
        return _WORD_RE.findall(text)
    units: list[str] = []
    for token in _TOKEN_RE.findall(text):
        if has_unspaced(token):
            units.extend(match.group() for match in _PIECE_RE.finditer(token))
        else:
            units.append(token)
    return units


def is_unspaced_unit(unit: str) -> bool:
    return has_unspaced(unit[:1])


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
    """The form two exact copies share: NFKC, case-folded, word units only (so the shingles
    of near-copy detection are words in every script; unchanged for spaced scripts)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(word_units(folded))


def text_hash(text: str) -> str:
    """sha256 hex digest of the normalised text."""
    return hashlib.sha256(normalized_for_hash(text).encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    """Words of `text` in every script: extraction's minimum length and "has a real
    sentence" checks, and articles.word_count. See the notes on unspaced scripts above."""
    if not has_unspaced(text):
        return len(_WORD_RE.findall(text))
    words = 0
    southeast_asian = 0
    for unit in word_units(text):
        if _SOUTHEAST_ASIAN_RE.match(unit):
            southeast_asian += 1
        else:
            words += 1
    return words + -(-southeast_asian // LETTERS_PER_SOUTHEAST_ASIAN_WORD)
