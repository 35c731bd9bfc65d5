"""pipeline.cli.common: what every command shares: the config loaded or every problem printed
with exit status 1, and counted nouns."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from pipeline.cli.common import load_or_exit, plural


@pytest.mark.parametrize(
    ("count", "noun", "plural_form", "text"),
    [
        (0, "article", None, "0 articles"),
        (1, "article", None, "1 article"),
        (2, "article", None, "2 articles"),
        (1, "copy", "copies", "1 copy"),
        (3, "copy", "copies", "3 copies"),
        (2, "new story", "new stories", "2 new stories"),
    ],
)
def test_plural(count: int, noun: str, plural_form: str | None, text: str) -> None:
    assert plural(count, noun, plural_form) == text


def test_a_valid_config_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: a\n    url: https://a.example/rss\n", encoding="utf-8")
    assert [feed.name for feed in load_or_exit(path).feeds] == ["a"]


def test_every_problem_is_printed_and_the_command_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - name: Bad Name\n    url: https://a.example/rss\n    langauge: de\n",
        encoding="utf-8",
    )
    with pytest.raises(typer.Exit) as exited:
        load_or_exit(path)
    assert exited.value.exit_code == 1
    # rich wraps at the width of stderr (80 columns when it is not a terminal): compare words
    problems = " ".join(capsys.readouterr().err.split()).split("error ")[1:]
    assert len(problems) == 2
    assert all(problem.startswith(f"{path}:") for problem in problems)
    assert any(":2: feed 'Bad Name': name: must be 1-64 characters" in p for p in problems)
    assert any(":4: feed 'Bad Name': langauge: unknown key" in p for p in problems)


def test_a_missing_config_is_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit):
        load_or_exit(tmp_path / "nope.yaml")
    err = " ".join(capsys.readouterr().err.split())
    assert err == f"error {tmp_path / 'nope.yaml'}: file not found"
