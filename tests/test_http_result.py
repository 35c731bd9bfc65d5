"""pipeline.http.result: what a fetch did, and whether trying again later may succeed (the
cycle retries an article in a later run only if so)."""

from __future__ import annotations

import pytest

from pipeline.http import FetchOutcome, FetchResult


def result(outcome: FetchOutcome, status: int | None = None) -> FetchResult:
    return FetchResult(
        url="https://news.example/a",
        final_url="https://news.example/a",
        outcome=outcome,
        status=status,
        content=b"",
        content_type=None,
        charset=None,
        etag=None,
        last_modified=None,
        elapsed_ms=5,
        bytes_read=0,
        attempts=1,
        error=None,
    )


@pytest.mark.parametrize(
    ("outcome", "status", "retryable"),
    [
        (FetchOutcome.NETWORK_ERROR, None, True),
        (FetchOutcome.TIMEOUT, None, True),
        (FetchOutcome.ROBOTS_UNAVAILABLE, None, True),  # RFC 9309: disallowed for now
        (FetchOutcome.HTTP_ERROR, 408, True),
        (FetchOutcome.HTTP_ERROR, 429, True),
        (FetchOutcome.HTTP_ERROR, 500, True),
        (FetchOutcome.HTTP_ERROR, 599, True),
        (FetchOutcome.HTTP_ERROR, 404, False),
        (FetchOutcome.HTTP_ERROR, 410, False),
        (FetchOutcome.HTTP_ERROR, None, False),  # an undecodable body: the server's fault
        (FetchOutcome.TOO_LARGE, 200, False),
        (FetchOutcome.REFUSED, None, False),
        (FetchOutcome.ROBOTS_DISALLOWED, None, False),
        (FetchOutcome.REDIRECT_ERROR, 302, False),
        (FetchOutcome.NOT_MODIFIED, 304, False),
        (FetchOutcome.OK, 200, False),
    ],
)
def test_only_failures_a_later_run_may_not_repeat_are_retryable(
    outcome: FetchOutcome, status: int | None, retryable: bool
) -> None:
    assert result(outcome, status).retryable is retryable


def test_only_ok_is_ok() -> None:
    assert [o for o in FetchOutcome if result(o, 200).ok] == [FetchOutcome.OK]


def test_outcomes_are_the_strings_news_fetches_stores() -> None:
    assert {str(o) for o in FetchOutcome} == {
        "ok",
        "not_modified",
        "http_error",
        "network_error",
        "timeout",
        "too_large",
        "refused",
        "robots_disallowed",
        "robots_unavailable",
        "redirect_error",
    }
