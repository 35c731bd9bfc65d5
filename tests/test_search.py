"""Full-text search of sql/0005: each article is indexed and matched in its own language,
and `news.search_articles` works from any search_path (as analysts connect)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

NOW = datetime.now(UTC)


@pytest.fixture
def analyst(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection with the default search_path, as psql gives an analyst."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        assert connection.execute("SHOW search_path").fetchone() == ('"$user", public',)
        yield connection


def add_article(
    conn: psycopg.Connection[Any],
    title: str,
    text: str,
    language: str | None,
    *,
    age: timedelta = timedelta(hours=1),
) -> int:
    """One article in a story of its own, from the outlet 'testblatt'."""
    (source_id,) = conn.execute(
        """INSERT INTO news.sources (name, url) VALUES ('testblatt', 'https://t.example/feed')
           ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id"""
    ).fetchone()  # type: ignore[misc]
    when = NOW - age
    (story_id,) = conn.execute(
        "INSERT INTO news.stories (title, first_seen, last_seen, article_count)"
        " VALUES (%s, %s, %s, 1) RETURNING id",
        (title, when, when),
    ).fetchone()  # type: ignore[misc]
    url = f"https://t.example/{secrets.token_hex(8)}"
    (article_id,) = conn.execute(
        """INSERT INTO news.articles (source_id, url, canonical_url, title, published_at,
               fetched_at, language, text, text_hash, word_count, story_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, md5(%s), %s, %s) RETURNING id""",
        (source_id, url, url, title, when, when, language, text, text, len(text.split()), story_id),
    ).fetchone()  # type: ignore[misc]
    return int(article_id)


def found(
    conn: psycopg.Connection[Any],
    query: str,
    since: datetime | None = None,
    max_results: int = 50,
) -> list[int]:
    rows = conn.execute(
        "SELECT article_id FROM news.search_articles(%s, %s, %s)", (query, since, max_results)
    )
    return [row[0] for row in rows]


@pytest.mark.parametrize(
    ("language", "config"),
    [("de", "german"), ("en", "english"), ("en-GB", "english"), ("TR", "turkish"),
     ("fr", "french"), ("es", "spanish"), ("xx", "simple"), (None, "simple")],
)  # fmt: skip
def test_language_picks_its_text_search_configuration(
    analyst: psycopg.Connection[Any], language: str | None, config: str
) -> None:
    row = analyst.execute("SELECT news.ts_config_for(%s)::text", (language,)).fetchone()
    assert row == (config,)


def test_words_match_in_the_articles_own_language(analyst: psycopg.Connection[Any]) -> None:
    german = add_article(
        analyst, "Gipfel in Astana", "Die Staatschefs trafen sich zum Gipfel.", "de"
    )
    english = add_article(
        analyst, "Leaders meet", "The leaders gathered for the summit in Astana.", "en"
    )
    unknown = add_article(analyst, "Astana talks", "Summit talks in Astana.", None)

    assert found(analyst, "Gipfels") == [german]  # German stemming
    assert found(analyst, "summits") == [english]  # English stemming; 'simple' does not stem
    assert sorted(found(analyst, "Astana")) == sorted([german, english, unknown])
    assert found(analyst, "Tsunami") == []


def test_stop_words_count_in_the_language_they_are_words_in(
    analyst: psycopg.Connection[Any],
) -> None:
    # "die" is a German stop word but an English verb: "die Wahl" asks German articles for
    # Wahl and English ones for both words.
    german = add_article(analyst, "Die Wahl in Thüringen", "Die Wahl ist entschieden.", "de")
    english = add_article(analyst, "Mr Wahl wins", "Mr Wahl won the vote.", "en")

    assert found(analyst, "die Wahl") == [german]
    # search_query alone is the any-language superset the index serves: both.
    rows = analyst.execute(
        "SELECT id FROM news.articles WHERE search @@ news.search_query('die Wahl') ORDER BY id"
    ).fetchall()
    assert [row[0] for row in rows] == sorted([german, english])


def test_title_matches_rank_first_and_snippets_mark_the_words(
    analyst: psycopg.Connection[Any],
) -> None:
    in_text = add_article(
        analyst, "Lage an der Nahe", "Das Hochwasser der Nahe sinkt langsam wieder.", "de"
    )
    in_title = add_article(
        analyst, "Hochwasser an der Nahe", "Die Pegel an der Nahe sinken langsam.", "de"
    )
    rows = analyst.execute(
        "SELECT article_id, snippet FROM news.search_articles('Hochwasser Nahe')"
    ).fetchall()
    assert [row[0] for row in rows] == [in_title, in_text]
    assert "«Hochwasser»" in rows[1][1]


def test_since_and_max_results_narrow_the_search(analyst: psycopg.Connection[Any]) -> None:
    old = add_article(analyst, "Streik bei der Bahn", "Streik.", "de", age=timedelta(days=30))
    new = add_article(analyst, "Neuer Streik", "Wieder Streik.", "de")
    assert sorted(found(analyst, "Streik")) == sorted([old, new])
    assert found(analyst, "Streik", since=NOW - timedelta(days=7)) == [new]
    assert len(found(analyst, "Streik", max_results=1)) == 1


def test_the_search_column_follows_edits(analyst: psycopg.Connection[Any]) -> None:
    article = add_article(analyst, "Vorläufiger Titel", "Noch kein Text.", "de")
    analyst.execute(
        "UPDATE news.articles SET title = 'Haushaltsdebatte im Landtag' WHERE id = %s",
        (article,),
    )
    assert found(analyst, "Haushaltsdebatte") == [article]


def test_chinese_japanese_korean_and_thai_are_searchable_as_phrases(
    analyst: psycopg.Connection[Any],
) -> None:
    """The parser sees no words in unspaced scripts: both sides are segmented per character
    (sql/0008), and a query's characters must follow each other."""
    zh = add_article(
        analyst, "长江防汛", "湖北省防汛抗旱指挥部周三将防汛应急响应提升至三级。", "zh"
    )
    ja = add_article(analyst, "運賃改定", "大阪市営バスは来年四月から運賃を値上げする。", "ja")
    ko = add_article(analyst, "버스 노선", "부산시는 내년부터 시내버스 노선을 전면 개편한다.", "ko")
    th = add_article(analyst, "จักรยาน", "กรุงเทพมหานครจะขยายเส้นทางจักรยานในเขตชั้นใน", "th")
    de = add_article(analyst, "Gipfel", "Der Gipfel in Astana begann am Mittwoch.", "de")
    assert found(analyst, "应急响应") == [zh]
    assert found(analyst, "响应应急") == []  # the characters in another order: no phrase
    assert found(analyst, '"防汛" 三级') == [zh]
    assert found(analyst, "値上げ") == [ja]
    assert found(analyst, "노선") == [ko]  # the word without its particle (노선을)
    assert found(analyst, "เส้นทางจักรยาน") == [th]
    assert found(analyst, "Gipfel Astana") == [de]
    (snippet,) = analyst.execute("SELECT snippet FROM news.search_articles('应急响应')").fetchone()  # type: ignore[misc]
    assert "«应急响应»" in snippet
    assert "\x1f" not in snippet


def test_spaced_scripts_index_as_before(analyst: psycopg.Connection[Any]) -> None:
    """search_segmented changes nothing in text without CJK, Hangul or Thai characters."""
    text = "Der Gipfel in Astana begann am Mittwoch; «Ärger» über Zölle."
    (same,) = analyst.execute("SELECT news.search_segmented(%s) = %s", (text, text)).fetchone()  # type: ignore[misc]
    assert same
