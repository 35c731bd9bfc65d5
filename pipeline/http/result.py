"""What a fetch did: `FetchResult` and its `FetchOutcome`, the fetch layer's one output type."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FetchOutcome(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    HTTP_ERROR = "http_error"
    NETWORK_ERROR = "network_error"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    REFUSED = "refused"
    ROBOTS_DISALLOWED = "robots_disallowed"
    # robots.txt unreachable, 5xx or 429: RFC 9309 says assume everything is disallowed,
    # for now; the article is tried again in a later run
    ROBOTS_UNAVAILABLE = "robots_unavailable"
    REDIRECT_ERROR = "redirect_error"


@dataclass(frozen=True)
class FetchResult:
    """What one `Fetcher.get` did. `attempts` counts HTTP requests made (hops and retries)."""

    url: str
    final_url: str
    outcome: FetchOutcome
    status: int | None
    content: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    elapsed_ms: int
    bytes_read: int
    attempts: int
    error: str | None
    redirects: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome is FetchOutcome.OK

    @property
    def retryable(self) -> bool:
        """Whether trying again later may succeed."""
        if self.outcome in (
            FetchOutcome.NETWORK_ERROR,
            FetchOutcome.TIMEOUT,
            FetchOutcome.ROBOTS_UNAVAILABLE,
        ):
            return True
        if self.outcome is FetchOutcome.HTTP_ERROR and self.status is not None:
            return self.status in (408, 429) or self.status >= 500
        return False
