"""pipeline.ingest.worker_main: the worker process's loop, served here over real pipes."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from pipeline.config import DedupSettings
from pipeline.ingest.worker_main import PREPARE, READY, _serve
from pipeline.stories.engine import DedupInput
from pipeline.stories.factory import build_engine


def test_a_worker_says_ready_computes_features_of_records_and_stops_when_told() -> None:
    task_r, task_w = os.pipe()
    result_r, result_w = os.pipe()
    tasks_in, tasks_out = Connection(task_r, writable=False), Connection(task_w, readable=False)
    results_in = Connection(result_r, writable=False)
    results_out = Connection(result_w, readable=False)
    engine = build_engine(DedupSettings(embeddings=False))  # no encoder: fast, same protocol
    worker = threading.Thread(target=_serve, args=(engine, tasks_in, results_out))
    worker.start()
    try:
        assert results_in.recv() == (READY, os.getpid())
        now = datetime.now(UTC)
        text = "Der Stadtrat beschloss den Ausbau."
        item = DedupInput("https://a.example/1", None, "Titel", text, "de", now, now)
        tasks_out.send((PREPARE, [item]))
        (features,) = results_in.recv()
        assert features == engine.prepare([item])[0]
        tasks_out.send(None)
        worker.join(timeout=10)
        assert not worker.is_alive()
    finally:
        for conn in (tasks_in, tasks_out, results_in, results_out):
            conn.close()
