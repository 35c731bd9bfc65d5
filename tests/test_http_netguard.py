"""pipeline.http.netguard: the SSRF guard. Internal addresses, in any spelling and behind any
name or redirect, are refused before a connection is made.

Where a test needs a "public" host, a resolver maps news.example to 127.0.0.1 and, for the
redirect-hop test only, the guard is told that this one name is public
(`news_example_is_public`)."""

from __future__ import annotations

import pytest
from fetching import CAP, make_settings, resolver_for
from pytest_httpserver import HTTPServer

from pipeline.http import Fetcher, FetchOutcome, netguard
from pipeline.http.netguard import PrivateHosts, UnsafeURLError, check_address, check_url


@pytest.fixture
def news_example_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat addresses resolved from news.example as public, everything else as usual.

    The only way to have a "public" first hop that really connects (to a local server) and
    then see the guard refuse the redirect target.
    """
    real_check = netguard.check_address

    def check(ip: str, *, allow_private: bool, source: str | None = None) -> None:
        real_check(ip, allow_private=allow_private or source == "news.example", source=source)

    monkeypatch.setattr(netguard, "check_address", check)


@pytest.mark.usefixtures("news_example_is_public")
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433:{port}/secret",
        "http://intranet.example:{port}/secret",
    ],
)
def test_public_url_redirecting_to_internal_address_is_refused(
    server: HTTPServer, target: str
) -> None:
    port = server.port
    location = target.format(port=port)
    server.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": location}
    )
    server.expect_request("/secret").respond_with_data("internal")
    resolver = resolver_for({"news.example": ["127.0.0.1"], "intranet.example": ["10.1.2.3"]})

    with Fetcher(make_settings(), resolver=resolver) as guarded:
        result = guarded.get(f"http://news.example:{port}/start", max_bytes=CAP)

    assert result.outcome is FetchOutcome.REFUSED, result.error
    assert result.error is not None
    assert result.error.startswith("refused: ")
    assert "allow_private_hosts" in result.error
    assert result.status is None
    assert result.final_url.startswith(location.split(":")[0] + ":")
    assert result.attempts == 1  # the first hop; the refused hop made no request
    assert [request.path for request, _ in server.log] == ["/start"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "is the link-local cloud metadata address"),
        ("http://[::1]:{port}/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/", "an IPv6 form of 127.0.0.1, a loopback address"),
        ("http://2130706433:{port}/", "127.0.0.1 (resolved from 2130706433) is a loopback"),
        ("http://0x7f.1:{port}/", "127.0.0.1 (resolved from 0x7f.1) is a loopback"),
        ("https://100.64.0.1/", "is a carrier-grade NAT (shared) address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is the unspecified address"),
    ],
)
def test_internal_addresses_are_refused_without_connecting(
    server: HTTPServer, url: str, reason: str
) -> None:
    server.expect_request("/").respond_with_data("internal")
    with Fetcher(make_settings()) as guarded:
        result = guarded.get(url.format(port=server.port), max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert reason in result.error
    assert result.error.endswith("under allow_private_hosts in the config")
    assert "allow_private_networks" not in result.error
    assert result.attempts == 0
    assert not result.retryable
    assert server.log == []


def test_name_resolving_to_loopback_is_refused(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("internal")
    calls: list[tuple[str, int]] = []
    resolver = resolver_for({"news.example": ["127.0.0.1"]}, calls)
    with Fetcher(make_settings(), resolver=resolver) as guarded:
        result = guarded.get(f"http://news.example:{server.port}/", max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error == (
        "refused: 127.0.0.1 (resolved from news.example) is a loopback address; "
        "to allow it, list news.example (or news.example:PORT) under allow_private_hosts "
        "in the config"
    )
    assert result.attempts == 0
    assert calls == [("news.example", server.port)]
    assert server.log == []


def test_name_with_one_internal_address_among_public_ones_is_refused() -> None:
    resolver = resolver_for({"mixed.example": ["93.184.215.14", "10.0.0.7"]})
    with Fetcher(make_settings(), resolver=resolver) as guarded:
        result = guarded.get("http://mixed.example/", max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert "10.0.0.7 (resolved from mixed.example) is a private address" in result.error


def test_localhost_is_refused_with_the_system_resolver() -> None:
    with Fetcher(make_settings()) as guarded:
        result = guarded.get("http://localhost:9/", max_bytes=CAP)
    assert result.outcome is FetchOutcome.REFUSED
    assert result.error is not None
    assert "(resolved from localhost) is a loopback address" in result.error


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "the link-local cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT (shared) address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("255.255.255.255", "a private address"),
        ("192.0.0.8", "a special-purpose address"),
        ("::1", "a loopback address"),
        ("::", "the unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("fec0::1", "a site-local address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:10.0.0.1", "an IPv6 form of 10.0.0.1, a private address"),
        ("::7f00:1", "an IPv6 form of 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "an IPv6 form of 169.254.169.254"),
        ("2002:c0a8:101::1", "an IPv6 form of 192.168.1.1, a private address"),
    ],
)
def test_check_address_refuses_internal_addresses(ip: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        check_address(ip, allow_private=False)
    assert str(caught.value).startswith(f"refused: {ip} is {reason}")
    check_address(ip, allow_private=True)  # tests and local development may


@pytest.mark.parametrize(
    "ip", ["93.184.215.14", "8.8.8.8", "2606:4700::6810:84e5", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_check_address_accepts_public_addresses(ip: str) -> None:
    check_address(ip, allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "is not an http:// or https:// URL"),
        ("javascript:alert(1)", "is not an http:// or https:// URL"),
        ("http:///path", "has no host"),
        ("https://user:pw@example.com/", "carries a user name or password"),
        ("https://example.com:99999/", "is not a valid URL"),
        ("http://127.1/", "127.0.0.1 (resolved from 127.1) is a loopback address"),
        ("http://017700000001/", "127.0.0.1 (resolved from 017700000001) is a loopback"),
    ],
)
def test_check_url_refuses(url: str, message: str) -> None:
    with pytest.raises(UnsafeURLError, match=r"^refused: ") as caught:
        check_url(url, allow_private=False)
    assert message in str(caught.value)


def test_check_url_accepts_public_urls() -> None:
    check_url("https://www.tagesschau.de/xml/rss2/", allow_private=False)
    check_url("http://93.184.215.14:8080/feed", allow_private=False)
    check_url("http://127.0.0.1:8080/", allow_private=True)


@pytest.mark.parametrize(
    ("entries", "url", "allowed"),
    [
        (["intranet.example"], "http://intranet.example:8080/feed", True),  # any port
        (["intranet.example:8080"], "http://INTRANET.example:8080/feed", True),
        (["intranet.example:8080"], "http://intranet.example:8081/feed", False),
        (["intranet.example:80"], "http://intranet.example/feed", True),  # the scheme's port
        (["intranet.example:443"], "http://intranet.example/feed", False),
        (["[fd00::1]:443"], "https://[fd00::1]/feed", True),
        (["10.1.2.3"], "http://10.1.2.4/", False),
        (["intranet.example"], "http://wiki.intranet.example/", False),  # not a suffix rule
        (["intranet.example"], "http://intranet.example:99999/", False),  # not a valid URL
    ],
)
def test_private_hosts_exempt_only_the_exact_host_and_port(
    entries: list[str], url: str, allowed: bool
) -> None:
    assert PrivateHosts(entries).allows_url(url) is allowed


def test_a_listed_intranet_host_is_fetched_and_nothing_else_on_its_address(
    server: HTTPServer,
) -> None:
    server.expect_request("/feed").respond_with_data("intranet feed")
    server.expect_request("/away").respond_with_data(
        "", status=302, headers={"Location": f"http://wiki.example:{server.port}/feed"}
    )
    resolver = resolver_for({"intranet.example": ["127.0.0.1"], "wiki.example": ["127.0.0.1"]})
    listed = [f"intranet.example:{server.port}"]
    with Fetcher(make_settings(), private_hosts=listed, resolver=resolver) as guarded:
        allowed = guarded.get(f"http://intranet.example:{server.port}/feed", max_bytes=CAP)
        other_name = guarded.get(f"http://wiki.example:{server.port}/feed", max_bytes=CAP)
        by_address = guarded.get(f"http://127.0.0.1:{server.port}/feed", max_bytes=CAP)
        redirected = guarded.get(f"http://intranet.example:{server.port}/away", max_bytes=CAP)
    assert allowed.ok, allowed.error
    assert allowed.content == b"intranet feed"
    for refused in (other_name, by_address, redirected):
        assert refused.outcome is FetchOutcome.REFUSED, refused.error
    assert redirected.error is not None
    assert "(resolved from wiki.example)" in redirected.error
    assert [request.path for request, _ in server.log] == ["/feed", "/away"]
