"""pipeline.http.politeness: at most `per_host_concurrency` requests to one host at a time,
starts spaced by the host's interval; with real threads and a real local server."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fetching import get, local_fetcher
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


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
