"""pipeline.http.politeness: at most `per_host_concurrency` requests to one host at a time,
starts spaced by the host's interval; with real threads and a real local server."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from fetching import get, local_fetcher, make_settings, resolver_for
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.http import Fetcher
from pipeline.http.politeness import HostGate


def test_per_host_concurrency_is_capped(server: HTTPServer) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def slow(_request: Request) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.25)
        with lock:
            active -= 1
        return Response("ok")

    server.expect_request("/slow").respond_with_handler(slow)
    with local_fetcher(per_host_concurrency=2) as fetcher, ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: get(fetcher, server.url_for("/slow")), range(6)))
    assert all(result.ok for result in results)
    assert peak == 2


def _starts_through(gate: HostGate, threads: int) -> list[float]:
    """When each of `threads` concurrent callers got its slot, in order."""
    starts: list[float] = []
    lock = threading.Lock()

    def enter(_: int) -> None:
        with gate.slot(), lock:
            starts.append(time.monotonic())

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(enter, range(threads)))
    return sorted(starts)


def test_starts_are_spaced_by_the_interval() -> None:
    gate = HostGate(limit=4)
    gate.set_interval(0.2)
    starts = _starts_through(gate, 3)
    gaps = [later - earlier for earlier, later in pairwise(starts)]
    assert len(gaps) == 2
    assert all(gap >= 0.19 for gap in gaps), gaps


def test_a_shorter_interval_never_relaxes_a_longer_one() -> None:
    gate = HostGate(limit=2)
    gate.set_interval(0.3)  # robots.txt's Crawl-delay
    gate.set_interval(0.05)  # a later, shorter one
    first, second = _starts_through(gate, 2)
    assert second - first >= 0.29


def test_without_an_interval_the_limit_is_the_only_bound() -> None:
    gate = HostGate(limit=1)
    lock = threading.Lock()
    active = peak = 0

    def hold(_: int) -> None:
        nonlocal active, peak
        with gate.slot():
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)
            with lock:
                active -= 1

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(hold, range(4)))
    assert peak == 1


def test_each_host_has_a_gate_of_its_own(server: HTTPServer) -> None:
    """per_host_concurrency=1: two names of one server are two hosts, one request each at a
    time, so the two hosts' requests overlap but no host's own do."""
    lock = threading.Lock()
    active: dict[str, int] = {}
    peak: dict[str, int] = {}
    overall = 0
    overall_peak = 0

    def slow(request: Request) -> Response:
        nonlocal overall, overall_peak
        host = request.headers["Host"].split(":")[0]
        with lock:
            active[host] = active.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), active[host])
            overall += 1
            overall_peak = max(overall_peak, overall)
        time.sleep(0.2)
        with lock:
            active[host] -= 1
            overall -= 1
        return Response("ok")

    server.expect_request("/slow").respond_with_handler(slow)
    resolver = resolver_for({"a.example": ["127.0.0.1"], "b.example": ["127.0.0.1"]})
    settings = make_settings(per_host_concurrency=1)
    urls = [f"http://{host}.example:{server.port}/slow" for host in "abab"]
    with (
        Fetcher(settings, allow_private_networks=True, resolver=resolver) as fetcher,
        ThreadPoolExecutor(4) as pool,
    ):
        results = list(pool.map(lambda url: get(fetcher, url), urls))
    assert all(result.ok for result in results)
    assert peak == {"a.example": 1, "b.example": 1}
    assert overall_peak == 2
