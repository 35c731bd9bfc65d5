"""The story engine end to end in PostgreSQL: copies fold, same-story reports join, hard
negatives stay apart, state survives a new process, `cluster` and `eval-dedup` work."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import run_cli
from newssite import (
    SEED_STORY,
    Article,
    dropping_paragraph,
    load_fixture_articles,
    load_seed,
    wire_copy,
    with_new_headline,
    with_read_also_block,
    with_small_edits,
)

from pipeline.analytics.cluster import InputArticle, cluster
from pipeline.config import DedupSettings
from pipeline.stories import model as learned

REPO = Path(__file__).resolve().parent.parent
NEGATIVES = Path(__file__).resolve().parent / "fixtures" / "story_negatives"


def as_input(article: Article, *, dated: bool = True, source: str = "test") -> InputArticle:
    return InputArticle(
        id=article.slug,
        language=article.language,
        title=article.title,
        text="\n".join(article.paragraphs),
        published=article.published.date() if dated else None,
        url=f"https://{source}.example/{article.slug}",
        source=source,
    )


def negative_inputs() -> list[InputArticle]:
    """Hand-written same-actors/different-event reports (no dates in the files)."""
    return [
        InputArticle(path.stem, "de", None, path.read_text(encoding="utf-8"), None, None, "neg")
        for path in sorted(NEGATIVES.glob("*.txt"))
    ]


def groups(pairs: Iterable[tuple[str, int]]) -> dict[str, set[str]]:
    """article id → the ids sharing its story."""
    members: dict[int, set[str]] = defaultdict(set)
    story_of = dict(pairs)
    for article_id, story_id in story_of.items():
        members[story_id].add(article_id)
    return {article_id: members[story_id] for article_id, story_id in story_of.items()}


def corpus() -> list[Article]:
    return [load_seed("000"), load_seed("001"), *load_fixture_articles()]


@pytest.mark.parametrize("dated", [True, False], ids=["with-dates", "without-dates"])
def test_sco_reports_form_one_story_and_hard_negatives_stay_out(db_url: str, dated: bool) -> None:
    articles = corpus()
    inputs = [as_input(a, dated=dated) for a in articles] + negative_inputs()
    grouped = groups(cluster(inputs, DedupSettings(), url=db_url))

    sco = {a.slug for a in articles if a.story == SEED_STORY}
    assert len(sco) == 3  # the two seeds and the third report written for the tests
    for slug in sco:
        assert grouped[slug] == sco, f"{slug} is with {grouped[slug]}"
    # Same people (Putin, Xi, Modi, Erdoğan), other events: never in the summit's story.
    for other in [a.slug for a in articles if a.story != SEED_STORY] + [
        n.id for n in negative_inputs()
    ]:
        assert not grouped[other] & sco, other


def test_reports_of_one_other_event_join_each_other(db_url: str) -> None:
    """Two independent reports of Modi's Moscow visit (fixture and negative file) are one
    story: the engine separates events, not just articles."""
    inputs = [as_input(a) for a in corpus()] + negative_inputs()
    grouped = groups(cluster(inputs, DedupSettings(), url=db_url))
    assert "01_putin_empfaengt_modi_moskau" in grouped["putin-empfaengt-modi-moskau"]


COPY_MAKERS = {
    "new-headline": lambda a: with_new_headline(a),
    "dropped-paragraph": lambda a: dropping_paragraph(a, 1),
    "read-also-block": lambda a: with_read_also_block(a),
    "small-edits": lambda a: with_small_edits(a),
    "wire-copy": lambda a: wire_copy(a),
    "edited-wire-copy": lambda a: wire_copy(with_small_edits(dropping_paragraph(a, -1))),
}


def test_edited_copies_fold_into_their_original_as_copies(db_url: str) -> None:
    originals = corpus()
    inputs = [as_input(a, source="origin") for a in originals]
    expected: dict[str, str] = {}
    for original in originals:
        for name, make in COPY_MAKERS.items():
            copy = make(original)
            copy_id = f"{original.slug}~{name}"
            inputs.append(replace(as_input(copy, source="syndicate"), id=copy_id))
            expected[copy_id] = original.slug
    story_of = dict(cluster(inputs, DedupSettings(), url=db_url))
    misplaced = [c for c, o in expected.items() if story_of[c] != story_of[o]]
    assert misplaced == []
    # Each original still has a story of its own apart from the SCO reports.
    assert len({story_of[a.slug] for a in originals}) == len({a.story for a in originals})


def test_evidence_and_story_state_in_postgres(conn: psycopg.Connection[Any], db_url: str) -> None:
    """Run the engine through the real store step in two separate `cluster`-style passes
    against the SAME schema: the second engine (a new process in production) must find the
    first pass's state, and article_links must say why articles share a story."""
    from pipeline.analytics.cluster import cluster_in_schema
    from pipeline.store import db

    seed0, seed1 = load_seed("000"), load_seed("001")
    for article in (seed0, wire_copy(seed0), seed1):
        # A fresh engine per article: nothing is kept in memory between passes.
        list(cluster_in_schema(conn, db.DEFAULT_SCHEMA, [as_input(article)], DedupSettings()))

    rows = conn.execute(
        """SELECT a.url, m.url, l.layer, l.score FROM article_links l
           JOIN articles a ON a.id = l.article_id JOIN articles m ON m.id = l.matched_article_id
           ORDER BY a.id"""
    ).fetchall()
    layers = {row[2] for row in rows}
    assert layers == {"exact", "same_story"} or layers == {"near_copy", "same_story"}, rows
    same_story = [row for row in rows if row[2] == "same_story"]
    assert same_story[0][0].endswith(seed1.slug)
    assert same_story[0][3] >= min(learned.CHEAP_THRESHOLD, learned.FULL_THRESHOLD)
    (stories, articles, count_ok) = conn.execute(
        """SELECT count(*), sum(article_count),
                  bool_and(article_count =
                           (SELECT count(*) FROM articles a WHERE a.story_id = s.id))
           FROM stories s"""
    ).fetchone()
    assert (stories, articles, count_ok) == (1, 3, True)
    (docs,) = conn.execute("SELECT doc_count FROM story_corpus").fetchone()
    assert docs == 3


