"""Every query of docs/QUERIES.md runs, returns rows with its documented columns, and the
key ones use their indexes, on a database with real and a few thousand synthetic rows.

The expectations live in the markdown next to each query (HTML comments: id, columns,
uses-index, no-seq-scan), so the document and this test cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from analytics_data import (
    FAILING_SOURCE,
    SyntheticNewsroom,
    add_synthetic_newsroom,
    scratch_database,
    seeded_database,
)
from newssite import SiteMap

from pipeline.analytics.rollup import refresh_rollups
from pipeline.store import db
from pipeline.urls import canonical_url

QUERIES_MD = Path(__file__).resolve().parent.parent / "docs" / "QUERIES.md"


@dataclass(frozen=True)
class DocQuery:
    number: int
    title: str
    id: str
    sql: str
    columns: list[str]
    uses_index: list[str]
    no_seq_scan: list[str]


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def parse_queries(markdown: str) -> list[DocQuery]:
    """The numbered questions ('## N. title'), each with one ```sql block and its comments."""
    queries = []
    for section in re.split(r"^## ", markdown, flags=re.MULTILINE)[1:]:
        heading = section.splitlines()[0]
        numbered = re.match(r"(\d+)\. (.+)", heading)
        blocks = re.findall(r"^```sql\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
        if not numbered:
            assert not blocks, f"section {heading!r}: SQL outside a numbered question"
            continue
        assert len(blocks) == 1, f"question {heading!r}: expected one ```sql block"
        notes = dict(re.findall(r"<!--\s*([a-z-]+):\s*(.*?)\s*-->", section))
        queries.append(
            DocQuery(
                number=int(numbered.group(1)),
                title=numbered.group(2),
                id=notes.get("id", ""),
                sql=blocks[0],
                columns=_names(notes.get("columns", "")),
                uses_index=_names(notes.get("uses-index", "")),
                no_seq_scan=_names(notes.get("no-seq-scan", "")),
            )
        )
    return queries


QUERIES = parse_queries(QUERIES_MD.read_text(encoding="utf-8"))
BY_ID = {query.id: query for query in QUERIES}
PLANNED = [query for query in QUERIES if query.uses_index or query.no_seq_scan]


@dataclass(frozen=True)
class AnalyticsDb:
    url: str
    site: SiteMap
    newsroom: SyntheticNewsroom


@pytest.fixture(scope="module")
def analytics(
    request: pytest.FixtureRequest,
    pg_admin_url: str,
    template_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AnalyticsDb]:
    """The session's real ingest run over the seed site plus a synthetic month, rollups
    refreshed, statistics fresh: built once for the module."""
    seeded = seeded_database(
        request.config, pg_admin_url, template_db, tmp_path_factory.mktemp("seed-run")
    )
    with scratch_database(pg_admin_url, seeded.name) as url:
        with db.connection(url, autocommit=True) as conn:
            newsroom = add_synthetic_newsroom(conn)
            refresh_rollups(conn)
            conn.execute("ANALYZE v_daily_stories")
        yield AnalyticsDb(url, seeded.site, newsroom)


@pytest.fixture(scope="module")
def aconn(analytics: AnalyticsDb) -> Iterator[psycopg.Connection[Any]]:
    # Analysts connect without search_path tricks: the doc's queries qualify news.
    with psycopg.connect(analytics.url, autocommit=True) as conn:
        yield conn


def run(conn: psycopg.Connection[Any], query: DocQuery) -> tuple[list[str], list[tuple[Any, ...]]]:
    with conn.cursor() as cur:
        cur.execute(query.sql)  # type: ignore[arg-type]  # the doc's text is the query
        assert cur.description is not None
        return [column.name for column in cur.description], cur.fetchall()


def plan_of(conn: psycopg.Connection[Any], query: DocQuery) -> dict[str, Any]:
    row = conn.execute(f"EXPLAIN (FORMAT JSON) {query.sql}").fetchone()  # type: ignore[arg-type]
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return plan[0]["Plan"]


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def test_doc_has_8_to_12_numbered_questions_each_fully_described() -> None:
    assert 8 <= len(QUERIES) <= 12
    assert [q.number for q in QUERIES] == list(range(1, len(QUERIES) + 1))
    assert len(BY_ID) == len(QUERIES), "ids must be unique"
    for query in QUERIES:
        assert query.id, f"question {query.number} has no <!-- id: … -->"
        assert query.columns, f"question {query.number} has no <!-- columns: … -->"
    markdown = QUERIES_MD.read_text(encoding="utf-8")
    assert markdown.count("```sql") == len(QUERIES), "every SQL block must be a checked question"
    assert len(PLANNED) >= 4


