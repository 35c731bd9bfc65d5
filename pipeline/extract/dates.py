"""Page dates: what trafilatura (htmldate) found, read strictly.

A date with an impossible UTC offset names no moment: it is unknown, never shifted. And an
unreadable date in a meta tag must not cost the article: htmldate raises for offsets of 24
hours or more, and trafilatura would then discard the whole page.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import trafilatura.metadata

from ..dates import MAX_UTC_OFFSET

log = logging.getLogger(__name__)

# What we ask htmldate for: the original publication date, with time and zone when known.
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def page_date(value: str | None) -> datetime | None:
    """The moment of trafilatura's date string; None when absent or impossible."""
    if not value:
        return None
    for fmt in (DATE_FORMAT, "%Y-%m-%d"):
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
# name is the one place to put the guard. tests/test_extract_dates.py fails if it moves.
if not callable(getattr(trafilatura.metadata, "find_date", None)):
    raise RuntimeError("trafilatura.metadata.find_date is gone: adapt pipeline.extract.dates")
_htmldate_find_date = trafilatura.metadata.find_date
trafilatura.metadata.find_date = _find_date_or_none