def cli(*args: str, stdin: str | None = None, check: bool = True) -> Any:
    return run_cli(*args, stdin=stdin, check=check, timeout=600)


def jsonl(articles: Iterable[InputArticle]) -> str:
    return "".join(
        json.dumps(
            {
                "id": a.id,
                "lang": a.language,
                "title": a.title,
                "text": a.text,
                "date": a.published.isoformat() if a.published else None,
                "url": a.url,
                "source": a.source,
                "extra": "ignored",
            }
        )
        + "\n"
        for a in articles
    )


def test_cluster_command_streams_ids_in_file_order_and_cleans_up(
    tmp_path: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    inputs = [as_input(a) for a in corpus()]
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(inputs), encoding="utf-8")
    lines = [json.loads(line) for line in cli("cluster", str(path)).stdout.splitlines()]
    assert [line["id"] for line in lines] == [a.id for a in inputs]
    assert all(isinstance(line["story_id"], int) for line in lines)
    story = {line["id"]: line["story_id"] for line in lines}
    assert story["putin-xi-astana-beziehungen"] == story["soz-gipfel-astana-integration"]
    leftovers = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'news_cluster_%'"
    ).fetchall()
    assert leftovers == []


def test_cluster_command_reports_bad_lines_and_keeps_going(tmp_path: Path, db_url: str) -> None:
    good = jsonl([as_input(load_seed("000"))])
    text = (
        good
        + "not json\n"
        + '{"id": "x", "text": ""}\n'
        + '{"id": "y", "text": "t", "date": "July"}\n'
    )
    result = cli("cluster", "-", stdin=text, check=False)
    assert result.returncode == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        "putin-xi-astana-beziehungen"
    ]
    assert "line 2: not JSON" in result.stderr
    assert "line 3 (id x): missing or empty 'text'" in result.stderr
    assert "line 4 (id y): 'date' must be YYYY-MM-DD or null" in result.stderr


def test_eval_dedup_scores_pairs(tmp_path: Path, db_url: str) -> None:
    articles = corpus()
    (tmp_path / "a.jsonl").write_text(jsonl(as_input(a) for a in articles), encoding="utf-8")
    by_slug = {a.slug: a for a in articles}
    labelled = [
        ("putin-xi-astana-beziehungen", "soz-gipfel-astana-integration", 1),
        ("putin-xi-astana-beziehungen", "soz-gipfel-astana-belarus", 1),
        ("putin-xi-astana-beziehungen", "putin-empfaengt-modi-moskau", 0),
        ("soz-gipfel-astana-integration", "nato-gipfel-washington", 0),
        ("ecb-holds-rates-july-2024", "putin-xi-astana-beziehungen", 0),
    ]
    pairs = (
        "".join(
            json.dumps(
                {
                    "id1": a,
                    "id2": b,
                    "lang1": by_slug[a].language,
                    "lang2": by_slug[b].language,
                    "same_story": label,
                }
            )
            + "\n"
            for a, b, label in labelled
        )
        + json.dumps({"id1": "a", "id2": "b", "same_story": None})
        + "\n"
    )
    (tmp_path / "p.jsonl").write_text(pairs, encoding="utf-8")
    result = json.loads(
        cli(
            "eval-dedup",
            "--articles",
            str(tmp_path / "a.jsonl"),
            "--pairs",
            str(tmp_path / "p.jsonl"),
            "--json",
        ).stdout
    )
    assert result["scores"]["overall"] == {
        "pairs": 5,
        "positives": 2,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }
    assert result["scores"]["de-de"]["pairs"] == 4
    assert result["scores"]["cross-lingual"]["pairs"] == 1
    table = cli(
        "eval-dedup", "--articles", str(tmp_path / "a.jsonl"), "--pairs", str(tmp_path / "p.jsonl")
    ).stdout
    for row in ("overall", "monolingual", "de-de", "cross-lingual", "precision", "recall", "F1"):
        assert row in table


@pytest.mark.parametrize("date", ["2025-02-30", "2025-13-01", "2025-06-10T12:00:00+99:99"])
def test_cluster_input_refuses_impossible_dates_instead_of_shifting_them(date: str) -> None:
    from pipeline.analytics.cluster import InputError, parse_line

    with pytest.raises(InputError, match="'date' must be YYYY-MM-DD or null"):
        parse_line(json.dumps({"id": "a", "text": "Ein Text.", "date": date}), 1)