@pytest.mark.parametrize("query", QUERIES, ids=[q.id for q in QUERIES])
def test_query_returns_rows_with_documented_columns(
    aconn: psycopg.Connection[Any], query: DocQuery
) -> None:
    columns, rows = run(aconn, query)
    assert columns == query.columns
    assert rows, f"question {query.number} ({query.title}) returned no rows"


@pytest.mark.parametrize("query", PLANNED, ids=[q.id for q in PLANNED])
def test_key_query_uses_its_indexes(aconn: psycopg.Connection[Any], query: DocQuery) -> None:
    nodes = list(plan_nodes(plan_of(aconn, query)))
    indexes = {node["Index Name"] for node in nodes if "Index Name" in node}
    seq_scanned = {node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}
    assert set(query.uses_index) <= indexes, f"plan uses {sorted(indexes)}"
    assert not set(query.no_seq_scan) & seq_scanned, f"plan reads {sorted(seq_scanned)} in full"


def test_the_tables_are_big_enough_for_plans_to_mean_something(
    analytics: AnalyticsDb, aconn: psycopg.Connection[Any]
) -> None:
    counts = dict(
        aconn.execute(
            """SELECT relname, reltuples::bigint FROM pg_class
               WHERE relnamespace = 'news'::regnamespace AND relkind = 'r'"""
        ).fetchall()
    )
    assert counts["articles"] >= 2000
    assert counts["stories"] >= 1000
    assert counts["fetches"] >= 3000
    assert analytics.newsroom.multilingual_stories > 0


def test_failing_feeds_are_exactly_those_failing_three_runs_in_a_row(
    aconn: psycopg.Connection[Any],
) -> None:
    columns, rows = run(aconn, BY_ID["failing-feeds"])
    record = dict(zip(columns, rows[0], strict=True))
    # lokal-echo failed two of its last three runs: a hiccup, not listed.
    assert [row[0] for row in rows] == [FAILING_SOURCE]
    assert record["last_status"] == 503
    assert "503" in record["last_error"]


def test_search_finds_the_real_astana_reports_in_german(
    analytics: AnalyticsDb, aconn: psycopg.Connection[Any]
) -> None:
    columns, rows = run(aconn, BY_ID["search"])
    hits = [dict(zip(columns, row, strict=True)) for row in rows]
    astana = {
        canonical_url(url)
        for url, article in analytics.site.served.items()
        if all(
            re.search(rf"\b{word}\b", " ".join([article.title or "", *article.paragraphs]))
            for word in ("Gipfel", "Astana")
        )
    }
    assert astana, "the seed site has no report of the Astana summit"
    found = {
        aconn.execute(
            "SELECT canonical_url FROM news.articles WHERE id = %s", (hit["article_id"],)
        ).fetchone()[0]  # type: ignore[index]
        for hit in hits
    }
    assert astana <= found
    assert all("«" in hit["snippet"] for hit in hits)
    assert [hit["rank"] for hit in hits] == sorted((hit["rank"] for hit in hits), reverse=True)


def test_top_stories_are_recent_and_ranked_by_outlets(aconn: psycopg.Connection[Any]) -> None:
    columns, rows = run(aconn, BY_ID["top-stories"])
    stories = [dict(zip(columns, row, strict=True)) for row in rows]
    (now,) = aconn.execute("SELECT now()").fetchone()  # type: ignore[misc]
    assert all((now - story["last_seen"]).total_seconds() <= 24 * 3600 for story in stories)
    counts = [story["source_count"] for story in stories]
    assert counts == sorted(counts, reverse=True)
    assert all(story["source_count"] == len(story["sources"]) for story in stories)


def test_per_day_rollup_accounts_for_every_article(aconn: psycopg.Connection[Any]) -> None:
    (rolled, stored) = aconn.execute(
        "SELECT (SELECT sum(articles) FROM news.v_daily_stories),"
        " (SELECT count(*) FROM news.articles)"
    ).fetchone()  # type: ignore[misc]
    assert rolled == stored
    (inconsistent,) = aconn.execute(
        """SELECT count(*) FROM news.v_daily_stories
           WHERE new_stories + copies + same_story <> articles"""
    ).fetchone()  # type: ignore[misc]
    assert inconsistent == 0
