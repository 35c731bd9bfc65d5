"""Security properties: parameterised SQL only, a read-only analysts' role, no secrets in the
repository, a config that rejects what it does not know."""

from __future__ import annotations

import ast
import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from newssite import NewsSite, build_seed_site
from psycopg import sql
from pytest_httpserver import HTTPServer

from pipeline.analytics.rollup import refresh_rollups
from pipeline.config import ConfigError, load_config
from pipeline.store import db, migrations
from pipeline.urls import canonical_url

from .cases import RUN_FETCH
from .conftest import REPO, news_ingest, write_guarded_config
from .sqlcheck import EXECUTE_METHODS, check_paths, check_source

# --- parameterised SQL --------------------------------------------------------------------------


def sql_sources() -> list[Path]:
    return sorted((REPO / "pipeline").rglob("*.py")) + sorted((REPO / "dags").rglob("*.py"))


def count_execute_calls(paths: list[Path]) -> int:
    calls = 0
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in EXECUTE_METHODS
            ):
                calls += 1
    return calls


def test_pipeline_sql_is_parameterised() -> None:
    paths = sql_sources()
    assert count_execute_calls(paths) >= 30  # the scan sees the real statements
    findings = check_paths(paths, REPO)
    assert findings == [], "\n".join(str(f) for f in findings)


BAD_SNIPPETS = {
    "f-string": "conn.execute(f\"SELECT * FROM t WHERE name = '{name}'\")",
    "percent": 'conn.execute("SELECT * FROM t WHERE n = %s" % n)',
    "format": 'conn.execute("SELECT * FROM t WHERE n = {}".format(n))',
    "concatenation": 'conn.execute("SELECT * FROM " + table)',
    "via a variable": 'q = "DELETE FROM t WHERE id = " + str(n)\nconn.execute(q)',
    "sql.SQL of f-string": 'conn.execute(sql.SQL(f"SELECT {column} FROM t"))',
    "sql format with raw value": 'conn.execute(sql.SQL("SELECT {}").format(name))',
    "executemany": 'cur.executemany("INSERT INTO t VALUES (" + values + ")", rows)',
    "keyword argument": 'conn.execute(query=f"SELECT {x}")',
    "parameter": "def run(conn, statement):\n    conn.execute(statement)",
    "builder returning a string built from data": (
        "def where(column):\n    return 'SELECT * FROM t WHERE ' + column\nconn.execute(where(c))"
    ),
}

GOOD_SNIPPETS = {
    "placeholders": 'conn.execute("SELECT * FROM t WHERE name = %s", (name,))',
    "named placeholders": 'conn.execute("SELECT %(a)s", {"a": a})',
    "literal concatenation": 'conn.execute("SELECT a" + " FROM t")',
    "module constant": 'QUERY = "SELECT 1"\ndef f(conn):\n    conn.execute(QUERY)',
    "identifier": 'conn.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(schema)))',
    "composed": (
        "s = sql.SQL('CREATE DATABASE {}').format(sql.Identifier(a))\n"
        "s += sql.SQL(' TEMPLATE {}').format(sql.Identifier(b))\n"
        "conn.execute(s)"
    ),
    "choice of literals": 'conn.execute(sql.SQL("x {o}").format(o=sql.SQL("a" if f else "b")))',
    "statement builder": (
        "def insert(table):\n"
        "    return sql.SQL('INSERT INTO {} VALUES (%s)').format(sql.Identifier(table))\n"
        "conn.execute(insert(t) + sql.SQL(' ON CONFLICT DO NOTHING'), (v,))"
    ),
}


@pytest.mark.parametrize("snippet", BAD_SNIPPETS.values(), ids=BAD_SNIPPETS.keys())
def test_sql_checker_catches_string_built_sql(snippet: str) -> None:
    assert check_source("from psycopg import sql\n" + snippet)


@pytest.mark.parametrize("snippet", GOOD_SNIPPETS.values(), ids=GOOD_SNIPPETS.keys())
def test_sql_checker_accepts_parameterised_sql(snippet: str) -> None:
    assert check_source("from psycopg import sql\n" + snippet) == []


# --- the analysts' read-only role ---------------------------------------------------------------

