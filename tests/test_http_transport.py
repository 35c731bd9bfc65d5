"""pipeline.http.transport: connections to the vetted address (with the original Host and
SNI), network failures, and the timeouts and total deadline of a request, against real
sockets (tests/hostile_http.py) that reset, hang and drip."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpcore
import httpx
import pytest
from fetching import CAP, get, local_fetcher, make_settings, resolver_for
from hostile_http import (
    RawServer,
    closed_port,
    drip_body,
    drip_head,
    never_answer,
    record_sni,
    reset_after_request,
    unaccepting_port,
)
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.http import Fetcher, FetchOutcome
from pipeline.http.transport import _replace_pool


def test_connection_reset_is_a_retried_network_error() -> None:
    with RawServer(reset_after_request) as raw:
        with Fetcher(make_settings(), allow_private_networks=True) as fetcher:
            result = get(fetcher, raw.url("/x"))
        connections = raw.connections
    assert result.outcome is FetchOutcome.NETWORK_ERROR
    assert result.status is None
    assert result.attempts == 3
    assert connections == 3
    assert result.error is not None
    assert "reset" in result.error.lower() or "disconnected" in result.error.lower()
    assert result.retryable


def test_connection_refused_is_a_network_error(fetcher: Fetcher) -> None:
    result = get(fetcher, f"http://127.0.0.1:{closed_port()}/x")
    assert result.outcome is FetchOutcome.NETWORK_ERROR
    assert result.error is not None
    assert result.error.startswith("ConnectError: ")
    assert "refused" in result.error.lower()
    assert result.attempts == 3
    assert result.retryable


def test_unresolvable_name_is_a_network_error() -> None:
    with Fetcher(make_settings(max_retries=0), resolver=resolver_for({})) as fetcher:
        result = get(fetcher, "http://nowhere.example/")
    assert result.outcome is FetchOutcome.NETWORK_ERROR
    assert result.error == (
        "ConnectError: cannot resolve nowhere.example: test resolver does not know nowhere.example"
    )


def test_server_that_never_answers_times_out() -> None:
    with RawServer(never_answer) as raw, local_fetcher() as fetcher:
        started = time.monotonic()
        result = get(fetcher, raw.url("/x"))
        elapsed = time.monotonic() - started
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error == "read timeout: no data for 1 s"
    assert result.attempts == 1  # a hanging server gets no second chance within this fetch
    assert 0.9 < elapsed < 3
    assert result.retryable


@pytest.mark.parametrize("handler", [drip_body(0.2), drip_head(0.2)], ids=["body", "head"])
def test_slow_drip_ends_at_the_total_deadline(handler: Callable[..., None]) -> None:
    # A byte every 0.2 s never trips the 1 s read timeout; only the 1.5 s deadline stops it.
    with RawServer(handler) as raw:
        with Fetcher(make_settings(), allow_private_networks=True) as fetcher:
            started = time.monotonic()
            result = get(fetcher, raw.url("/x"))
            elapsed = time.monotonic() - started
        connections = raw.connections
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error == "total deadline of 1.5 s exceeded"
    assert result.content == b""
    assert result.attempts == 1  # not retried
    assert connections == 1
    assert 1.4 < elapsed < 5


def test_connect_timeout_is_retried() -> None:
    settings = make_settings(connect_timeout=0.3, max_retries=1)
    with unaccepting_port() as port, Fetcher(settings, allow_private_networks=True) as fetcher:
        started = time.monotonic()
        result = get(fetcher, f"http://127.0.0.1:{port}/x")
        elapsed = time.monotonic() - started
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error is not None
    assert result.error.startswith("connect timeout after 0.3 s")
    assert result.attempts == 2
    assert 0.5 < elapsed < 3


def test_allowed_name_connects_to_the_vetted_address_with_the_original_host(
    server: HTTPServer,
) -> None:
    hosts: list[str] = []

    def handler(request: Request) -> Response:
        hosts.append(request.headers["Host"])
        return Response("hello")

    server.expect_request("/").respond_with_handler(handler)
    calls: list[tuple[str, int]] = []
    resolver = resolver_for({"news.example": ["127.0.0.1"]}, calls)
    with Fetcher(make_settings(), allow_private_networks=True, resolver=resolver) as fetcher:
        result = fetcher.get(f"http://news.example:{server.port}/", max_bytes=CAP)
    # news.example exists only in our resolver, so reaching the server proves the connection
    # went to the address it returned, not to a second (system) lookup.
    assert result.ok, result.error
    assert result.content == b"hello"
    assert hosts == [f"news.example:{server.port}"]
    assert calls == [("news.example", server.port)]


def test_tls_sni_carries_the_original_name() -> None:
    names: list[str] = []
    resolver = resolver_for({"news.example": ["127.0.0.1"]})
    with RawServer(record_sni(names)) as raw:
        settings = make_settings(max_retries=0)
        with Fetcher(settings, allow_private_networks=True, resolver=resolver) as fetcher:
            result = get(fetcher, raw.url("/", host="news.example", scheme="https"))
    assert result.outcome is FetchOutcome.NETWORK_ERROR  # the test server has no certificate
    assert names == ["news.example"]


def test_httpx_transport_keeps_its_pool_in_private_attribute() -> None:
    """pipeline.http.transport swaps HTTPTransport._pool to plug in its network backend; if an httpx
    upgrade moves it, this fails here rather than the guard silently falling away."""
    transport = httpx.HTTPTransport()
    assert isinstance(transport._pool, httpcore.ConnectionPool)
    transport.close()

    class NoPool:
        pass

    with pytest.raises(RuntimeError, match="_replace_pool must be adapted"):
        _replace_pool(NoPool(), httpcore.ConnectionPool())  # type: ignore[arg-type]
