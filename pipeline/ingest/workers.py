"""Extraction in worker processes: both cores for trafilatura and the encoder.

Extraction and encoding are CPU-bound Python that holds the GIL, so threads take turns on
one core. `ExtractorPool` runs `collect.extract_page` plus the story engine's `prepare`
(fingerprint and embedding) in worker processes, while downloads stay in the article
threads and every write stays with the feed's `Recorder`: a worker receives a downloaded
page and returns a value, `Extracted` (with its features) or `Failed`, and never touches
the network or the database.

Each worker is a fresh interpreter (`python -m pipeline.ingest.workers`), not a fork of a
process full of threads and connections, and not a `multiprocessing` child, which would
re-import the caller's main module (the `airflow` command in a task). It loads trafilatura
and the encoder once, with BLAS limited to one thread (N workers use N cores instead of
fighting over them), then forks the other workers from itself: one load's CPU, and the
encoder's weights shared copy-on-write. An article thread holds one worker for one page at
a time, so a page
that kills its worker or outlasts `timeout` costs only itself: it is recorded as failed,
the worker is replaced, and the other pages go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..config import Config, DedupSettings, Feed
from ..feeds import FeedEntry
from ..http import FetchResult
from ..stories.engine import DedupInput, Features
from .collect import Extracted, Failed, extract_page
from .worker_main import PREPARE as _PREPARE
from .worker_main import READY as _READY

log = logging.getLogger(__name__)

# The default number of workers: one per core, but a few workers already keep a machine's
# article threads busy, and each holds the encoder (~300 MB).
MAX_DEFAULT_PROCESSES = 4
# Loading trafilatura and the encoder takes a few seconds; a worker that is not ready
# after this long is broken (the pool then extracts in the calling threads).
START_TIMEOUT_SECONDS = 300.0
# One thread per BLAS library in a worker: two workers on two cores, not four threads.
_ONE_THREAD = dict.fromkeys(
    ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"), "1"
)
# Not `-m pipeline.ingest.worker_main`: the package imports it before runpy would.
_ENTRY = "import sys; from pipeline.ingest.worker_main import main; main(sys.argv[1:])"
# While the workers load, only pages up to this size are extracted in the calling thread:
# extraction time grows with the page, and a big one waits for a worker, where the timeout
# and the crash isolation apply (typical article pages are 20-300 KB).
LOADING_MAX_PAGE_BYTES = 1_000_000


def worker_count(config: Config, processes: int | None = None) -> int:
    """Workers for a cycle: `processes` if given, else `extract.processes`, else one per
    core (at most MAX_DEFAULT_PROCESSES); 0 means extraction in the article threads."""
    if processes is None:
        processes = config.extract.processes
    if processes is None:
        processes = min(os.cpu_count() or 1, MAX_DEFAULT_PROCESSES)
    return max(0, processes)


class WorkerDied(RuntimeError):
    """The worker process ended while it held a page (a crash, a signal, out of memory)."""


class WorkerTimeout(RuntimeError):
    """The page took longer than the timeout; the worker was stopped."""


class _Worker:
    """One worker process and the two pipes to it; used by one thread at a time."""

    def __init__(
        self, tasks: Connection, results: Connection, process: subprocess.Popen[bytes] | None
    ) -> None:
        self.tasks = tasks
        self.results = results
        self.process = process  # None for a worker forked by the first one
        self.pid: int | None = process.pid if process else None  # forked: from its ready
        self.ready = False
        self.started = time.monotonic()

    @classmethod
    def spawn(cls, dedup: DedupSettings, copies: int = 0) -> list[_Worker]:
        """A fresh interpreter that loads trafilatura and the encoder once, then forks
        `copies` more workers from itself: one load's CPU instead of one per worker, and
        the encoder's weights shared (copy-on-write) instead of copied."""
        pipes = [(*os.pipe(), *os.pipe()) for _ in range(1 + copies)]
        # Per worker: (task read, task write, result read, result write); the child keeps
        # the task read and result write ends.
        child_fds = [fd for task_r, _, _, result_w in pipes for fd in (task_r, result_w)]
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, **_ONE_THREAD}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        try:
            # Our own interpreter and module, pipe numbers: no outside input.
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-c", _ENTRY, *map(str, child_fds)],
                pass_fds=child_fds,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the CLI's stdout (--json) is not the worker's
                env=env,
            )
        except BaseException:
            for fd in (fd for fds in pipes for fd in fds):
                os.close(fd)
            raise
        for fd in child_fds:
            os.close(fd)
        workers = [
            cls(
                Connection(task_w, readable=False),
                Connection(result_r, writable=False),
                process if index == 0 else None,
            )
            for index, (_, task_w, result_r, _) in enumerate(pipes)
        ]
        workers[0].tasks.send(dedup.model_dump())
        return workers

    def wait_ready(self) -> None:
        if self.ready:
            return
        message = self._receive(START_TIMEOUT_SECONDS)
        if not (isinstance(message, tuple) and message[0] == _READY):
            raise WorkerDied(f"worker process sent {message!r} instead of being ready")
        self.pid = int(message[1])
        self.ready = True
        log.info(
            "extraction worker %d ready after %.1f s", self.pid, time.monotonic() - self.started
        )

    def run(self, task: tuple[Any, ...], timeout: float) -> Any:
        self.wait_ready()
        try:
            self.tasks.send(task)
        except OSError:
            raise WorkerDied(self._ended()) from None
        return self._receive(timeout)

    def _receive(self, timeout: float) -> Any:
        try:
            if not self.results.poll(timeout):
                self.stop(kill=True)
                raise WorkerTimeout(f"did not finish within {timeout:g} s")
            return self.results.recv()
        except (EOFError, OSError):
            raise WorkerDied(self._ended()) from None

    def _ended(self) -> str:
        if self.process is None:
            return "ended unexpectedly"  # a child of the first worker: its status is not ours
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.stop(kill=True)
            return "stopped answering"
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"

    def ask_to_stop(self) -> bool:
        """Tell the worker to finish its loop; False if it is gone already."""
        if self.tasks.closed:
            return False
        try:
            self.tasks.send(None)
        except OSError:
            return False
        return True

    def stop(self, *, kill: bool = False, asked: bool = False) -> None:
        """Ask the worker to finish (unless `asked` already), or kill it; close the pipes."""
        if not kill and not asked:
            kill = not self.ask_to_stop()
        if kill and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.tasks.close()
        self.results.close()
        self.pid = None  # gone: never signal this number again (it may be reused)