WRITES = [
    "INSERT INTO sources (name, url) VALUES ('x', 'https://x.example/')",
    "UPDATE articles SET title = title",
    "DELETE FROM fetches",
    "TRUNCATE runs",
    "CREATE TABLE news.mine (x int)",
    "ALTER TABLE sources ADD COLUMN y int",
    "DROP TABLE failed_items",
]


def relations(conn: psycopg.Connection[Any], schema: str = "news") -> list[str]:
    """Tables, views and materialized views of `schema`."""
    return [
        row[0]
        for row in conn.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1""",
            (schema,),
        )
    ]


@pytest.fixture
def analyst(db_url: str) -> Iterator[str]:
    """A login role whose only privilege is membership in news_reader; yields its URL."""
    name = f"analyst_{secrets.token_hex(4)}"
    password = secrets.token_hex(12)
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE news_reader").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    params.update(user=name, password=password)
    try:
        yield psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v})
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_reader_role_can_only_read(db_url: str, analyst: str) -> None:
    with db.connection(db_url, autocommit=True) as admin:
        # As a later migration would: a new table is readable without a new GRANT.
        admin.execute("CREATE TABLE later_table (x int)")
        admin.execute("INSERT INTO later_table VALUES (1)")
        tables = relations(admin)
    assert {"articles", "stories", "sources", "fetches", "later_table"} <= set(tables)

    with db.connection(analyst, autocommit=True) as reader:
        for table in tables:
            reader.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        assert reader.execute("SELECT x FROM later_table").fetchall() == [(1,)]
        for statement in WRITES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)
        writable = reader.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'news' AND c.relkind IN ('r', 'p', 'v', 'm')
                 AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
                      OR has_table_privilege(c.oid, 'DELETE')
                      OR has_table_privilege(c.oid, 'TRUNCATE'))"""
        ).fetchall()
        assert writable == []
        assert reader.execute("SELECT has_schema_privilege('news', 'CREATE')").fetchone() == (
            False,
        )


def migration_body() -> str:
    return (REPO / "sql" / "0004_reader_role.sql").read_text(encoding="utf-8")


def test_reader_migration_without_createrole_only_notices(db_url: str) -> None:
    """A migrating user without CREATEROLE: no error, a NOTICE, no grants. Checked with a
    probe role name, since news_reader itself already exists in this cluster."""
    probe = f"news_reader_probe_{secrets.token_hex(3)}"
    user = f"migrator_{secrets.token_hex(3)}"
    password = secrets.token_hex(12)
    body = migration_body().replace("news_reader", probe)
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOCREATEROLE PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
        admin.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(*[sql.Identifier(user)] * 2)
        )
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    params.update(user=user, password=password, options=f"-c search_path={user}")
    notices: list[str] = []
    try:
        with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
            conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
            conn.execute(body)
        assert any("not created (no CREATEROLE)" in notice for notice in notices), notices
        with psycopg.connect(db_url) as admin:
            exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (probe,))
            assert exists.fetchall() == []
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(user)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


# --- secrets ------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    "GitHub/Slack token": re.compile(r"\b(?:ghp_[A-Za-z0-9]{36}|xox[bp]-[A-Za-z0-9-]{20,})\b"),
    "literal password": re.compile(
        r"(?i)[\w-]*(?:password|passwd|pwd|secret|api_?key|token)\b['\"]?"
        r"\s*(?:=|:\s)\s*['\"]([^'\"\s$]{6,})['\"]"
    ),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"$]{3,})@"),
}
# Values that are documentation, not secrets.
PLACEHOLDERS = frozenset({"pass", "password", "secret", "s3cret", "changeme", "example"})


