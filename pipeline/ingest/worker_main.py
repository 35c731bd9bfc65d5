"""The extraction worker process (`workers.ExtractorPool` starts it): load trafilatura and
the story engine once, fork the other workers from this one, then serve pages (and story
features of pages the parent extracted) until told to stop.

A module of its own so that the process imports only what it serves with (no pool, no
threads): `python -c "from pipeline.ingest.worker_main import main; main(fds)"`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from ..config import DedupSettings
from .collect import Failed, extract_page

log = logging.getLogger(__name__)

READY = "ready"
PREPARE = "prepare"  # a task: ("prepare", [DedupInput, ...]) -> [Features, ...]


def _serve(engine: Any, tasks: Connection, results: Connection) -> None:
    """Extract pages until told to stop (None) or the parent is gone."""
    results.send((READY, os.getpid()))
    while True:
        try:
            task = tasks.recv()
        except EOFError:
            return
        if task is None:
            return
        if task[0] == PREPARE:  # story features of records extracted by the caller
            try:
                features: Any = engine.prepare(task[1])
            except Exception as exc:  # the caller computes them itself
                log.exception("computing story features failed")
                features = f"{type(exc).__name__}: {exc}"
            results.send(features)
            continue
        entry, result, feed, fetched_at = task
        try:
            outcome = extract_page(entry, result, feed, fetched_at)
            if isinstance(outcome, Failed):
                reply: tuple[Any, ...] = ("failed", outcome.stage, outcome.error, outcome.retryable)
            else:
                features = engine.prepare([outcome.record.story_input()])[0]
                reply = ("extracted", outcome.record, outcome.warning, features)
        except Exception as exc:  # a bug on one page: report it, keep serving
            log.exception("extracting %s failed", entry.url)
            reply = ("failed", "extract", f"{type(exc).__name__}: {exc}", True)
        results.send(reply)


def _load(settings: dict[str, Any]) -> Any:
    """The story engine with its encoder loaded (before saying ready, not on a page's clock)."""
    from ..stories.factory import build_engine

    engine = build_engine(DedupSettings.model_validate(settings))
    engine.prepare([_warm_up_item()])
    return engine


def _warm_up_item() -> Any:
    from ..stories.engine import DedupInput

    now = datetime.now().astimezone()
    return DedupInput("https://warm.up/", None, "Warm up", "warm up the encoder", "en", now, now)


def main(argv: list[str]) -> None:
    """The first worker: load, fork one worker per further pipe pair, serve the first pair.
    Forking is safe here: one thread (BLAS limited to one), no connections, no locks."""
    logging.basicConfig(
        level=logging.WARNING, format="extraction worker %(process)d %(levelname)s: %(message)s"
    )
    fds = [int(arg) for arg in argv]
    pairs = [
        (Connection(fds[i], writable=False), Connection(fds[i + 1], readable=False))
        for i in range(0, len(fds), 2)
    ]
    # The parent gone or stopping: nothing left to report to.
    with contextlib.suppress(BrokenPipeError, EOFError, KeyboardInterrupt):
        engine = _load(pairs[0][0].recv())
        forked = []
        for own in pairs[1:]:
            pid = os.fork()
            if pid:
                forked.append(pid)
            else:
                try:
                    for pair in pairs:
                        if pair is not own:
                            pair[0].close()
                            pair[1].close()
                    with contextlib.suppress(BrokenPipeError, EOFError, KeyboardInterrupt):
                        _serve(engine, *own)
                finally:
                    os._exit(0)  # never back into the first worker's code
        for pair in pairs[1:]:
            pair[0].close()
            pair[1].close()
        _serve(engine, *pairs[0])
        # Reaped here, so their CPU time counts in this process's children (and the
        # parent's, which waits for this one).
        for pid in forked:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