class ExtractorPool:
    """`processes` worker processes behind a `collect.PageExtractor`: call it from any
    number of threads. Until more than `start_after` pages were called or announced
    (`expect`), pages are extracted in the calling thread, as without workers: each worker
    loads the encoder anew (seconds of CPU), which a few new articles do not repay, and a
    cycle's store and finish steps never pay for it. Then the workers start and every
    further call waits for an idle worker; with `extract_while_loading`, pages (up to
    LOADING_MAX_PAGE_BYTES) are extracted in the calling thread until the first worker is
    ready, on the core the loading worker leaves idle (one interpreter loads, the others
    are forked from it), and the caller gets their features from the workers (`prepare`).
    `close` stops them."""

    def __init__(
        self,
        processes: int,
        dedup: DedupSettings,
        *,
        timeout: float,
        start_after: int = 0,
        extract_while_loading: bool = False,
    ) -> None:
        if processes < 1:
            raise ValueError(f"an ExtractorPool needs at least one process (got {processes})")
        self.processes = processes
        self.dedup = dedup
        self.timeout = timeout
        self.start_after = start_after
        # While the workers load (seconds: imports and the encoder, on one core), extract
        # pages in the calling threads on the other core, without their features: the
        # caller asks the workers for those (`prepare`) once they are ready.
        self.extract_while_loading = extract_while_loading
        self._pages = 0  # calls so far
        self._expected = 0  # pages announced by `expect`
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._broken: str | None = None  # why workers cannot start: extract in-thread

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(
        self, entry: FeedEntry, result: FetchResult, feed: Feed, fetched_at: datetime
    ) -> Extracted | Failed:
        with self._lock:
            self._pages += 1
            due = max(self._pages, self._expected) > self.start_after
        if not due:
            return extract_page(entry, result, feed, fetched_at)
        self._start()
        here = self.extract_while_loading and len(result.content) <= LOADING_MAX_PAGE_BYTES
        worker = self._next_worker(wait=not here)
        if worker is None:
            return extract_page(entry, result, feed, fetched_at)
        try:
            reply = worker.run((entry, result, feed, fetched_at), self.timeout)
        except (WorkerDied, WorkerTimeout) as exc:
            self._replace(worker)
            error = f"extraction worker process {exc} on this page; it was replaced"
            log.warning("feed %s: article %s: %s", feed.name, entry.url, error)
            return Failed(entry, result, "extract", error, retryable=True)
        except BaseException:
            self._idle.put(worker)  # not the worker's fault (the task would not pickle)
            raise
        self._idle.put(worker)
        return _outcome(entry, result, reply)

    @property
    def loading(self) -> bool:
        """Workers started and none ready yet (with `extract_while_loading`, pages are
        extracted in the calling threads meanwhile)."""
        with self._lock:
            return self._started and not self._broken and not any(w.ready for w in self._all)

    def prepare(self, items: Sequence[DedupInput]) -> list[Features] | None:
        """The story features of `items`, computed by a worker (its encoder is loaded,
        this process's may not be); None when no worker can: the caller computes them."""
        if not items:
            return []
        self._start()
        worker = self._next_worker()
        if worker is None:
            return None
        try:
            reply = worker.run((_PREPARE, list(items)), self.timeout)
        except (WorkerDied, WorkerTimeout) as exc:
            self._replace(worker)
            log.warning("extraction worker process %s computing story features", exc)
            return None
        except BaseException:
            self._idle.put(worker)
            raise
        self._idle.put(worker)
        return list(reply) if isinstance(reply, list) else None

    def expect(self, pages: int) -> None:
        """`pages` more pages are coming: once more than `start_after` are announced, every
        page goes to a worker (the first pages of a bulk do not load the encoder here too).
        """
        with self._lock:
            self._expected += pages

    def pids(self) -> list[int]:
        """Process ids of the current workers (for operators and tests); a forked worker's
        is known once it has said it is ready."""
        with self._lock:
            return [worker.pid for worker in self._all if worker.pid is not None]

    def _next_worker(self, *, wait: bool = True) -> _Worker | None:
        """An idle, ready worker; None once workers cannot be started, or (not `wait`)
        while an idle worker is still loading."""
        while not self._broken:
            try:
                worker = self._idle.get(timeout=1.0)
            except queue.Empty:
                continue  # all busy: they are ready, wait for one
            if not wait and not worker.ready and not worker.results.poll(0):
                self._idle.put(worker)  # still loading: the caller extracts meanwhile
                return None
            try:
                worker.wait_ready()
            except (WorkerDied, WorkerTimeout) as exc:
                self._give_up(worker, exc)
                continue
            return worker
        return None

    def _give_up(self, worker: _Worker, exc: Exception) -> None:
        # A worker that cannot start is a broken installation, not a page: say so loudly,
        # and still collect, in the calling threads.
        worker.stop(kill=True)
        self._broken = f"{type(exc).__name__}: {exc}"
        log.error(
            "extraction worker processes cannot start (%s): extracting in the collecting "
            "process instead",
            self._broken,
        )

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            if self._closed:
                raise RuntimeError("the extractor pool is closed")
            self._started = True
            # One interpreter loads, then forks the others; the first pages wait for them.
            try:
                for worker in _Worker.spawn(self.dedup, copies=self.processes - 1):
                    self._add(worker)
            except OSError as exc:
                self._broken = f"{type(exc).__name__}: {exc}"
                log.error("extraction worker processes cannot start (%s)", self._broken)

    def _add(self, worker: _Worker) -> None:
        self._all.append(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        """A fresh worker in place of one that died or was stopped (it loads in the
        background; the next page waits for it)."""
        worker.stop(kill=True)
        with self._lock:
            self._all.remove(worker)
            if self._closed:
                return
            try:
                self._add(_Worker.spawn(self.dedup)[0])
            except OSError as exc:
                self._broken = f"{type(exc).__name__}: {exc}"
                log.error("extraction worker process cannot be replaced (%s)", self._broken)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        # All asked first: the first worker waits for the ones it forked before it exits.
        asked = [worker.ask_to_stop() for worker in workers]
        for worker, ok in zip(workers, asked, strict=True):
            worker.stop(kill=not ok, asked=ok)


def _outcome(entry: FeedEntry, result: FetchResult, reply: tuple[Any, ...]) -> Extracted | Failed:
    """A worker's reply as the value the recorder takes, around the thread's own fetch
    result (the page's bytes do not travel back)."""
    if reply[0] == "extracted":
        _, record, warning, features = reply
        return Extracted(entry, result, record, warning, features)
    _, stage, error, retryable = reply
    return Failed(entry, result, stage, error, retryable)
