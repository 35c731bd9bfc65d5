"""news-ingest installs like any Python tool: the wheel carries the migrations, and a fresh
venv with nothing but the wheel (and its pinned dependencies) migrates and ingests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO
from newssite import SiteMap
from setuptools import find_packages

UV = Path(sys.executable).parent / "uv"


def test_every_package_is_in_the_wheel_list() -> None:
    """pyproject.toml lists the packages (pipeline.store.sql has no folder of its own);
    a new subpackage must be listed too, or the wheel would lack it."""
    listed = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["packages"]
    found = find_packages(str(REPO), include=["pipeline", "pipeline.*"])
    assert sorted(listed) == sorted([*found, "pipeline.store.sql"])


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_migrates_and_runs_with_no_other_variable(
    tmp_path: Path, empty_db_url: str, seed_site: SiteMap, seed_config: Path
) -> None:
    if not UV.is_file():
        pytest.skip(f"{UV} missing (./dev.sh setup installs it)")
    # The files a source distribution has, outside the checkout: nothing can be found by
    # looking next to the package.
    source = tmp_path / "src"
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    for folder in ("pipeline", "sql"):
        shutil.copytree(
            REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    _run(UV, "build", "--wheel", "--quiet", "--out-dir", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("news_ingest-*.whl")

    venv = tmp_path / "venv"
    _run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    # Dependencies come from uv's cache when it has them (PyPI otherwise), pinned as in CI.
    python = venv / "bin" / "python"
    constraints = REPO / "constraints.txt"
    _run(UV, "pip", "install", "--quiet", "--python", python, "--constraints", constraints, wheel)

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NEWS_INGEST_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update({"DATABASE_URL": empty_db_url, "NO_COLOR": "1"})
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run(
        venv / "bin" / "python",
        "-c",
        "from pipeline.store.migrations import sql_dir; print(sql_dir())",
        env=env,
        cwd=work,
    )
    assert Path(where.strip()).is_relative_to(venv), where
    news_ingest = venv / "bin" / "news-ingest"
    migrations = len(list((REPO / "sql").glob("*.sql")))
    migrated = _run(news_ingest, "migrate", env=env, cwd=work)
    assert f"applied {migrations} migrations" in migrated
    report = json.loads(
        _run(news_ingest, "run", "--config", seed_config, "--json", env=env, cwd=work)
    )
    stats = report["stats"]
    assert stats["feeds_failed"] == 0
    stored = stats["articles_new"] + stats["articles_copies"] + stats["articles_same_story"]
    assert stored == len(seed_site.served)
