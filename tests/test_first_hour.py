"""A new user's first hour, through the real CLI: every mistake gets one clear line, the
embedded database is queryable from anywhere, and what the commands print is what a user
expects (issue 11)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import REPO, run_cli, write_config
from newssite import SiteMap

# --- one line per mistake ----------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: libpq waits for the server's
    greeting until connect_timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


CONNECTION_MISTAKES = {
    "refused": ("postgresql://postgres@127.0.0.1:1/x", ["127.0.0.1:1", "database x"]),
    "unknown-database": (
        "postgresql://postgres@127.0.0.1:5432/no_such_db_11",
        ["database 'no_such_db_11' does not exist", "news-ingest db create"],
    ),
    "unknown-role": (
        "postgresql://no_such_role_11@127.0.0.1:5432/postgres",
        ["role 'no_such_role_11' does not exist", "user no_such_role_11"],
    ),
    "malformed": ("postgres:/oops", ["not a valid PostgreSQL URL", "postgresql://USER"]),
}


@pytest.mark.parametrize("mistake", sorted(CONNECTION_MISTAKES))
def test_a_wrong_database_url_is_one_line_naming_where_and_the_fix(
    tmp_path: Path, pg_admin_url: str, mistake: str
) -> None:
    if not pg_admin_url.startswith("postgresql://postgres@127.0.0.1:5432/"):
        pytest.skip("needs the local PostgreSQL on 127.0.0.1:5432")
    url, expected = CONNECTION_MISTAKES[mistake]
    config = write_config(tmp_path, {"a": "http://127.0.0.1:9/feed.xml"})
    result = run_cli("run", "--config", str(config), env={"DATABASE_URL": url}, check=False)
    line = one_line_failure(result)
    for part in expected:
        assert part in line, line
    if mistake != "malformed":
        assert re.search(r"at \S+:\d+, database \S+, user \S+ \(from \$DATABASE_URL\)", line)


def test_a_server_that_never_answers_times_out_in_one_line(
    tmp_path: Path, silent_server: int
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/news?connect_timeout=1"
    result = run_cli("migrate", env={"DATABASE_URL": url}, check=False)
    line = one_line_failure(result)
    assert f"127.0.0.1:{silent_server}, database news, user postgres" in line
    assert "no answer" in line


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["stories", "--since", "1h"],
        ["rollup"],
        ["db", "info"],
        ["db", "psql", "-c", "select 1"],
        ["db", "create"],
    ],
    ids=" ".join,
)
def test_every_database_command_fails_in_one_line(command: list[str]) -> None:
    result = run_cli(
        *command, env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}, check=False
    )
    assert "connection refused; is PostgreSQL running there?" in one_line_failure(result)


def test_the_traceback_only_with_vv() -> None:
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    result = run_cli("-vv", "migrate", env=env, check=False)
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot connect")


def test_other_expected_failures_are_one_line_too(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    result = run_cli("cluster", str(missing), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {missing}: No such file or directory (-vv for details)"
    ]
    result = run_cli(
        "feeds", "schema", "--output", str(tmp_path / "no" / "dir" / "s.json"), check=False
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


# --- the embedded database -------------------------------------------------------------------


@pytest.fixture
def data_home() -> Iterator[Path]:
    """A folder for embedded databases outside pytest's own temporary root: as root, the
    server runs as the 'pgserver' user, who must be able to traverse every parent, and
    pytest makes /tmp/pytest-of-USER private again whenever a session starts."""
    path = Path(tempfile.mkdtemp(prefix="news-ingest-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def embedded_env(home: Path) -> dict[str, str | None]:
    """No DATABASE_URL, no NEWS_INGEST_HOME: the user data directory, here under a temporary
    XDG_DATA_HOME."""
    return {
        "DATABASE_URL": None,
        "NEWS_INGEST_HOME": None,
        "NEWS_INGEST_DATA_DIR": None,
        "XDG_DATA_HOME": str(home / "xdg"),
    }


def readme_sql() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", readme, re.DOTALL)
    statements = [s.strip() for block in blocks for s in block.split(";") if s.strip()]
    assert len(statements) >= 2
    return statements


def test_embedded_database_is_the_same_from_any_directory_and_queryable(
    tmp_path: Path, data_home: Path, seed_site: SiteMap, seed_config: Path
) -> None:
    env = embedded_env(data_home)
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    run_cli("run", "--config", str(seed_config), env=env, cwd=here)
    assert (data_home / "xdg" / "news-ingest" / "postgres" / "PG_VERSION").is_file()
    assert not (here / ".news-ingest").exists()

    # Another directory sees the same data; the seed articles are from 2024, so --since 1h
    # finds them by their fetch time.
    stories = run_cli(
        "db", "psql", "-tA", "-c", "select count(*) from news.stories", env=env, cwd=there
    )
    listing = run_cli("stories", "--since", "1h", env=env, cwd=there).stdout
    assert listing.startswith(f"{int(stories.stdout)} stories active in the last 1h")

    count = run_cli(
        "db", "psql", "-tA", "-c", "select count(*) from news.articles", env=env, cwd=there
    )
    assert int(count.stdout.strip()) == len(seed_site.served)

    # The README's analyst examples, as written, on the embedded default.
    for statement in readme_sql():
        result = run_cli("db", "psql", "-v", "ON_ERROR_STOP=1", "-c", statement, env=env, cwd=there)
        assert "row" in result.stdout, (statement, result.stdout)

    # `run` refreshed the daily rollup without Airflow.
    daily = run_cli(
        "db", "psql", "-tA", "-c", "select sum(articles) from news.v_daily_stories", env=env
    )
    assert int(daily.stdout.strip()) == len(seed_site.served)

    info = run_cli("db", "info", env=env, cwd=there).stdout
    assert str(data_home / "xdg" / "news-ingest" / "postgres") in info
    assert "the user data directory" in info
    assert "server: stopped" in info


def test_db_start_keeps_a_password_protected_server_until_db_stop(
    data_home: Path, seed_site: SiteMap, seed_config: Path
) -> None:
    env = {**embedded_env(data_home), "NEWS_INGEST_HOME": str(data_home / "home")}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = run_cli("db", "start", "--port", str(port), env=env)
    try:
        url = started.stdout.strip()
        credentials = r"postgres:[\w-]+"
        assert re.fullmatch(rf"postgresql://{credentials}@127\.0\.0\.1:{port}/postgres", url)
        # What a client such as DBeaver does: TCP with the password; without it, refused.
        with psycopg.connect(url, connect_timeout=5) as conn:
            assert conn.execute("select count(*) from news.articles").fetchone() == (0,)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(
                url.replace(url.split(":")[2].split("@")[0], "wrong"), connect_timeout=5
            )

        # Commands run meanwhile use that server and leave it running.
        run_cli("run", "--config", str(seed_config), env=env)
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("select count(*) from news.articles").fetchone()
            assert row is not None
            assert row[0] > 0
        assert run_cli("db", "start", env=env).stdout.strip() == url  # idempotent
        assert f"connect: {url}" in run_cli("db", "info", env=env).stdout
    finally:
        stopped = run_cli("db", "stop", env=env)
    assert "stopped the embedded PostgreSQL" in stopped.stdout
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    assert "not running" in run_cli("db", "stop", env=env).stdout


def test_news_ingest_data_dir_still_chooses_the_place(tmp_path: Path) -> None:
    env = {**embedded_env(tmp_path), "NEWS_INGEST_DATA_DIR": str(tmp_path / "old-style")}
    info = run_cli("db", "info", env=env).stdout
    assert str(tmp_path / "old-style" / "postgres") in info
    assert "$NEWS_INGEST_DATA_DIR" in info


def test_db_create_creates_the_database_the_url_names(pg_admin_url: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(pg_admin_url)
    params["dbname"] = "news_ingest_created_11"
    url = psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})
    try:
        first = run_cli("db", "create", env={"DATABASE_URL": url})
        migrations = len(list((REPO / "sql").glob("*.sql")))
        expected = f"created database news_ingest_created_11; applied {migrations} migrations"
        assert first.stdout.startswith(expected)
        second = run_cli("db", "create", env={"DATABASE_URL": url})
        assert second.stdout.startswith("found database news_ingest_created_11; schema is up")
        assert "0 articles" in run_cli("db", "info", env={"DATABASE_URL": url}).stdout
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS news_ingest_created_11 WITH (FORCE)")


# --- what the commands show -------------------------------------------------------------------


def test_run_refreshes_the_daily_rollup_and_rollup_does_it_on_demand(
    db_url: str, seed_site: SiteMap, seed_config: Path
) -> None:
    report = json.loads(run_cli("run", "--config", str(seed_config), "--json").stdout)
    assert report["rollups"][0]["view"] == "v_daily_stories"
    with psycopg.connect(db_url) as conn:
        row: Any = conn.execute("select sum(articles) from news.v_daily_stories").fetchone()
        assert row[0] == len(seed_site.served)
        conn.execute("delete from news.articles")
        conn.commit()
    refreshed = run_cli("rollup").stdout
    assert re.fullmatch(r"refreshed v_daily_stories: 0 rows in \d+\.\d\d s\n", refreshed)


def test_run_summary_counts_in_the_right_number(db_url: str, seed_config: Path) -> None:
    out = run_cli("run", "--config", str(seed_config)).stdout
    # The seed site has exactly one syndicated copy.
    assert re.search(r"\d+ articles stored \(\d+ new stories, 1 copy, \d+ same story\)", out)
    assert "1 copies" not in out


def test_offline_run_says_once_that_the_network_looks_down(db_url: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {"a": "http://news-ingest-a.invalid/feed.xml", "b": "http://news-ingest-b.invalid/rss"},
    )
    result = run_cli("run", "--config", str(config))
    assert result.stderr.count("looks unreachable") == 1
    assert "WARNING" not in result.stderr  # the summary names each feed's failure once
    assert result.stdout.count("cannot resolve news-ingest-a.invalid") == 1


def test_a_run_with_one_feed_up_does_not_blame_the_network(
    db_url: str, seed_site: SiteMap, tmp_path: Path
) -> None:
    feeds = {**seed_site.feeds, "gone": "http://news-ingest-gone.invalid/feed.xml"}
    result = run_cli("run", "--config", str(write_config(tmp_path, feeds)))
    assert "looks unreachable" not in result.stderr


def test_loopback_refusal_names_allow_private_hosts(
    db_url: str, seed_site: SiteMap, tmp_path: Path
) -> None:
    url = next(iter(seed_site.feeds.values()))
    config = write_config(tmp_path, {"local": url}, allow_private_networks=False)
    out = run_cli("run", "--config", str(config)).stdout
    (line,) = [line for line in out.splitlines() if line.startswith("local: ")]
    assert line.endswith(
        "refused: 127.0.0.1 is a loopback address; to allow it, list 127.0.0.1 "
        "(or 127.0.0.1:PORT) under allow_private_hosts in the config"
    )


BYLINED_PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Neue Radwege für Mühlbach</title><meta name="author" content="Anna Schmidt">
<meta property="og:site_name" content="Abendkurier">
<meta property="article:published_time" content="2024-07-03T10:42:00+02:00"></head>
<body><article><h1>Neue Radwege für Mühlbach</h1>
<p>Von Anna Schmidt, Mühlbach</p>
<p>Der Stadtrat von Mühlbach hat am Dienstagabend beschlossen, bis zum Jahr 2027 insgesamt
zwölf Kilometer neue Radwege anzulegen und dafür Parkplätze in der Innenstadt umzuwidmen.</p>
<p>Die Entscheidung fiel nach einer langen Debatte mit knapper Mehrheit, weil die Opposition
vor allem die Kosten und die fehlenden Parkplätze für den Einzelhandel kritisiert hatte.</p>
<p>Die Verwaltung soll nun bis zum Herbst einen genauen Zeitplan vorlegen und die Anwohner
in mehreren Versammlungen über die geplanten Strecken und Bauabschnitte informieren.</p>
</article></body></html>"""


