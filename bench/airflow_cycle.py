"""The news_ingest DAG at scale: `airflow standalone` on dags/ against N local feeds, with the
CLI (`news-ingest run`) on the same feeds as the baseline, measured in the same run.

Scenario (issue 9): run 1, every feed answers 200 with an ETag and no items; run 2, 99 % of
the feeds answer 304 Not Modified and 1 % (every 100th feed, at least one) carry one new
article. `--broken-feed` makes one other feed answer 500 in run 2. Feeds are spread over
`--hosts` loopback addresses (127.0.0.1, 127.0.0.2, ...), one small HTTP server each, so
per-host politeness applies as it would to real outlets.

Steps: the CLI baseline first (its own database: run 1, then run 2 timed), then Airflow
(another database): `airflow db migrate`, the `feed_fetch` pool, `airflow standalone`
(LocalExecutor, `[core] parallelism` 4, pool 4 slots, as docs/OPERATORS.md sets it up),
both runs triggered through the REST API. Printed: run 2's wall time from trigger to
finished, when every healthy feed's new article was stored, the collect_shard and
retry_feed task instances, the CLI's run 2 time, and the stand-alone process group's
memory (RSS sum and PSS) at its peak during run 2.

Usage:
    .venv/bin/python bench/airflow_cycle.py --feeds 1000 [--hosts 20] [--broken-feed]
        [--feeds-per-task 50] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Needs the project's venv (Airflow installed) and PostgreSQL; creates and drops its own
databases and Airflow home. Figures depend on the machine: run it where you deploy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "ui"))

from airflow_standalone import Standalone, free_port, running  # noqa: E402
from benchdb import DEFAULT_ADMIN_URL, temporary_database  # noqa: E402
from newssite import Article, FeedItem, render_article_page, render_rss  # noqa: E402

DAG_ID = "news_ingest"
PARAGRAPH = (
    "Der Stadtrat von {place} hat am Dienstag nach langer Debatte einen neuen Haushalt "
    "beschlossen, der mehr Geld für Schulen, Radwege und den Nahverkehr vorsieht. "
    "Bürgermeisterin {name} sprach von einem Kompromiss, der {n} Monate Arbeit gekostet habe."
)


class _QuietServer(ThreadingHTTPServer):
    """A client closing a kept-alive connection is no error worth a traceback here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FeedFarm:
    """Feeds feed-00001 ... feed-N on `hosts` loopback servers; `phase` says what they answer."""

    def __init__(self, feeds: int, hosts: int, broken: bool) -> None:
        self.names = [f"feed-{i:05d}" for i in range(1, feeds + 1)]
        self.changed = set(self.names[::100])  # 1 %: index 0, 100, 200, ...
        candidates = [name for name in self.names if name not in self.changed]
        self.broken = candidates[min(6, len(candidates) - 1)] if broken and candidates else None
        self.phase = 1
        self.requests = 0
        self._lock = threading.Lock()
        self.servers = [
            _QuietServer((f"127.0.0.{h + 1}", 0), self._handler()) for h in range(hosts)
        ]
        for server in self.servers:
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def base(self, index: int) -> str:
        host, port = self.servers[index % len(self.servers)].server_address[:2]
        return f"http://{host}:{port}"

    def feed_urls(self) -> dict[str, str]:
        return {name: f"{self.base(i)}/feeds/{name}.xml" for i, name in enumerate(self.names)}

    def answer(self, path: str, if_none_match: str | None, host: str) -> tuple[int, bytes, str]:
        """(status, body, etag) for a request in the current phase."""
        with self._lock:
            self.requests += 1
        if path.startswith("/articles/"):
            name = path.rsplit("/", 1)[1].removesuffix(".html")
            return 200, article_page(name), ""
        if not path.startswith("/feeds/"):
            return 404, b"not found", ""
        name = path.rsplit("/", 1)[1].removesuffix(".xml")
        if self.phase == 2 and name == self.broken:
            return 500, b"internal server error", ""
        etag = '"r2"' if self.phase == 2 and name in self.changed else '"r1"'
        if if_none_match == etag:
            return 304, b"", etag
        items = []
        if etag == '"r2"':
            url = f"http://{host}/articles/{name}.html"
            published = datetime.now(UTC) - timedelta(minutes=5)
            items = [
                FeedItem(
                    url=url,
                    title=title_of(name),
                    guid=url,
                    published=published,
                    summary=PARAGRAPH.format(place=name, name="Berg", n=3)[:150],
                )
            ]
        return 200, render_rss(items, title=name, link=f"http://{host}/"), etag

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, body, etag = farm.answer(
                    self.path, self.headers.get("If-None-Match"), self.headers.get("Host", "")
                )
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                kind = "text/html" if self.path.startswith("/articles/") else "application/rss+xml"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def title_of(name: str) -> str:
    return f"Haushalt in {name.title()} beschlossen"