def scan_for_secrets(path: str, text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for kind, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(line):
                value = match.group(1) if pattern.groups else match.group(0)
                if value.lower() in PLACEHOLDERS or value.startswith(("<", "${", "...")):
                    continue
                found.append(f"{path}:{number}: {kind}")
    return found


def repository_text_files() -> Iterator[tuple[str, str]]:
    """Tracked files and new ones not ignored (what a commit would add), text only."""
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in names:
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        yield name, data.decode("utf-8", errors="replace")


def test_no_secrets_in_the_repository() -> None:
    files = list(repository_text_files())
    assert len(files) > 30
    found = [hit for name, text in files for hit in scan_for_secrets(name, text)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "sample",
    [
        "-----BEGIN " + "RSA PRIVATE KEY-----",
        "aws_access_key_id = AKIA" + "Z7QW3XJ5K2M4N6P8",
        "aws_secret_access_key=" + "a" * 40,
        'DB_PASSWORD = "' + "hunter2-prod" + '"',
        "url: postgresql://news:" + "Tr0ub4dor" + "@db.internal/news",
        '{"api_key": "' + "sk-live-abcdef123456" + '"}',
    ],
)
def test_secret_scanner_catches_samples(sample: str) -> None:
    assert scan_for_secrets("sample", sample)


def test_compose_reads_secrets_from_the_environment() -> None:
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    secret_keys = re.compile(r"^([A-Z0-9_]*(?:PASSWORD|SECRET|FERNET_KEY|BASIC_AUTH|TOKEN))=(.*)$")
    placeholders = [m for line in example.splitlines() if (m := secret_keys.match(line))]
    assert len(placeholders) >= 6
    assert [m.group(1) for m in placeholders if m.group(2).strip()] == []  # all left empty

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    secret_settings = {
        key: value
        for environment in _environments(compose)
        for key, value in environment.items()
        if re.search(r"PASSWORD|SECRET|FERNET_KEY|BASIC_AUTH|TOKEN", key)
    }
    assert len(secret_settings) >= 5
    for key, value in secret_settings.items():
        assert value is None or "${" in str(value), f"{key}: {value!r} is not read from the env"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO, check=False
    ).returncode
    assert ignored == 0, ".env must be git-ignored"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "cp .env.example .env" in readme


