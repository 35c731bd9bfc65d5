"""pipeline.cli.dedup: `news-ingest cluster` and `eval-dedup` read the story engine's settings
from the config (or use the defaults), skip bad input lines with a message, and print their
results; in process, on a real PostgreSQL. The engine's quality is tested in
test_story_engine.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from cli_runner import news_ingest
from cluster_lines import BUDGET, FLOOD, line

from pipeline.cli.dedup import _dedup_settings
from pipeline.config import CONFIG_ENV_VAR, DedupSettings


def config(tmp_path: Path, dedup: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"dedup:\n{dedup}feeds: []\n", encoding="utf-8")
    return path


@pytest.fixture
def lexical(tmp_path: Path) -> Path:
    """A config whose story engine needs no model download."""
    return config(tmp_path, "  embeddings: false\n")


def articles(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def article(id_: str, text: str, url: str) -> str:
    return line(id=id_, lang="de", text=text, url=url, source="m.example")


def test_settings_come_from_the_given_config_else_the_default_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    assert _dedup_settings(None) == DedupSettings()  # no config anywhere: the defaults
    given = config(tmp_path, "  same_story_threshold: 0.6\n  embeddings: false\n")
    assert _dedup_settings(given) == DedupSettings(same_story_threshold=0.6, embeddings=False)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(given))
    assert _dedup_settings(None).same_story_threshold == 0.6


def test_a_broken_dedup_section_stops_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit):
        _dedup_settings(config(tmp_path, "  num_perm: 8\n"))
    assert ":2: dedup.num_perm: " in " ".join(capsys.readouterr().err.split())


def test_cluster_prints_a_story_per_line_and_skips_bad_lines(
    tmp_path: Path, db_url: str, lexical: Path
) -> None:
    path = articles(
        tmp_path,
        article("a", BUDGET, "https://m.example/haushalt"),
        "{not json",
        article("b", FLOOD, "https://m.example/pegel"),
        article("c", BUDGET, "https://m.example/haushalt?utm_source=x"),
    )
    result = news_ingest("cluster", str(path), "--config", str(lexical))
    assert result.returncode == 1  # a line was skipped
    assert "skipped line 2: not JSON" in result.stderr
    stories = {line["id"]: line["story_id"] for line in map(json.loads, result.stdout.splitlines())}
    assert list(stories) == ["a", "b", "c"]
    assert stories["a"] == stories["c"] != stories["b"]


def test_cluster_reads_stdin(tmp_path: Path, db_url: str, lexical: Path) -> None:
    result = news_ingest(
        "cluster", "-", "--config", str(lexical), stdin=article("a", FLOOD, "https://n/1") + "\n"
    )
    assert result.returncode == 0
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a"]


def test_eval_dedup_prints_a_table_of_scores(tmp_path: Path, db_url: str, lexical: Path) -> None:
    path = articles(
        tmp_path,
        article("a", BUDGET, "https://m.example/haushalt"),
        article("b", FLOOD, "https://m.example/pegel"),
        article("c", BUDGET, "https://m.example/haushalt"),
    )
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        '{"id1": "a", "id2": "c", "lang1": "de", "lang2": "de", "same_story": 1}\n'
        '{"id1": "a", "id2": "b", "lang1": "de", "lang2": "de", "same_story": 0}\n',
        encoding="utf-8",
    )
    result = news_ingest(
        "eval-dedup", "--articles", str(path), "--pairs", str(pairs), "--config", str(lexical)
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"3 articles → 2 stories in \d+\.\d s", result.stdout)
    overall = next(line for line in result.stdout.splitlines() if "overall" in line)
    cells = [cell.strip() for cell in overall.split("│")[1:-1]]
    # pairs, labelled pairs, same story, precision, recall, F1
    assert cells == ["overall", "2", "1", "1.000", "1.000", "1.000"]


def test_eval_dedup_cv_prints_out_of_sample_scores_beside_baselines(
    tmp_path: Path, db_url: str, lexical: Path
) -> None:
    lines = []
    pairs = []
    for n in range(4):  # four components: a budget report and its copy, a flood report
        budget = BUDGET.replace("Mühlbach", f"Mühlbach-{n}")
        lines += [
            article(f"a{n}", budget, f"https://m.example/haushalt-{n}"),
            article(f"c{n}", budget + " Nachtrag.", f"https://n.example/haushalt-{n}"),
            article(f"b{n}", FLOOD.replace("Nahe", f"Nahe {n}"), f"https://m.example/pegel-{n}"),
        ]
        pairs += [
            json.dumps(
                {"id1": f"a{n}", "id2": f"c{n}", "lang1": "de", "lang2": "de", "same_story": 1}
            ),
            json.dumps(
                {"id1": f"a{n}", "id2": f"b{n}", "lang1": "de", "lang2": "de", "same_story": 0}
            ),
        ]
    path = articles(tmp_path, *lines)
    labelled = tmp_path / "pairs.jsonl"
    labelled.write_text("".join(p + "\n" for p in pairs), encoding="utf-8")
    args = [
        "eval-dedup",
        "--articles",
        str(path),
        "--pairs",
        str(labelled),
        "--config",
        str(lexical),
    ]
    result = news_ingest(*args, "--cv", "2")
    assert result.returncode == 0, result.stderr
    assert "grouped 2-fold CV x1 on 8 labelled pairs over 12 articles" in " ".join(
        result.stdout.split()
    )
    rows = [line for line in result.stdout.splitlines() if "overall" in line]
    assert any("engine (no encoder)" in row for row in rows)
    assert any("tf-idf cosine" in row for row in rows)
    engine = next(row for row in rows if "engine" in row)
    assert [cell.strip() for cell in engine.split("│")[3:6]] == ["1.000", "1.000", "1.000"]
    as_json = news_ingest(*args, "--cv", "2", "--repeats", "2", "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["repeats"] == 2
    assert report["methods"]["engine (no encoder)"]["overall"]["pairs"] == 16
    assert news_ingest(*args, "--cv", "1").returncode != 0  # K >= 2
