"""pipeline.ingest.overlap: what a cycle that is still collecting may store already, and
the pages of a feed mapped a window at a time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from pipeline.feeds import FeedEntry
from pipeline.ingest.overlap import Frontier, map_in_order, oldest_first


def entry(url: str, published: datetime | None) -> FeedEntry:
    return FeedEntry(url, url, None, None, published, None)


def test_frontier_lets_through_only_what_nothing_to_come_precedes() -> None:
    t = [datetime(2026, 1, 1, hour, tzinfo=UTC) for hour in range(4)]
    frontier = Frontier(["a", "b"])
    a = [entry("https://a/1", t[1]), entry("https://a/2", t[3])]
    b = [entry("https://b/1", t[2])]
    frontier.listed("a", a)
    assert frontier.before() is None  # feed b may still list the oldest article
    frontier.listed("b", b)
    assert frontier.before() == t[1]
    frontier.resolved("a", a[:1])
    assert frontier.before() == t[2]
    frontier.resolved("b", b)
    assert frontier.before() == t[3]
    undated = entry("https://b/2", None)
    frontier.listed("b", [undated])  # its time is known once extracted: holds all back
    assert frontier.before() is None
    frontier.finished("b")  # crashed or done: nothing more comes from it
    assert frontier.before() == t[3]
    frontier.resolved("a", a[1:])
    assert frontier.before() == datetime.max.replace(tzinfo=UTC)  # everything may go


def test_frontier_wait_returns_once_the_bound_moves_or_it_closes() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    frontier = Frontier(["a"])
    assert frontier.wait_beyond(None, timeout=0.01) is None
    timer = threading.Timer(0.05, frontier.listed, ("a", [entry("https://a/1", t)]))
    timer.start()
    assert frontier.wait_beyond(None, timeout=10) == t
    timer.join()
    timer = threading.Timer(0.05, frontier.close)
    timer.start()
    assert frontier.wait_beyond(t, timeout=10) == t
    assert frontier.closed
    timer.join()


def test_articles_are_mapped_in_order_a_window_at_a_time() -> None:
    lock = threading.Lock()
    running = [0, 0]  # now, most at once

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.005)
        with lock:
            running[0] -= 1
        return n * n

    with ThreadPoolExecutor(max_workers=8) as executor:
        assert list(map_in_order(executor, work, range(30), 3)) == [n * n for n in range(30)]
    assert 1 <= running[1] <= 3


def test_undated_entries_come_first_then_the_oldest() -> None:
    t = [datetime(2026, 1, 1, hour, tzinfo=UTC) for hour in range(3)]
    entries = [entry("https://a/2", t[2]), entry("https://a/u", None), entry("https://a/0", t[0])]
    assert [e.url for e in sorted(entries, key=oldest_first)] == [
        "https://a/u",
        "https://a/0",
        "https://a/2",
    ]