def test_extract_prints_metadata_above_the_text_without_the_byline(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(BYLINED_PAGE, encoding="utf-8")
    out = run_cli("extract", str(page), "--url", "https://abendkurier.example/radwege").stdout
    header, text = out.split("\n\n", 1)
    assert header.splitlines() == [
        "title: Neue Radwege für Mühlbach",
        "author: Anna Schmidt",
        "date: 2024-07-03T10:42:00+02:00",
        "language: de",
        "site: Abendkurier",
    ]
    assert text.startswith("Der Stadtrat von Mühlbach")
    assert "Von Anna Schmidt" not in text
    only = run_cli("extract", str(page), "--text-only").stdout
    assert only.startswith("Der Stadtrat von Mühlbach")


def test_library_log_noise_stays_out_of_extract_output(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    page.write_text("x", encoding="utf-8")
    result = run_cli("extract", str(page), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"{page}: no article text found on the page"]
    assert "trafilatura" not in result.stdout + result.stderr


# --- installing ---------------------------------------------------------------------------------


def test_dev_sh_shell_puts_news_ingest_on_path() -> None:
    result = subprocess.run(
        ["./dev.sh", "shell", "-c", "command -v news-ingest"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
            "PATH": os.pathsep.join(
                part
                for part in os.environ.get("PATH", "").split(os.pathsep)
                if Path(part) != REPO / ".venv" / "bin"
            ),
            "SHELL": "/bin/bash",
        },
        timeout=600,
        check=True,
    )
    assert result.stdout.strip() == str(REPO / ".venv" / "bin" / "news-ingest")
