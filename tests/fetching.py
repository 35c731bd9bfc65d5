"""Helpers of the tests of pipeline/http (tests/test_http_*.py): small, strict fetch settings,
a fetcher allowed to reach the local test servers, and a resolver that knows only the names
a test gives it (so nothing can quietly reach real DNS).

The fixtures built on them (`threaded_server`, `server`, `fetcher`) are in conftest.py.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import FetchSettings
from pipeline.http import Fetcher, FetchResult, netguard

CAP = 200_000
USER_AGENT = "news-ingest-test/1.0 (+https://example.invalid/bot)"


def make_settings(**overrides: Any) -> FetchSettings:
    base: dict[str, Any] = {
        "user_agent": USER_AGENT,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 1.5,
        "max_feed_bytes": CAP,
        "max_article_bytes": CAP,
        "max_redirects": 3,
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "max_retry_after": 2.0,
        "per_host_concurrency": 2,
    }
    return FetchSettings(**(base | overrides))


def local_fetcher(**overrides: Any) -> Fetcher:
    """A fetcher allowed to reach the local test servers."""
    return Fetcher(make_settings(**overrides), allow_private_networks=True)


def get(fetcher: Fetcher, url: str, **kwargs: Any) -> FetchResult:
    return fetcher.get(url, max_bytes=kwargs.pop("max_bytes", CAP), **kwargs)


def resolver_for(
    mapping: dict[str, list[str]], calls: list[tuple[str, int]] | None = None
) -> netguard.Resolver:
    """A resolver that knows only `mapping` (so nothing can quietly reach real DNS)."""

    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        if host not in mapping:
            raise OSError(f"test resolver does not know {host}")
        return mapping[host]

    return resolve
