"""`airflow standalone` as a test fixture: start it in its own process group on a free port,
talk to its REST API, and always stop every process it spawned.

Facts this relies on (measured with Airflow 3.3.2, see ../shared/notes/airflow-3.3.md):

* standalone spawns plain `airflow` for scheduler, dag-processor, api-server and triggerer,
  so the venv's bin must be on PATH;
* it forces LocalExecutor, which starts `[core] parallelism` worker processes up front
  (32 by default, ~5.5 GB): we set 4;
* tasks reach the api-server through `[core] execution_api_server_url`, which defaults to
  `[api] base_url` and, when that is unset, to http://localhost:8080 - so a different port
  needs `[api] base_url` too, or every task dies before it starts (read in Airflow's source,
  executors/base_executor.py, not provoked);
* SIGTERM to the parent leaves the children running: it is started with its own session
  (setsid) and signalled as a whole group;
* SIGINT to the group stops api-server, dag-processor and triggerer within ~2 s, but the
  scheduler usually never exits (4 stops out of 5 on 3.3.2): it waits at exit for its idle
  LocalExecutor workers, which ignore SIGINT and catch SIGTERM without exiting. So: SIGINT,
  a short grace, then SIGKILL; no task is running by then, nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

VENV_BIN = Path(sys.executable).parent
HEALTH_PATH = "/api/v2/monitor/health"


def free_port() -> int:
    """A TCP port nobody listens on right now (the api-server binds it a few seconds later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The pytest process's environment without its Airflow settings (tests/conftest.py sets
    a unit-test AIRFLOW_HOME, UNIT_TEST_MODE and a SQLite URL for dag.test()), plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and key != "DATABASE_URL"
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # the log tail on failure must show the last lines
    env.update(extra)
    return env


class AirflowError(AssertionError):
    """Airflow did not do what the test waited for; the message carries the evidence."""


@dataclass
class Standalone:
    """One `airflow standalone` in `home`, listening on 127.0.0.1:`port`."""

    home: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    #: Seconds each phase took (set-up, healthy, ...), for the test's report.
    timings: dict[str, float] = field(default_factory=dict)
    _token: str | None = field(default=None, repr=False)

    @classmethod
    def configure(
        cls, home: Path, settings: Mapping[str, str], port: int | None = None
    ) -> Standalone:
        """Environment for a local installation; `settings` are added last (they win)."""
        port = port or free_port()
        base = {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            # Paused until the pool exists and the test unpauses it explicitly.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        }
        home.mkdir(parents=True, exist_ok=True)
        return cls(home=home, port=port, env=clean_environment({**base, **settings}))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "standalone.log"

    # ---------------------------------------------------------------- process lifecycle

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [str(VENV_BIN / "airflow"), "standalone"],
            cwd=self.home,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # setsid: its own process group, stopped as a whole
        )
        log.close()  # the child holds its own descriptor

    def stop(self, grace: float = 5.0) -> float:
        """SIGINT (standalone's clean shutdown), then SIGKILL to the group (SIGTERM would not
        help, see the module's docstring); returns the seconds it took."""
        if self.process is None:
            return 0.0
        started = time.monotonic()
        pgid = self.process.pid  # session leader: its pid is the group id
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
            if not self._group_alive(pgid):
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self._group_alive(pgid):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=0.2)
                time.sleep(0.1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        return time.monotonic() - started

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        """Whether any process of the group is still running (zombies don't count)."""
        return bool(_group_pids(pgid, living_only=True))

    def group_memory_mb(self) -> dict[str, float]:
        """RSS summed over the process group (counts shared pages once per process) and PSS
        (shares them out), in MiB: PSS is the honest 'what does it cost' number."""
        if self.process is None:
            return {}
        rss = pss = 0
        pids = _group_pids(self.process.pid, living_only=True)
        for pid in pids:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        return {"processes": len(pids), "rss_mib": rss / 1024, "pss_mib": pss / 1024}

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no standalone log)"
        return "\n".join(text.splitlines()[-lines:])

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AirflowError(
                f"airflow standalone exited with {self.process.returncode}\n{self.log_tail()}"
            )

    # ---------------------------------------------------------------- waiting

    def wait_until(
        self, what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0
    ) -> Any:
        """Call `probe` until it returns something truthy; fail with `what` and the log."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                result = probe()
            except (httpx.HTTPError, OSError, ValueError) as exc:
                result, last_error = None, exc
            if result:
                return result
            time.sleep(interval)
        raise AirflowError(
            f"timed out after {timeout:.0f} s waiting for {what}"
            f" (last error: {last_error!r})\n--- standalone log tail ---\n{self.log_tail()}"
        )

    def wait_healthy(self, timeout: float = 120.0) -> float:
        """Seconds from start until the api-server answers health with a healthy scheduler,
        dag-processor and metadatabase."""

        def healthy() -> bool:
            response = httpx.get(self.base_url + HEALTH_PATH, timeout=5)
            if response.status_code != 200:
                return False
            body = response.json()
            return all(
                body.get(part, {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "dag_processor")
            )

        self.wait_until("the health endpoint", healthy, timeout)
        self.timings["healthy"] = time.monotonic() - self.started_at
        return self.timings["healthy"]

    # ---------------------------------------------------------------- REST API

    def admin_password(self) -> str:
        """The password standalone generated for `admin` (simple auth manager)."""
        path = self.home / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(path.read_text(encoding="utf-8"))["admin"])

    def token(self) -> str:
        if self._token is None:
            response = httpx.post(
                self.base_url + "/auth/token",
                json={"username": "admin", "password": self.admin_password()},
                timeout=30,
            )
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call to /api/v2 as admin; raises on HTTP errors except those the caller lists
        in `ok` (e.g. 404 while waiting for a DAG to be parsed)."""
        ok: tuple[int, ...] = kwargs.pop("ok", ())
        response = httpx.request(
            method,
            f"{self.base_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30,
            **kwargs,
        )
        if response.status_code not in ok:
            response.raise_for_status()
        return response

    def cli(self, *args: str, timeout: float = 120.0) -> str:
        """`airflow <args>` against the same installation (same home, metadata DB)."""
        result = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AirflowError(
                f"airflow {' '.join(args)} exited with {result.returncode}\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def task_states(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run (mapped ones included), for asserts and dumps."""
        body = self.api(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100}
        ).json()
        return [
            {
                key: ti.get(key)
                for key in (
                    "task_id",
                    "map_index",
                    "rendered_map_index",
                    "state",
                    "try_number",
                    "pool",
                )
            }
            for ti in body["task_instances"]
        ]


def _group_pids(pgid: int, *, living_only: bool) -> list[int]:
    """Pids whose process group is `pgid`, read from /proc (Linux)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and not (living_only and fields[0] in ("Z", "X")):
            pids.append(int(entry.name))
    return pids


@contextlib.contextmanager
def running(standalone: Standalone) -> Iterator[Standalone]:
    """Start, yield, and stop the whole process group whatever happened in between."""
    standalone.start()
    try:
        yield standalone
    finally:
        standalone.stop()