def article_page(name: str) -> bytes:
    number = int(name.rsplit("-", 1)[1])
    article = Article(
        slug=name,
        language="de",
        title=title_of(name),
        published=datetime.now(UTC) - timedelta(minutes=5),
        author="Bench",
        section="Politik",
        paragraphs=tuple(
            PARAGRAPH.format(place=f"{name}-{p}", name=f"Frau {number % 97}", n=p + number % 11)
            for p in range(6)
        ),
        story=name,
    )
    return render_article_page(article, site_name=name).encode()


def write_config(directory: Path, feeds: dict[str, str], feeds_per_task: int | None) -> Path:
    config: dict[str, Any] = {"allow_private_networks": True, "schedule": None}
    if feeds_per_task:
        config["airflow"] = {"feeds_per_task": feeds_per_task}
    config["feeds"] = [{"name": name, "url": url} for name, url in feeds.items()]
    path = directory / "feeds.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def articles_stored(url: str, names: set[str]) -> int:
    with psycopg.connect(url) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM news.articles a JOIN news.sources s ON s.id = a.source_id"
            " WHERE s.name = ANY(%s)",
            (sorted(names),),
        ).fetchone()  # type: ignore[misc]
    return int(n)


# ---------------------------------------------------------------------------- the CLI


def cli_runs(farm: FeedFarm, config: Path, admin_url: str) -> dict[str, float]:
    """`news-ingest run` over the same feeds, run 1 and run 2, in a database of its own."""
    times: dict[str, float] = {}
    with temporary_database(admin_url, "bench_cli") as url:
        env = {**os.environ, "DATABASE_URL": url, "NO_COLOR": "1"}
        for phase in (1, 2):
            farm.phase = phase
            started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "pipeline", "run", "--config", str(config), "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
                cwd=REPO,
                timeout=3600,
            )
            times[f"run {phase}"] = time.monotonic() - started
            if result.returncode != 0:  # a failed feed is reported, not an exit status
                raise SystemExit(f"news-ingest run failed:\n{result.stderr[-3000:]}")
        times["stored"] = articles_stored(url, farm.changed)
    return times


# ---------------------------------------------------------------------------- Airflow


def airflow_connection(url: str) -> str:
    """The news database as an Airflow connection in JSON form (AIRFLOW_CONN_NEWS_DB)."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": params.get("host"),
            "port": int(params.get("port") or 5432),
            "login": params.get("user"),
            "password": params.get("password"),
            "schema": params.get("dbname"),
        }
    )


@contextmanager
def standalone(home: Path, config: Path, db_url: str) -> Iterator[Standalone]:
    airflow = Standalone.configure(
        home,
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_NEWS_DB": airflow_connection(db_url),
            "NEWS_INGEST_CONFIG": str(config),
        },
    )
    airflow.cli("db", "migrate")
    airflow.cli("pools", "set", "feed_fetch", "4", "Concurrent feed fetches")
    with running(airflow):
        airflow.wait_healthy(timeout=300)
        yield airflow


def wait_for_dag(airflow: Standalone) -> None:
    def parsed() -> bool:
        errors = airflow.api("GET", "/importErrors").json()["import_errors"]
        if errors:
            raise SystemExit("import errors:\n" + json.dumps(errors, indent=2)[:5000])
        return airflow.api("GET", f"/dags/{DAG_ID}", ok=(404,)).status_code == 200

    airflow.wait_until("the DAG to be parsed", parsed, timeout=300)
    airflow.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})


def airflow_run(
    airflow: Standalone, db_url: str, healthy_changed: set[str], timeout: float
) -> dict[str, Any]:
    """Trigger one run, poll it (and the database for the healthy feeds' new articles) until
    it is finished; return timings, peak memory and the run's task instances."""
    started = time.monotonic()
    run_id = airflow.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None}).json()[
        "dag_run_id"
    ]
    peak: dict[str, float] = {}
    stored_at: float | None = None
    while True:
        memory = airflow.group_memory_mb()
        if memory.get("rss_mib", 0) > peak.get("rss_mib", 0):
            peak = memory
        if (
            healthy_changed
            and stored_at is None
            and articles_stored(db_url, healthy_changed) >= len(healthy_changed)
        ):
            stored_at = time.monotonic() - started
        run = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()
        if run["state"] in ("success", "failed"):
            break
        if time.monotonic() - started > timeout:
            raise SystemExit(f"run {run_id} not finished after {timeout:.0f} s")
        time.sleep(0.5)
    wall = time.monotonic() - started
    return {
        "run_id": run_id,
        "state": run["state"],
        "wall": wall,
        "stored_at": stored_at,
        "peak": peak,
        "tis": task_instances(airflow, run_id),
    }


