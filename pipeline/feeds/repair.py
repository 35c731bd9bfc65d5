"""Repairs of a feed document's bytes before feedparser reads them.

feedparser's fallback parser calls `chr()` on every numeric character reference and raises
for one that names no character (`&#xD800;`, `&#x110000;`, twenty digits), losing the whole
feed for one bad item. Such references are replaced in the raw bytes, so the item keeps
its other text and its siblings are read.
"""

from __future__ import annotations

import re

# A numeric character reference, decimal or hex, with or without its ';' (the lenient
# parser feedparser falls back to reads both).
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")
_REPLACEMENT_REF = b"&#xFFFD;"
_SPACE_REF = b"&#32;"


def sanitise_character_references(content: bytes) -> tuple[bytes, int]:
    """`content` with every numeric character reference XML forbids replaced, and how many.

    feedparser's fallback parser turns `&#xD800;`, `&#x110000;` or a 20-digit reference into
    `chr(n)` and raises (UnicodeEncodeError, ValueError, OverflowError), losing the whole
    feed for one bad item. Surrogates, non-characters and code points beyond U+10FFFF
    become U+FFFD; control characters (which XML forbids too) a space. UTF-16/32 documents
    are repaired in their own encoding.
    """
    wide = _wide_encoding(content)
    if wide is None:
        return _replace_references(content)
    try:
        text = content.decode(wide)
    except UnicodeDecodeError:
        return content, 0  # not what its first bytes claim; the parser will say so
    repaired, count = _replace_references(text.encode("utf-8"))
    return (repaired.decode("utf-8").encode(wide), count) if count else (content, 0)


def _replace_references(content: bytes) -> tuple[bytes, int]:
    count = 0

    def checked(match: re.Match[bytes]) -> bytes:
        nonlocal count
        replacement = _reference_replacement(match.group(1), match.group(2))
        if replacement is None:
            return match.group(0)
        count += 1
        return replacement

    return _CHAR_REF.sub(checked, content), count


def _reference_replacement(hex_digits: bytes | None, decimal: bytes | None) -> bytes | None:
    """None if the reference names a character XML allows, else what replaces it."""
    digits = (hex_digits if hex_digits is not None else decimal or b"").lstrip(b"0") or b"0"
    # U+10FFFF is 6 hex or 7 decimal digits: longer ones need no int() (and int() of 5,000
    # digits raises ValueError of its own).
    if len(digits) > (6 if hex_digits is not None else 7):
        return _REPLACEMENT_REF
    code = int(digits, 16 if hex_digits is not None else 10)
    if code in (0x9, 0xA, 0xD) or 0x20 <= code < 0xD800 or 0xE000 <= code <= 0xFFFD:
        return None
    if 0x10000 <= code <= 0x10FFFF:
        return None
    return _SPACE_REF if code < 0x20 else _REPLACEMENT_REF


def _wide_encoding(content: bytes) -> str | None:
    """UTF-16/32 by byte-order mark or by how '<' is spelled (XML 1.0 appendix F)."""
    for prefix, codec in _WIDE_PREFIXES:
        if content.startswith(prefix):
            return codec
    return None


_WIDE_PREFIXES = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
