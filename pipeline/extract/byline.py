"""Bylines and datelines that trafilatura leaves at the top of an article's text.

"Von Anna Schmidt, Berlin", "By Jane Doe in London", "Anna Schmidt" or "BERLIN, 12. März 2024"
on a line of their own are about the article, not of it: the author has its own column, and
as the first line they would open every search snippet and listing. Only short lines at the
very top are considered, and only while article text remains after them.
"""

from __future__ import annotations

import re
import unicodedata

#: Lines at the top of the text that may be a byline or dateline.
MAX_LEADING_LINES = 3
#: A byline or dateline is short; a line longer than this is the article's first paragraph.
MAX_BYLINE_WORDS = 12

# "By", "Von", "Par", "Por", "Di", "Door", "Av", "Af", "Przez", "Od" + a capitalised name.
_BY_RE = re.compile(r"^(?i:by|von|par|por|di|door|av|af|przez|od)\s+[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*")
_PLACE = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*(?:[ -][A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*){0,2}"
# "Berlin, 12. März 2024", "BERLIN, March 12", "Berlin (dpa)", "London, 2024-03-12 10:15"
_DATELINE_RE = re.compile(
    rf"^{_PLACE}\s*(?:,\s*(?:\d|[A-ZÀ-ÖØ-Þ][a-zà-ÿ]+\.?\s+\d)[\w .:/-]*|\s*\([\w .-]{{1,20}}\))"
    r"\s*[-–—:]?\s*$"
)
# A bare name: two to four capitalised words, optionally ", City" or "(City)".
_NAME_RE = re.compile(
    r"^[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]+(?:\s+[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]+){1,3}"
    rf"(?:\s*,\s*{_PLACE}|\s*\({_PLACE}\))?$"
)


def strip_byline(text: str, author: str | None = None) -> str:
    """`text` without the byline and dateline lines that open it, if any."""
    lines = text.split("\n")
    start = 0
    while start < min(MAX_LEADING_LINES, len(lines) - 1) and is_byline(lines[start], author):
        start += 1
    return "\n".join(lines[start:]) if start else text


def is_byline(line: str, author: str | None = None) -> bool:
    """Whether a line on its own is a byline ("Von Anna Schmidt, Berlin", the author's name)
    or a dateline ("BERLIN, 12. März 2024", "Berlin (dpa)")."""
    line = line.strip()
    words = line.split()
    if not words or len(words) > MAX_BYLINE_WORDS or line.endswith(("?", "!")):
        return False
    if _BY_RE.match(line) and not line.endswith("."):
        return True
    if author and _folded(author) in _folded(line) and len(words) <= len(author.split()) + 4:
        return True
    if _DATELINE_RE.match(line):
        return True
    return bool(author) and bool(_NAME_RE.match(line)) and _shares_a_name(line, author or "")


def _folded(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", value).split())


def _shares_a_name(line: str, author: str) -> bool:
    """'A. Schmidt, Berlin' and author 'Anna Schmidt' share the surname."""
    names = {word for word in _folded(author).split() if len(word) > 2}
    return bool(names & set(_folded(line).split()))
