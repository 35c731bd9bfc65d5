"""End to end in a real Airflow and a real browser: `airflow standalone` runs our DAG folder
against the local test news site and a fresh news database. The test runs the documented
set-up (`airflow db migrate`, `airflow pools set feed_fetch ...`), triggers `news_ingest`
through the REST API, waits for success, then opens the UI in headless Debian Chromium
(Playwright), checks what an operator sees - the mapped collect_shard task named after its
feeds, all green, the per-feed table (every feed by name, its status and HTTP status) in the
shard's log, the run's state, the run summary in the finish_run log - and saves the
screenshots the docs embed (docs/images/airflow-grid.png, airflow-graph.png,
airflow-shard-log.png, airflow-run-summary.png). A failing feed's own retry_feed task,
named after it, is checked by tests/test_dag.py with dag.test().

Slow (about a minute) and needs /usr/bin/chromium (skipped without it): marked `ui`, part of
the default run; `-m "not ui"` leaves it out.
Run: .venv/bin/python -m pytest -m ui tests/ui -q

Fixtures live in this module rather than in tests/ui/conftest.py on purpose: conftest files
outside packages are all imported as the module `conftest`, and a second one would shadow
tests/conftest.py for the modules that do `from conftest import write_config`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from airflow_standalone import AirflowError, Standalone, free_port, running
from conftest import airflow_connection, write_config
from newssite import SiteMap

from pipeline.urls import canonical_url

REPO = Path(__file__).resolve().parents[2]
# Screenshots land in artifacts/ (ignored); refresh the ones the docs embed with
# NEWS_INGEST_SCREENSHOT_DIR=docs/images .venv/bin/python -m pytest -m ui tests/ui
SCREENSHOTS = Path(
    os.environ.get("NEWS_INGEST_SCREENSHOT_DIR") or REPO / "artifacts" / "screenshots"
)
CHROMIUM = Path("/usr/bin/chromium")
DAG_ID = "news_ingest"
POOL = ("feed_fetch", "4", "Concurrent feed fetches")  # the documented set-up step

# What every headless Chromium here needs: no sandbox as root, no GPU, and no background
# connections to Google's hosts, which this machine's closed network refuses. Playwright
# adds --headless itself and gives each launch a new empty profile (--user-data-dir).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.ui,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)",
    ),
    # Startup ~40 s, run ~20 s, browser ~15 s on 2 cores: well inside, but above the
    # suite's default of 300 s when the machine is busy.
    pytest.mark.timeout(600),
]


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture
def airflow(tmp_path: Path, db_url: str, seed_site: SiteMap) -> Iterator[Standalone]:
    """`airflow standalone` on our DAG folder, healthy; the whole process group is stopped
    when the test ends, however it ends.

    Metadata DB: standalone's default SQLite in the temporary AIRFLOW_HOME. Airflow 3 tasks
    never write it themselves (they go through the api-server's execution API), standalone's
    LocalExecutor accepts SQLite, and it is what an operator gets on a laptop.
    """
    # schedule: null makes the DAG manual-only, so unpausing it does not also start a
    # scheduled run that the triggered one would queue behind (max_active_runs=1).
    config = write_config(tmp_path, seed_site.feeds, schedule=None)
    standalone = Standalone.configure(
        tmp_path / "airflow",
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            # Their defaults, 8793 and 8794, would collide with any other Airflow here.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_NEWS_DB": airflow_connection(db_url),
            "NEWS_INGEST_CONFIG": str(config),
        },
    )
    # The one-time set-up docs/OPERATORS.md documents, run as documented: the metadata DB,
    # then the pool, before the first start (so no run can ever wait for a missing pool).
    started = time.monotonic()
    standalone.cli("db", "migrate")
    standalone.cli("pools", "set", *POOL)
    standalone.timings["set-up"] = time.monotonic() - started
    with running(standalone):
        standalone.wait_healthy(timeout=180)
        yield standalone


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (never Playwright's own download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


# ------------------------------------------------------------------------------- helpers


def wait_for_dag(airflow: Standalone, timeout: float = 120) -> dict[str, Any]:
    """The DAG as the api-server knows it once the dag-processor has parsed it; fails at
    once with the traceback if our DAG files have an import error."""

    def parsed() -> dict[str, Any] | None:
        errors = airflow.api("GET", "/importErrors").json()["import_errors"]
        ours = [e for e in errors if Path(e["filename"]).name.startswith("news_")]
        if ours:
            raise AirflowError("import errors in our DAG files:\n" + json.dumps(ours, indent=2))
        response = airflow.api("GET", f"/dags/{DAG_ID}", ok=(404,))
        return response.json() if response.status_code == 200 else None

    return dict(airflow.wait_until(f"DAG {DAG_ID} to be parsed", parsed, timeout))


def failed_task_logs(airflow: Standalone, run_id: str, lines: int = 25) -> str:
    """The last log events of every task attempt of the run, for a failure message (the
    files are JSON lines; the event text is what an operator reads in the UI)."""
    run_dir = airflow.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    parts = []
    for log in sorted(run_dir.rglob("*.log")):
        events = []
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]:
            try:
                record = json.loads(line)
            except ValueError:
                events.append(line)
                continue
            events.append(f"{record.get('level', '?'):7} {record.get('event', '')}")
        parts.append(f"--- {log.relative_to(run_dir)}\n" + "\n".join(events))
    return "\n".join(parts) or "(no task logs)"


def trigger_and_wait(airflow: Standalone, timeout: float = 300) -> tuple[str, dict[str, Any]]:
    """Unpause, trigger through the REST API, poll until the run is finished; the run id
    and the finished run, or a failure carrying task states and logs."""
    airflow.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    run = airflow.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None}).json()
    run_id = run["dag_run_id"]
    peak: dict[str, float] = {}

    def finished() -> dict[str, Any] | None:
        # Sampled while tasks run: the executor's workers are busiest now.
        memory = airflow.group_memory_mb()
        if memory.get("pss_mib", 0) > peak.get("pss_mib", 0):
            peak.update(memory)
        current = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()
        return current if current["state"] in ("success", "failed") else None

    try:
        current = airflow.wait_until(f"run {run_id} to finish", finished, timeout, interval=1)
    except AirflowError as exc:
        states = json.dumps(airflow.task_states(DAG_ID, run_id), indent=1)
        logs = failed_task_logs(airflow, run_id)
        raise AirflowError(f"{exc}\n--- task states\n{states}\n--- task logs\n{logs}") from None
    current["peak_memory"] = peak
    if current["state"] != "success":
        raise AirflowError(
            f"run {run_id} ended {current['state']}\n--- task states\n"
            f"{json.dumps(airflow.task_states(DAG_ID, run_id), indent=1)}\n"
            f"--- task logs\n{failed_task_logs(airflow, run_id)}\n"
            f"--- standalone log tail\n{airflow.log_tail(40)}"
        )
    return run_id, current


# ------------------------------------------------------------------------------- the test


def test_news_ingest_in_the_airflow_ui(
    airflow: Standalone,
    browser: Any,
    seed_site: SiteMap,
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from playwright.sync_api import expect

    timings = airflow.timings
    feeds = sorted(seed_site.feeds)
    pool = airflow.api("GET", f"/pools/{POOL[0]}").json()
    assert (pool["slots"], pool["description"]) == (int(POOL[1]), POOL[2])
    dag = wait_for_dag(airflow)
    assert dag["is_paused"] is True, "new DAGs start paused: nothing runs before it is asked to"

    started = time.monotonic()
    run_id, run = trigger_and_wait(airflow)
    timings["run"] = time.monotonic() - started

    # What the API says, before asking the page to show the same.
    tis = airflow.task_states(DAG_ID, run_id)
    collect = [ti for ti in tis if ti["task_id"] == "collect_shard"]
    # The seed site's feeds share one host: one shard, named after its first and last feed.
    assert [ti["rendered_map_index"] for ti in collect] == [shard_label(seed_site)]
    retry = [ti for ti in tis if ti["task_id"] == "retry_feed"]
    assert [ti["state"] for ti in retry] == ["skipped"]  # no feed failed: nothing to retry
    assert {ti["state"] for ti in tis if ti["task_id"] != "retry_feed"} == {"success"}
    assert {ti["pool"] for ti in collect} == {"feed_fetch"}
    events = airflow.api(
        "GET",
        "/assets/events",
        params={"source_dag_id": DAG_ID, "source_run_id": run_id},
    ).json()["asset_events"]
    assert [e["name"] for e in events] == ["news.articles"]
    assert events[0]["source_task_id"] == "finish_run"
    assert events[0]["extra"]["run_id"] == run_id
    assert events[0]["extra"]["feeds_failed"] == 0
    assert events[0]["extra"]["feed_errors"] == {}
    # The tasks reached the test database through AIRFLOW_CONN_NEWS_DB.
    with psycopg.connect(db_url) as conn:
        stored = {r[0] for r in conn.execute("SELECT canonical_url FROM news.articles")}
    assert stored == {canonical_url(url) for url in seed_site.served}

    started = time.monotonic()
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        check_the_ui(page, airflow, run_id, feeds, shard_label(seed_site), expect)
    except Exception:
        failure = tmp_path / "airflow-ui-failure.png"
        with contextlib.suppress(Exception):  # the assertion's error matters, not this one
            page.screenshot(path=str(failure), full_page=True)
        print(f"page at failure: {page.url}, screenshot {failure}")
        raise
    finally:
        page.close()
    timings["browser"] = time.monotonic() - started

    memory = run["peak_memory"]
    with capsys.disabled():
        print(
            "\nairflow-ui timings (s): "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items())
            + f"; standalone during the run: {memory.get('processes', 0)} processes, "
            f"RSS sum {memory.get('rss_mib', 0):.0f} MiB, PSS {memory.get('pss_mib', 0):.0f} MiB"
        )


def shard_label(seed_site: SiteMap) -> str:
    names = list(seed_site.feeds)  # config order
    return f"shard 1: {names[0]} … {names[-1]} ({len(names)} feeds)"


def check_the_ui(
    page: Any, airflow: Standalone, run_id: str, feeds: list[str], shard: str, expect: Any
) -> None:
    """Log in like an operator, find the run in the grid, open the mapped shard task, its
    per-feed log and the graph; assert on what is shown and save the screenshots."""
    # Login form of the simple auth manager, with the password standalone generated.
    page.goto(airflow.base_url + "/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(airflow.admin_password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)

    # The DAG page: the grid has one column for the run, one row per task.
    page.goto(f"{airflow.base_url}/dags/{DAG_ID}")
    for task in ("load_feeds", "collect_shard [ ]", "store_articles", "retry_feed [ ]"):
        expect(page.get_by_role("link", name=task, exact=True)).to_be_visible()
    cell = page.get_by_test_id(f"grid-{run_id}-collect_shard")
    cell.hover()  # the cell's tooltip is how the grid spells out a state
    tooltip = page.get_by_role("tooltip")
    expect(tooltip).to_contain_text("Task ID: collect_shard")
    expect(tooltip).to_contain_text("State: Success")
    expect(tooltip).to_contain_text("1 Success")

    # Clicking the mapped task's cell lists its instances, named after their feeds.
    cell.click()
    page.wait_for_url(f"**/runs/{run_id}/tasks/collect_shard/mapped")
    mapped = page.get_by_role("heading", name="collect_shard [1]", exact=True)
    expect(mapped).to_be_visible()
    expect(state_badge(mapped)).to_have_text("Success")  # the mapped task as a whole
    rows = page.get_by_role("table").get_by_role("row")
    row = rows.filter(has=page.get_by_role("link", name=shard, exact=True))
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(2)).to_have_text("Success")
    page.mouse.move(800, 900)  # no tooltip over the screenshot
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "airflow-grid.png"))

    # The shard's log: one line per feed, by name, with its status and HTTP status.
    row.get_by_role("link", name=shard, exact=True).click()
    page.wait_for_url(f"**/runs/{run_id}/tasks/collect_shard/mapped/0**")
    for feed in feeds:
        expect(page.get_by_text(re.compile(rf"^{re.escape(feed)}\s+ok\s+200\s"))).to_be_visible()
    expect(page.get_by_text(f"{shard}: {len(feeds)} feeds, {len(feeds)} ok")).to_be_visible()
    page.mouse.move(800, 900)
    page.screenshot(path=str(SCREENSHOTS / "airflow-shard-log.png"))

    # The run's page, graph view: the nodes green, the run's state in the header.
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name=run_id).click()
    page.wait_for_url(f"**/runs/{run_id}")
    page.get_by_role("button", name="Show Graph (Press g)").click()
    for task, label in (
        ("load_feeds", "load_feeds"),
        ("collect_shard", "collect_shard [1]"),
        ("store_articles", "store_articles"),
        ("finish_run", "finish_run"),
    ):
        node = page.locator(f'.react-flow__node[data-id="{task}"]')
        expect(node).to_contain_text(label)
        expect(node).to_contain_text("success")
    expect(state_badge(page.get_by_role("heading", name=run_id, exact=True))).to_have_text(
        "Success"
    )
    expect(page.get_by_role("link", name=shard, exact=True)).to_be_visible()
    page.get_by_role("button", name="Fit View").click()
    page.mouse.move(800, 900)
    page.screenshot(path=str(SCREENSHOTS / "airflow-graph.png"))

    # The run summary: finish_run's log, one line per feed and the run's counts.
    # Back to the grid first: next to it the log panel gets the width the summary needs.
    page.get_by_role("button", name="Show Grid (Press g)").click()
    page.get_by_test_id(f"grid-{run_id}-finish_run").click()
    page.wait_for_url(f"**/runs/{run_id}/tasks/finish_run")
    expect(page.get_by_role("link", name="Logs", exact=True)).to_be_visible()
    for feed in feeds:
        expect(page.get_by_text(re.compile(rf"^{re.escape(feed)}\s+ok\s"))).to_be_visible()
    expect(
        page.get_by_text(re.compile(rf"^run {re.escape(run_id)}: .*'feeds_failed': 0"))
    ).to_be_visible()
    page.mouse.move(800, 900)
    page.screenshot(path=str(SCREENSHOTS / "airflow-run-summary.png"))


def state_badge(heading: Any) -> Any:
    """The state badge the UI puts next to a run's or a task's title heading."""
    return heading.locator("xpath=..").get_by_test_id("state-badge")
