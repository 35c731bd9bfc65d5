"""The package boundary: everything in pipeline/ imports without Airflow, so the CLI and
the unit tests stay fast and the DAG files are the only Airflow-aware code."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pipeline

REPO = Path(__file__).resolve().parent.parent


def test_no_pipeline_module_imports_airflow() -> None:
    modules = sorted(info.name for info in pkgutil.walk_packages(pipeline.__path__, "pipeline."))
    assert "pipeline.ingest" in modules
    assert "pipeline.stories.engine" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    if name != 'pipeline.__main__':\n"
        "        importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"
