"""`news-ingest run` end to end: real local HTTP site, real PostgreSQL, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import run_cli as news_ingest
from newssite import SiteMap, boilerplate_markers

from pipeline.urls import canonical_url

REPO = Path(__file__).resolve().parent.parent


def rows(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query, params).fetchall()


def test_first_run_stores_every_article_once_with_clean_text(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    result = news_ingest("run", "--config", str(seed_config), "--json")
    report = json.loads(result.stdout)
    assert report["stats"]["feeds_failed"] == 0
    assert report["stats"]["articles_failed"] == 0

    stored = dict(rows(conn, "SELECT canonical_url, text FROM articles"))
    expected = {canonical_url(url) for url in seed_site.served}
    assert set(stored) == expected
    for url, article in seed_site.served.items():
        text = stored[canonical_url(url)]
        for paragraph in article.paragraphs:
            assert paragraph in text or "Lesen Sie auch" in paragraph, (url, paragraph)
        for kind, markers in boilerplate_markers(article).items():
            for marker in markers:
                assert marker not in text, (url, kind, marker)


def test_syndicated_copy_folds_into_its_original_story(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    news_ingest("run", "--config", str(seed_config))
    story_of = dict(rows(conn, "SELECT canonical_url, story_id FROM articles"))
    ((copy_url, original_url),) = seed_site.copies.items()
    assert story_of[canonical_url(copy_url)] == story_of[canonical_url(original_url)]
    (layer,) = rows(
        conn,
        """SELECT l.layer FROM article_links l
           JOIN articles a ON a.id = l.article_id
           JOIN articles m ON m.id = l.matched_article_id
           WHERE ARRAY[a.canonical_url, m.canonical_url] @> %s""",
        [canonical_url(copy_url), canonical_url(original_url)],
    )
    assert layer[0] in ("exact", "near_copy")
    # stories count their members
    mismatched = rows(
        conn,
        """SELECT s.id FROM stories s LEFT JOIN articles a ON a.story_id = s.id
           GROUP BY s.id HAVING s.article_count <> count(a.id)""",
    )
    assert mismatched == []
    # unrelated articles got stories of their own
    labels = {canonical_url(url): label for url, label in seed_site.stories.items()}
    for label in {"flood-nahe-2024-07", "football-rheinau-talheim-2024"}:
        (url,) = [u for u, lab in labels.items() if lab == label]
        others = [u for u, s in story_of.items() if s == story_of[url] and u != url]
        assert others == [], (label, others)


def test_second_run_adds_nothing_and_gets_304s(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    news_ingest("run", "--config", str(seed_config))
    before = rows(conn, "SELECT count(*) FROM articles")[0][0]
    second = json.loads(news_ingest("run", "--config", str(seed_config), "--json").stdout)
    assert rows(conn, "SELECT count(*) FROM articles")[0][0] == before
    assert second["stats"]["feeds_not_modified"] == len(seed_site.feeds)
    assert second["stats"]["articles_fetched"] == 0
    (run_id,) = [second["run_id"]]
    statuses = rows(
        conn, "SELECT http_status, outcome FROM fetches WHERE run_id = %s AND kind = 'feed'", run_id
    )
    assert sorted(statuses) == [(304, "not_modified")] * len(seed_site.feeds)
    conditional = [r for r in seed_site.site.request_log() if r.header("If-None-Match") is not None]
    assert len(conditional) >= len(seed_site.feeds)


def test_summary_table_lists_every_feed(db_url: str, seed_site: SiteMap, seed_config: Path) -> None:
    out = news_ingest("run", "--config", str(seed_config)).stdout
    for header in ("feed", "status", "fetched", "new", "duplicate", "failed"):
        assert header in out
    for name in seed_site.feeds:
        assert name in out
    assert "articles stored" in out


def test_bad_config_fails_with_its_problems(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: x\n    url: gopher://x\n    colour: red\n")
    result = news_ingest("run", "--config", str(path), check=False)
    assert result.returncode == 1
    assert f"{path}:3: feed 'x': url: must be an http:// or https:// URL" in result.stderr
    assert f"{path}:4: feed 'x': colour: unknown key" in result.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_extract_command_prints_what_the_pipeline_stores(
    tmp_path: Path, seed_site: SiteMap, fmt: str
) -> None:
    from newssite import render_article_page

    url, article = next(iter(seed_site.served.items()))
    page = tmp_path / "page.html"
    page.write_text(render_article_page(article, site_name="Weltblick"), encoding="utf-8")
    args = ["extract", str(page), "--url", url] + (["--json"] if fmt == "json" else [])
    out = news_ingest(*args).stdout
    if fmt == "json":
        data = json.loads(out)
        assert data["title"] == article.title
        assert data["language"] == article.language
        assert article.paragraphs[0] in data["text"]
    else:
        header, text = out.split("\n\n", 1)
        assert header.splitlines()[0] == f"title: {article.title}"
        assert f"language: {article.language}" in header.splitlines()
        assert text.startswith(article.paragraphs[0][:40])


def test_seed_reports_from_two_feeds_share_a_story_the_modi_visit_does_not(
    db_url: str, seed_site: SiteMap, seed_config: Path, conn: psycopg.Connection[Any]
) -> None:
    """The acceptance case of the story engine, through the whole pipeline: the two SCO
    reports come from different outlets' feeds and end up in one story; Putin receiving
    Modi in Moscow a week later stays a story of its own."""
    news_ingest("run", "--config", str(seed_config))
    story_of = dict(rows(conn, "SELECT canonical_url, story_id FROM articles"))
    by_label: dict[str, set[int]] = {}
    for url, label in seed_site.stories.items():
        by_label.setdefault(label, set()).add(story_of[canonical_url(url)])
    assert len(by_label["sco-astana-2024"]) == 1
    for label, stories in by_label.items():
        assert len(stories) == 1, label
        if label != "sco-astana-2024":
            assert not stories & by_label["sco-astana-2024"], label
    layers = {r[0] for r in rows(conn, "SELECT layer FROM article_links")}
    assert "same_story" in layers
