"""pipeline.http.robots: robots.txt fetched once per origin, obeyed for article pages, its
Crawl-delay honoured, its failures (RFC 9309) retryable; against a real local server."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fetching import get, make_settings, resolver_for
from hostile_http import closed_port
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.http import Fetcher, FetchOutcome
from pipeline.http.robots import ROBOTS_MAX_BYTES, robots_url


def test_robots_txt_over_the_cap_is_parsed_up_to_it(server: HTTPServer, fetcher: Fetcher) -> None:
    padding = "# " + "x" * 1000 + "\n"
    robots = "User-agent: *\nDisallow: /private\n" + padding * (ROBOTS_MAX_BYTES // 1000 + 50)
    server.expect_request("/robots.txt").respond_with_data(robots, content_type="text/plain")
    server.expect_request("/public").respond_with_data("hello")
    assert get(fetcher, server.url_for("/public"), check_robots=True).ok
    denied = get(fetcher, server.url_for("/private"), check_robots=True)
    assert denied.outcome is FetchOutcome.ROBOTS_DISALLOWED


def _robots_requests(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path == "/robots.txt")


def test_robots_disallow_and_allow(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private\n", content_type="text/plain"
    )
    server.expect_request("/private/page").respond_with_data("secret")
    server.expect_request("/public/page").respond_with_data("hello")

    denied = get(fetcher, server.url_for("/private/page"), check_robots=True)
    allowed = get(fetcher, server.url_for("/public/page"), check_robots=True)
    unchecked = get(fetcher, server.url_for("/private/page"))  # check_robots=False: no check

    assert denied.outcome is FetchOutcome.ROBOTS_DISALLOWED
    assert denied.error == f"disallowed for news-ingest-test by {server.url_for('/robots.txt')}"
    assert denied.attempts == 0
    assert not denied.retryable
    assert allowed.ok
    assert unchecked.ok
    assert _robots_requests(server) == 1  # cached per origin


def test_robots_rules_for_our_user_agent(server: HTTPServer, fetcher: Fetcher) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: news-ingest-test\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.outcome is FetchOutcome.ROBOTS_DISALLOWED


@pytest.mark.parametrize("status", [404, 403, 410])
def test_robots_4xx_allows_everything(server: HTTPServer, fetcher: Fetcher, status: int) -> None:
    server.expect_request("/robots.txt").respond_with_data("", status=status)
    server.expect_request("/page").respond_with_data("hello")
    result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.ok, result.error


@pytest.mark.parametrize("status", [500, 503, 429])
def test_robots_5xx_is_a_retryable_failure_cached_for_the_run(
    server: HTTPServer, fetcher: Fetcher, status: int
) -> None:
    server.expect_request("/robots.txt").respond_with_data("", status=status)
    server.expect_request("/page").respond_with_data("hello")
    result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.outcome is FetchOutcome.ROBOTS_UNAVAILABLE
    assert result.retryable  # RFC 9309: disallowed for now, not for good
    assert result.error is not None
    assert result.error.startswith(f"robots.txt unavailable: {server.url_for('/robots.txt')}: ")
    assert [request.path for request, _ in server.log] == ["/robots.txt"] * 3  # retried, no page
    # The outcome is cached with the rules: the next article of the origin asks no one.
    again = get(fetcher, server.url_for("/other"), check_robots=True)
    assert again.outcome is FetchOutcome.ROBOTS_UNAVAILABLE
    assert _robots_requests(server) == 3


def test_robots_unreachable_host_is_a_retryable_failure() -> None:
    port = closed_port()
    with Fetcher(make_settings(max_retries=0), allow_private_networks=True) as fetcher:
        result = get(fetcher, f"http://127.0.0.1:{port}/page", check_robots=True)
    assert result.outcome is FetchOutcome.ROBOTS_UNAVAILABLE
    assert result.retryable
    assert result.error is not None
    assert result.error.startswith("robots.txt unavailable: ")
    assert "ConnectError" in result.error


@pytest.mark.parametrize(
    "line", ["Crawl-delay: ²", "Crawl-delay: ５", "Request-rate: 1/³", "Crawl-delay: 10²"]
)
def test_robots_numbers_that_are_not_ascii_digits_are_ignored(
    server: HTTPServer, fetcher: Fetcher, line: str
) -> None:
    server.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\n{line}\nDisallow: /private/\n"
    )
    server.expect_request("/page").respond_with_data("hello")
    assert get(fetcher, server.url_for("/page"), check_robots=True).ok
    denied = get(fetcher, server.url_for("/private/x"), check_robots=True)
    assert denied.outcome is FetchOutcome.ROBOTS_DISALLOWED  # the other rules still hold
    assert _robots_requests(server) == 1


def test_robots_ignored_when_settings_say_so(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    server.expect_request("/page").respond_with_data("hello")
    settings = make_settings(respect_robots=False)
    with Fetcher(settings, allow_private_networks=True) as fetcher:
        result = get(fetcher, server.url_for("/page"), check_robots=True)
    assert result.ok
    assert _robots_requests(server) == 0


def test_robots_fetched_once_by_concurrent_threads(server: HTTPServer, fetcher: Fetcher) -> None:
    def slow_robots(_request: Request) -> Response:
        time.sleep(0.2)  # every thread arrives while the first is still fetching
        return Response("User-agent: *\nDisallow: /no\n")

    server.expect_request("/robots.txt").respond_with_handler(slow_robots)
    server.expect_request("/yes").respond_with_data("ok")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: get(fetcher, server.url_for("/yes"), check_robots=True), range(6))
        )
    assert all(result.ok for result in results)
    assert _robots_requests(server) == 1


def test_robots_crawl_delay_spaces_requests(server: HTTPServer, fetcher: Fetcher) -> None:
    starts: list[float] = []

    def page(_request: Request) -> Response:
        starts.append(time.monotonic())
        return Response("hello")

    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nCrawl-delay: 1\n")
    server.expect_request("/page").respond_with_handler(page)
    first = get(fetcher, server.url_for("/page"), check_robots=True)
    second = get(fetcher, server.url_for("/page"), check_robots=True)
    assert first.ok
    assert second.ok
    assert starts[1] - starts[0] >= 0.9


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://News.Example/a/b?c=1#d", "https://news.example/robots.txt"),
        ("HTTP://news.example:8080/x", "http://news.example:8080/robots.txt"),
    ],
)
def test_one_robots_txt_per_origin(url: str, expected: str) -> None:
    assert robots_url(url) == expected


def test_robots_redirecting_too_often_allows_everything(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    """RFC 9309 2.3.1.2: past the redirect limit a crawler may treat robots.txt as absent."""
    for hop in range(6):
        target = "/robots.txt" if hop == 0 else f"/r{hop}"
        server.expect_request(target).respond_with_data(
            "", status=301, headers={"Location": f"/r{hop + 1}"}
        )
    server.expect_request("/page").respond_with_data("hello")
    assert get(fetcher, server.url_for("/page"), check_robots=True).ok


def test_an_origin_the_guard_refuses_is_refused_not_blamed_on_robots(server: HTTPServer) -> None:
    """A name resolving to a private address: the article is REFUSED (the guard's reason, not
    retried later), not ROBOTS_UNAVAILABLE, and nothing reaches the server."""
    resolver = resolver_for({"news.example": ["127.0.0.1"]})
    with Fetcher(make_settings(), resolver=resolver) as guarded:
        result = get(guarded, f"http://news.example:{server.port}/page", check_robots=True)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert "(resolved from news.example) is a loopback address" in result.error
    assert not result.retryable
    assert server.log == []
