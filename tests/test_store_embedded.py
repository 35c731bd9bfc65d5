"""Without DATABASE_URL the CLI starts an embedded PostgreSQL in a local data folder: the
README's first command works on a machine with no database installed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import run_cli
from newssite import SiteMap

REPO = Path(__file__).resolve().parent.parent


def run_without_database_url(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"DATABASE_URL": None, "NEWS_INGEST_DATA_DIR": str(data_dir)})


def test_run_on_embedded_postgres_keeps_data_between_runs(
    tmp_path: Path, seed_site: SiteMap, seed_config: Path
) -> None:
    data_dir = tmp_path / "state"
    first = json.loads(
        run_without_database_url(data_dir, "run", "--config", str(seed_config), "--json").stdout
    )
    assert (data_dir / "postgres" / "PG_VERSION").is_file()
    stored = first["stats"]["articles_new"] + first["stats"]["articles_copies"]
    assert stored + first["stats"]["articles_same_story"] == len(seed_site.served)

    # A new process finds the same data: every feed answers 304, nothing is stored twice.
    second = json.loads(
        run_without_database_url(data_dir, "run", "--config", str(seed_config), "--json").stdout
    )
    assert second["stats"]["feeds_not_modified"] == len(seed_site.feeds)
    assert second["stats"]["articles_fetched"] == 0