def task_instances(airflow: Standalone, run_id: str) -> list[dict[str, Any]]:
    tis: list[dict[str, Any]] = []
    while True:
        page = airflow.api(
            "GET",
            f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
            params={"limit": 100, "offset": len(tis)},
        ).json()
        tis += page["task_instances"]
        if not page["task_instances"] or len(tis) >= page["total_entries"]:
            return tis


def describe_tasks(tis: list[dict[str, Any]]) -> list[str]:
    lines = []
    for task_id in (
        "load_feeds",
        "collect_shard",
        "store_articles",
        "retry_feed",
        "finish_run",
        "check_feeds",
    ):
        mine = [ti for ti in tis if ti["task_id"] == task_id]
        durations = [ti["duration"] for ti in mine if ti.get("duration") is not None]
        states: dict[str, int] = {}
        for ti in mine:
            states[ti["state"]] = states.get(ti["state"], 0) + 1
        line = f"  {task_id:<15} {len(mine):>4} instance(s) {states}"
        if durations:
            line += f", median {statistics.median(durations):.1f} s, max {max(durations):.1f} s"
        failed = [
            f"{ti['rendered_map_index']} (try {ti['try_number']})"
            for ti in mine
            if ti["state"] == "failed" and ti.get("rendered_map_index")
        ]
        if failed:
            line += f"; failed: {', '.join(failed)}"
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=20, help="loopback hosts to spread feeds over")
    parser.add_argument("--broken-feed", action="store_true", help="one feed answers 500 in run 2")
    parser.add_argument("--feeds-per-task", type=int, default=None, help="default: the config's")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600, help="per Airflow run, seconds")
    args = parser.parse_args()

    with ExitStack() as stack:
        farm = FeedFarm(args.feeds, max(1, min(args.hosts, 254)), args.broken_feed)
        stack.callback(farm.close)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-airflow-")))
        config = write_config(work, farm.feed_urls(), args.feeds_per_task)
        healthy_changed = farm.changed - {farm.broken}
        broken = f"1 answering 500 ({farm.broken})" if farm.broken else "none broken"
        print(
            f"{args.feeds} feeds on {len(farm.servers)} hosts; run 2: {len(farm.changed)} with "
            f"a new article, {broken}"
            f"; feeds_per_task {args.feeds_per_task or 'from the config'}",
            flush=True,
        )

        cli: dict[str, float] = {}
        if not args.skip_cli:
            cli = cli_runs(farm, config, args.admin_url)
            print(
                f"CLI news-ingest run: run 1 {cli['run 1']:.1f} s, run 2 {cli['run 2']:.1f} s "
                f"(process start included), {cli['stored']:.0f} new articles stored",
                flush=True,
            )

        db_url = stack.enter_context(temporary_database(args.admin_url, "bench_airflow"))
        setup = time.monotonic()
        airflow = stack.enter_context(standalone(work / "airflow", config, db_url))
        wait_for_dag(airflow)
        print(
            f"airflow standalone healthy, DAG parsed: {time.monotonic() - setup:.0f} s", flush=True
        )
        results = {}
        for phase in (1, 2):
            farm.phase = phase
            expected = healthy_changed if phase == 2 else set()
            results[phase] = result = airflow_run(airflow, db_url, expected, args.timeout)
            print(
                f"Airflow run {phase}: {result['state']} in {result['wall']:.1f} s "
                "(trigger to finished)",
                flush=True,
            )
            for line in describe_tasks(result["tis"]):
                print(line)
        run2 = results[2]
        peak = run2["peak"]
        print()
        print(
            f"=== {args.feeds} feeds, run 2 (99 % 304, {len(farm.changed)} new articles"
            f"{', 1 feed answering 500' if farm.broken else ''}); busy 2-core machine"
        )
        print(f"Airflow DAG, trigger to finished:         {run2['wall']:.1f} s ({run2['state']})")
        if run2["stored_at"] is not None:
            print(
                f"Airflow DAG, healthy feeds' {len(healthy_changed)} new articles stored after: "
                f"{run2['stored_at']:.1f} s"
            )
        if cli:
            print(f"CLI news-ingest run, same feeds:          {cli['run 2']:.1f} s")
            print(f"Airflow / CLI:                            {run2['wall'] / cli['run 2']:.1f}x")
        print(
            f"standalone process group at peak:         {peak.get('processes', 0):.0f} processes,"
            f" RSS sum {peak.get('rss_mib', 0):.0f} MiB, PSS {peak.get('pss_mib', 0):.0f} MiB"
        )
        print(f"feed server requests in all: {farm.requests}")


if __name__ == "__main__":
    main()
