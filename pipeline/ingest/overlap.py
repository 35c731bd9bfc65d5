"""Storing while collecting: what `run_cycle` may store before collection ends, and the
thread that stores it.

The store step stores earliest-published first. A cycle that is still collecting may
store a staged article only if nothing it has still to stage was published earlier
(`Frontier`); each feed downloads its oldest articles first, a few at a time
(`map_in_order`), so that bound moves up steadily while the newer pages download.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from datetime import UTC, datetime
from typing import Any, TypeVar

from psycopg_pool import ConnectionPool

from ..feeds import FeedEntry
from ..store.store_step import store_staged
from ..stories.engine import StoryEngine

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")


class Frontier:
    """What a cycle still has to stage, as the earliest time (`coalesce(published_at,
    fetched_at)`, the store step's order) any of it can have. Rows staged before that
    time can be stored while collection goes on, in the very order one store step after
    collection would store them: earliest-published first, so an original still opens
    its story and its copies join it, whichever feed delivers first.

    A feed whose article list is not known yet, or an undated entry (its time is only
    known once extracted), holds everything back."""

    def __init__(self, feeds: Iterable[str]) -> None:
        self._changed = threading.Condition()
        self._unlisted = set(feeds)
        self._pending: dict[str, Counter[datetime | None]] = {}
        self._closed = False

    def listed(self, feed: str, entries: Sequence[FeedEntry]) -> None:
        """The entries `feed` is about to download."""
        with self._changed:
            self._unlisted.discard(feed)
            self._pending[feed] = Counter(entry.published_at for entry in entries)
            self._changed.notify_all()

    def resolved(self, feed: str, entries: Iterable[FeedEntry]) -> None:
        """Entries staged, or failed, for good in this run."""
        with self._changed:
            pending = self._pending.get(feed)
            if pending is None:
                return
            for entry in entries:
                pending[entry.published_at] -= 1
                if pending[entry.published_at] <= 0:
                    del pending[entry.published_at]
            self._changed.notify_all()

    def finished(self, feed: str) -> None:
        """The feed is done (or crashed): nothing more comes from it."""
        with self._changed:
            self._unlisted.discard(feed)
            self._pending.pop(feed, None)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def before(self) -> datetime | None:
        """Every row still to be staged is at least this late; None: nothing is known."""
        with self._changed:
            return self._before()

    def _before(self) -> datetime | None:
        if self._unlisted:
            return None
        times = [t for pending in self._pending.values() for t in pending]
        if None in times:
            return None
        return min((t for t in times if t is not None), default=datetime.max.replace(tzinfo=UTC))

    def wait_beyond(self, seen: datetime | None, timeout: float) -> datetime | None:
        """The bound once it moved past `seen` (or at `timeout`, or once closed)."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or _later(self._before(), seen), timeout=timeout
            )
            return self._before()

    @property
    def closed(self) -> bool:
        with self._changed:
            return self._closed


def _later(bound: datetime | None, seen: datetime | None) -> bool:
    return bound is not None and (seen is None or bound > seen)


def store_early(
    frontier: Frontier,
    pool: ConnectionPool[Any],
    engine: StoryEngine,
    *,
    schema: str,
    run_id: str,
    progress: Any = None,
) -> None:
    """The store thread of a cycle that is collecting: store what `frontier` lets through,
    each time it moves, until it is closed. A failure only ends the early storing: the
    store step after collection meets it again (and raises it, as without this thread)."""
    seen: datetime | None = None
    try:
        while not frontier.closed:
            bound = frontier.wait_beyond(seen, timeout=1.0)
            if frontier.closed or not _later(bound, seen):
                continue
            with pool.connection() as conn:
                stored = store_staged(
                    conn,
                    engine,
                    schema=schema,
                    run_id=run_id,
                    on_batch=progress.storing if progress else None,
                    before=bound,
                )
            log.debug(
                "stored %d articles published before %s while collecting",
                sum(stored.totals().values()),
                bound,
            )
            seen = bound
    except Exception as exc:
        log.warning("storing while collecting stopped: %s: %s", type(exc).__name__, exc)


def oldest_first(entry: FeedEntry) -> tuple[bool, datetime]:
    return (entry.published_at is not None, entry.published_at or datetime.min.replace(tzinfo=UTC))


def map_in_order(
    executor: Executor, fn: Callable[[_T], _R], items: Iterable[_T], window: int
) -> Iterator[_R]:
    """`executor.map(fn, items)` with at most `window` items submitted and not yet
    returned (map submits every item at once: one feed's whole list ahead of the next)."""
    queued: deque[Future[_R]] = deque()
    todo = iter(items)
    try:
        for item in todo:
            queued.append(executor.submit(fn, item))
            if len(queued) >= window:
                break
        while queued:
            result = queued.popleft().result()
            for item in todo:
                queued.append(executor.submit(fn, item))
                break
            yield result
    finally:
        for future in queued:
            future.cancel()
