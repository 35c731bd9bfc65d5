"""`news-ingest stories`, run as users run it, on the stories of a real ingest run over the
seed site (July 2024) plus one story of today added with SQL."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from analytics_data import scratch_database, seeded_database
from conftest import run_cli
from newssite import SiteMap

from pipeline.store import db

REPO = Path(__file__).resolve().parent.parent
RECENT_HEADLINE = "Stadtwerke Mühlbach erhöhen die Fernwärmepreise"
RECENT_URLS = (
    "https://welt.example/wirtschaft/fernwaerme-muehlbach.html",
    "https://nachrichten.example/2026/fernwaerme-preise",
)


@dataclass(frozen=True)
class StoriesDb:
    url: str
    site: SiteMap
    window: str  # a --since reaching back to the seed articles


def _add_recent_story(url: str) -> None:
    """A story of the last few hours: opened by welt, then reported by nachrichten."""
    now = datetime.now(UTC)
    with db.connection(url, autocommit=True) as conn:
        sources = dict(conn.execute("SELECT name, id FROM sources").fetchall())
        (story_id,) = conn.execute(
            """INSERT INTO stories (title, first_seen, last_seen, article_count)
               VALUES (%s, %s, %s, 2) RETURNING id""",
            (RECENT_HEADLINE, now - timedelta(hours=3), now - timedelta(hours=1)),
        ).fetchone()  # type: ignore[misc]
        ids = []
        for source, article_url, hours, title in (
            ("welt", RECENT_URLS[0], 3, RECENT_HEADLINE),
            ("nachrichten", RECENT_URLS[1], 1, "Fernwärme in Mühlbach wird teurer"),
        ):
            text = f"{title}. Die Stadtwerke heben die Preise zum Januar an."
            (article_id,) = conn.execute(
                """INSERT INTO articles (source_id, url, canonical_url, title, published_at,
                       fetched_at, language, text, text_hash, word_count, story_id)
                   VALUES (%s, %s, %s, %s, %s, %s, 'de', %s, md5(%s), 12, %s) RETURNING id""",
                (
                    sources[source],
                    article_url,
                    article_url,
                    title,
                    now - timedelta(hours=hours),
                    now - timedelta(hours=hours),
                    text,
                    text,
                    story_id,
                ),
            ).fetchone()  # type: ignore[misc]
            ids.append(article_id)
        conn.execute(
            """INSERT INTO article_links (article_id, matched_article_id, layer, score)
               VALUES (%s, %s, 'same_story', 0.74)""",
            (ids[1], ids[0]),
        )


@pytest.fixture(scope="module")
def stories_db(
    request: pytest.FixtureRequest,
    pg_admin_url: str,
    template_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StoriesDb]:
    seeded = seeded_database(
        request.config, pg_admin_url, template_db, tmp_path_factory.mktemp("seed-run")
    )
    oldest = min(article.published for article in seeded.site.served.values())
    days = (datetime.now(UTC) - oldest).days + 2
    with scratch_database(pg_admin_url, seeded.name) as url:
        # As if each seed article had been fetched when it was published: --since counts
        # fetch times too (tests/test_first_hour.py shows that), and this module is about
        # publication windows.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE news.articles SET fetched_at = published_at WHERE published_at IS NOT NULL"
            )
        _add_recent_story(url)
        yield StoriesDb(url, seeded.site, f"{days}d")


def stories(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("stories", *args, env={"DATABASE_URL": db_url}, check=False, timeout=120)


def listed(db_url: str, *args: str) -> str:
    result = stories(db_url, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def story_blocks(output: str) -> list[str]:
    """The output split into one text per story (its header line starts with #id)."""
    return ["#" + block for block in re.split(r"^#(?=\d+ )", output, flags=re.MULTILINE)[1:]]


def test_default_is_the_last_24_hours(stories_db: StoriesDb) -> None:
    output = listed(stories_db.url)
    assert "1 story active in the last 24h" in output
    (block,) = story_blocks(output)
    assert RECENT_HEADLINE in block
    assert "2 articles · nachrichten, welt" in block
    for url in RECENT_URLS:
        assert url in block
    assert "Fernwärme in Mühlbach wird teurer" in block
    assert "[same story]" in block
    assert not any(url in output for url in stories_db.site.served)


def test_a_long_window_lists_every_story_with_all_its_articles(stories_db: StoriesDb) -> None:
    output = listed(stories_db.url, "--since", stories_db.window, "--limit", "50")
    blocks = story_blocks(output)
    with db.connection(stories_db.url, autocommit=True) as conn:
        (story_count,) = conn.execute("SELECT count(*) FROM stories").fetchone()  # type: ignore[misc]
    assert len(blocks) == story_count
    assert f"{story_count} stories active in the last {stories_db.window}" in output
    for url in stories_db.site.served:
        assert sum(url in block for block in blocks) == 1, url
    # newest first: the story of today leads
    assert RECENT_HEADLINE in blocks[0]
    # the syndicated copy is listed under its original's story, marked as a copy
    ((copy, original),) = stories_db.site.copies.items()
    (shared,) = [block for block in blocks if copy in block]
    assert original in shared
    assert "[copy:" in shared


def test_source_keeps_the_stories_that_outlet_covered(stories_db: StoriesDb) -> None:
    output = listed(stories_db.url, "--since", stories_db.window, "--source", "syndication")
    ((copy, original),) = stories_db.site.copies.items()
    (block,) = story_blocks(output)
    assert copy in block
    assert original in block  # the story's other outlets are shown too


def test_search_matches_in_the_articles_language(stories_db: StoriesDb) -> None:
    # "Hochwassers" (genitive) finds the flood report's "Hochwasser" by German stemming.
    output = listed(stories_db.url, "--since", stories_db.window, "--search", "Hochwassers")
    (block,) = story_blocks(output)
    assert "Hochwasser an der Nahe" in block
    output = listed(stories_db.url, "--since", stories_db.window, "--search", "Tsunami")
    assert "No stories active" in output
    assert "search 'Tsunami'" in output


def test_limit_says_there_is_more(stories_db: StoriesDb) -> None:
    output = listed(stories_db.url, "--since", stories_db.window, "--limit", "1")
    assert len(story_blocks(output)) == 1
    assert "More stories match" in output


def test_bad_input_is_explained(stories_db: StoriesDb) -> None:
    bad_duration = stories(stories_db.url, "--since", "5 parsecs")
    assert bad_duration.returncode == 2
    assert "'5 parsecs' is not a duration" in bad_duration.stderr

    unknown = stories(stories_db.url, "--source", "nope")
    assert unknown.returncode == 1
    assert "no feed named 'nope'" in unknown.stderr
    assert "syndication" in unknown.stderr

    unmigrated = stories(stories_db.url, "--schema", "nowhere")
    assert unmigrated.returncode == 1
    assert "news-ingest migrate" in unmigrated.stderr
