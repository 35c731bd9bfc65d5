"""Plausible dates: what a feed, a page or an input line may claim as a publication time.

Shared by feed parsing, extraction and `cluster` input, so "impossible" means the same
everywhere: a field out of range or a UTC offset beyond ±14 hours makes a date unknown,
never a shifted one, and dates before the web news era or in the future are feed bugs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz

# Dates outside this range are feed bugs (epoch zero, year 2999), not publication times.
EARLIEST_PLAUSIBLE_DATE = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)

# The UTC offsets in use run from -12:00 to +14:00.
MAX_UTC_OFFSET = timedelta(hours=14)
_RFC822_OFFSET = re.compile(r"\s[+-](\d{2})(\d{2})\s*$")
_ISO_DATE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,]\d+)?)?)?"
    r"\s*(?:[Zz]|[+-](\d{2}):?(\d{2}))?\s*$"
)


def impossible_date(written: str) -> bool:
    """Whether a date written in RFC 822 or ISO 8601 has a field or UTC offset out of range.

    feedparser does not refuse them: `+9999` becomes an offset of 100 h 39 min, month 13 the
    next January, so the article would be stored days or months off. Formats other than
    these two are left to feedparser.
    """
    iso = _ISO_DATE.match(written)
    if iso:
        year, month, day, hour, minute, second, off_h, off_m = iso.groups()
        fields = (year, month, day, hour or 0, minute or 0, second or 0)
        return not _valid_fields(*map(int, fields)) or not valid_offset(off_h, off_m)
    rfc = parsedate_tz(written)
    if rfc is None:
        return False
    offset = _RFC822_OFFSET.search(written)
    year, month, day, hour, minute, second = rfc[:6]
    return not _valid_fields(year, month, day, hour, minute, second) or (
        offset is not None and not valid_offset(offset.group(1), offset.group(2))
    )


def valid_offset(hours: str | None, minutes: str | None) -> bool:
    if hours is None or minutes is None:
        return True
    return int(minutes) < 60 and timedelta(hours=int(hours), minutes=int(minutes)) <= (
        MAX_UTC_OFFSET
    )


def _valid_fields(year: int, month: int, day: int, hour: int, minute: int, second: int) -> bool:
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # a leap second is fine
    except (ValueError, OverflowError):
        return False
    return True