def _environments(node: Any) -> Iterator[dict[str, Any]]:
    """Every `environment:` mapping of a compose document (services and x- anchors)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "environment" and isinstance(value, dict):
                yield value
            elif key == "environment" and isinstance(value, list):
                yield dict(item.split("=", 1) if "=" in item else (item, None) for item in value)
            else:
                yield from _environments(value)
    elif isinstance(node, list):
        for item in node:
            yield from _environments(item)


# --- config ---------------------------------------------------------------------------------


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(problem) for problem in caught.value.problems]


def test_config_rejects_unknown_keys(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "allow_private_network: true\n"  # a typo must not silently keep the guard off
        "fetch:\n"
        "  max_feed_byte: 1\n"
        "feeds:\n"
        "  - name: a\n"
        "    url: https://a.example/rss\n"
        "    lang: de\n",
    )
    assert len(found) == 3, found
    assert any(":1: allow_private_network: unknown key" in p for p in found), found
    assert any(":3: fetch.max_feed_byte: unknown key" in p for p in found), found
    assert any(":7: feed 'a': lang: unknown key" in p for p in found), found


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "must be an http:// or https:// URL"),
        ("javascript:alert(1)", "must be an http:// or https:// URL"),
        ("https:///no-host", "has no host name"),
        ("https://user:pw@a.example/rss", "must not carry a user name or password"),
        ('"https://a.example/\\0rss"', "control characters"),
        ("https://a.example:99999/rss", "is not a valid URL"),
    ],
)
def test_config_validates_feed_urls(tmp_path: Path, url: str, reason: str) -> None:
    found = problems_of(tmp_path, f"feeds:\n  - name: a\n    url: {url}\n")
    assert len(found) == 1, found
    assert reason in found[0], found


@pytest.mark.parametrize("entry", ["http://intranet/", "intranet:notaport", "user@intranet", ""])
def test_config_validates_private_hosts(tmp_path: Path, entry: str) -> None:
    found = problems_of(tmp_path, f'allow_private_hosts: ["{entry}"]\nfeeds: []\n')
    assert len(found) == 1, found
    assert "allow_private_hosts" in found[0], found


@pytest.mark.parametrize("entry", ["https://m.example/", "m.example:99999", "user@m.example", ""])
def test_config_validates_feed_aliases(tmp_path: Path, entry: str) -> None:
    found = problems_of(
        tmp_path,
        f'feeds:\n  - name: a\n    url: https://a.example/feed\n    aliases: ["{entry}"]\n',
    )
    assert len(found) == 1, found
    assert "aliases" in found[0], found


# Advisory lock keys a reader may hold: the keys the pipeline used to serialise on, the
# two-integer form, and arbitrary ones (hashtext of any name is one of them).
READER_LOCKS = [
    "SELECT pg_advisory_lock(hashtext('news-ingest:assign:news'))",
    "SELECT pg_advisory_lock(hashtext('news-ingest:migrate:news'))",
    "SELECT pg_advisory_lock(0)",
    "SELECT pg_advisory_lock(42)",
    "SELECT pg_advisory_lock(-1)",
    "SELECT pg_advisory_lock(9223372036854775807)",
    "SELECT pg_advisory_lock(1, 2)",
    "SELECT pg_advisory_lock_shared(7)",
]


def test_readers_cannot_stall_a_run(
    tmp_path: Path, server: HTTPServer, db_url: str, analyst: str
) -> None:
    """A member of news_reader holding advisory locks on any key and an open transaction
    with ACCESS SHARE on every news table: `run`, `migrate` and the rollup refresh still
    complete. Bounded by the subprocess timeout: a stall fails the test, it does not hang."""
    seed = build_seed_site(NewsSite(server))
    config = write_guarded_config(
        tmp_path / "feeds.yaml",
        seed.feeds,
        allowed_hosts=[f"127.0.0.1:{server.port}"],
        fetch=RUN_FETCH,
    )
    with (
        psycopg.connect(analyst, autocommit=True) as holder,
        psycopg.connect(analyst) as reader,
    ):
        for statement in READER_LOCKS:
            holder.execute(statement)
        for table in relations(reader):
            kind = reader.execute(
                "SELECT relkind FROM pg_class WHERE oid = %s::regclass", (f"news.{table}",)
            ).fetchone()
            if kind and kind[0] in ("r", "p", "v"):
                reader.execute(
                    sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
                        sql.Identifier("news", table)
                    )
                )
        # ... and a long query's snapshot, as an analyst's report would hold
        reader.execute("SELECT count(*) FROM news.articles, news.v_daily_stories").fetchone()

        migrated = news_ingest("migrate", db_url=db_url, timeout=60)
        assert "up to date" in migrated.stdout
        result = news_ingest("run", "--config", str(config), "--json", db_url=db_url, timeout=120)
        report = json.loads(result.stdout)
        assert report["stats"]["feeds_failed"] == 0, report
        with db.connection(db_url, autocommit=True) as writer:
            stored = {row[0] for row in writer.execute("SELECT canonical_url FROM articles")}
            assert stored == {canonical_url(url) for url in seed.served}
            assert writer.execute("SELECT count(*) FROM staged_articles").fetchone() == (0,)
            # The analysts' rollup: REFRESH ... CONCURRENTLY under the same transaction.
            (refreshed,) = refresh_rollups(writer)
            assert refreshed.concurrently
            assert refreshed.rows > 0
        assert reader.info.transaction_status is psycopg.pq.TransactionStatus.INTRANS


@pytest.mark.parametrize("how", ["advisory-lock", "table-lock"])
def test_a_pending_migration_waits_a_bounded_time_and_names_the_blocker(
    db_url: str, analyst: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Something pending and a reader in the way (holding the migrators' advisory key, or
    ACCESS SHARE on a table the migration alters): a clear error naming that session after
    the bounded wait, not a stall."""
    schema = f"news_pending_{secrets.token_hex(3)}"
    early = tmp_path / "sql"
    early.mkdir()
    for path in sorted((REPO / "sql").glob("000[1-5]_*.sql")):
        (early / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv(migrations.SQL_DIR_ENV, str(early))
    migrations.migrate(db_url, schema=schema)
    monkeypatch.delenv(migrations.SQL_DIR_ENV)
    user = psycopg.conninfo.conninfo_to_dict(analyst)["user"]
    with psycopg.connect(analyst) as reader:
        if how == "advisory-lock":
            reader.execute(
                "SELECT pg_advisory_lock(hashtext(%s))", (f"news-ingest:migrate:{schema}",)
            )
        else:  # 0006 alters failed_items, which needs ACCESS EXCLUSIVE
            reader.execute(
                sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
                    sql.Identifier(schema, "failed_items")
                )
            )
        with pytest.raises(db.LockWaitError) as raised:
            migrations.migrate(db_url, schema=schema, lock_timeout=1.0)
        pid = reader.info.backend_pid
    message = str(raised.value)
    assert "gave up after 1 s waiting for a lock to migrate" in message
    assert f"pid {pid} (user {user}" in message
    with psycopg.connect(db_url, autocommit=True) as admin:  # nothing half-applied
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
