"""Small, strict parsers of response headers."""

from __future__ import annotations

import email.utils
import logging
import re
from datetime import UTC, datetime
from http import HTTPStatus

import httpx

logger = logging.getLogger(__name__)


# Numbers in headers and robots.txt are ASCII digits (RFC 9110 `1*DIGIT`). str.isdigit()
# also accepts '²' or '①', which int() and float() then refuse with ValueError.
_ASCII_NUMBER = re.compile(r"[0-9]{1,15}")


def ascii_number(value: str | None) -> int | None:
    """The integer `value` spells in ASCII digits (surrounding spaces allowed), else None."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if _ASCII_NUMBER.fullmatch(value) else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date), None if unusable."""
    if value is None:
        return None
    value = value.strip()
    seconds = ascii_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, charset) of a Content-Type header."""
    if not value:
        return None, None
    media_type, *params = value.split(";")
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset" and raw.strip().strip("\"'"):
            charset = raw.strip().strip("\"'").lower()
    return media_type.strip().lower() or None, charset


def content_length(value: str | None) -> int | None:
    return ascii_number(value)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """A response's Retry-After in seconds; a value that is neither is ignored, with a
    warning."""
    value = response.headers.get("retry-after")
    seconds = parse_retry_after(value)
    if value is not None and seconds is None:
        logger.warning("%s: ignoring Retry-After %r (not a number or date)", response.url, value)
    return seconds


def status_text(response: httpx.Response) -> str:
    """ "HTTP 404 Not Found": the standard phrase, so errors read alike whatever the server says."""
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase
    return f"HTTP {response.status_code} {phrase}".rstrip()
