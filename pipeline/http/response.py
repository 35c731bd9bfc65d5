"""One HTTP response classified: what the fetcher does next and what it will report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .body import BodyError, read_capped
from .headers import content_length, content_type, retry_after_seconds, status_text
from .result import FetchOutcome
from .transport import Deadline

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Reply:
    """The result of one request (or of a check that prevented it)."""

    outcome: FetchOutcome
    error: str | None = None
    status: int | None = None
    content: bytes = b""
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    bytes_read: int = 0
    location: str | None = None  # set on a redirect still to be followed
    retry: bool = False  # worth another attempt now
    retry_after: float | None = None


def read_response(
    response: httpx.Response, max_bytes: int, truncate: bool, deadline: Deadline
) -> Reply:
    """What one response says: a redirect to follow, 304, an HTTP error (retry or not,
    Retry-After), or a body read under the byte cap and the request's deadline."""
    status = response.status_code
    media_type, charset = content_type(response.headers.get("content-type"))
    meta: dict[str, Any] = {
        "status": status,
        "content_type": media_type,
        "charset": charset,
        "etag": response.headers.get("etag"),
        "last_modified": response.headers.get("last-modified"),
    }
    if status in REDIRECT_STATUSES:
        location = response.headers.get("location")
        if not location:
            error = f"{status_text(response)} without a Location header"
            return Reply(FetchOutcome.REDIRECT_ERROR, error=error, **meta)
        error = f"{status_text(response)} redirect not followed"
        return Reply(FetchOutcome.REDIRECT_ERROR, error=error, location=location, **meta)
    if status == 304:
        return Reply(FetchOutcome.NOT_MODIFIED, **meta)
    if not 200 <= status < 300:
        retry = status in RETRY_STATUSES
        retry_after = retry_after_seconds(response) if retry else None
        return Reply(
            FetchOutcome.HTTP_ERROR,
            error=status_text(response),
            retry=retry,
            retry_after=retry_after,
            **meta,
        )
    length = content_length(response.headers.get("content-length"))
    if length is not None and length > max_bytes and not truncate:
        error = f"Content-Length {length} exceeds the limit of {max_bytes} bytes"
        return Reply(FetchOutcome.TOO_LARGE, error=error, **meta)
    try:
        content, count = read_capped(response, max_bytes, truncate, deadline)
    except BodyError as exc:
        return Reply(FetchOutcome.HTTP_ERROR, error=str(exc), **meta)
    if content is None:
        error = f"body exceeds the limit of {max_bytes} bytes (decoded)"
        return Reply(FetchOutcome.TOO_LARGE, error=error, bytes_read=count, **meta)
    return Reply(FetchOutcome.OK, content=content, bytes_read=count, **meta)
