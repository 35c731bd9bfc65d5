"""Page bytes to text: the HTTP charset when it fits, browser rules where servers lie."""

from __future__ import annotations

import codecs
import re


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
