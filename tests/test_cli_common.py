"""pipeline.cli.common: what every command shares: the config loaded or every problem printed
with exit status 1, and counted nouns."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from conftest import run_cli, write_config
from pytest_httpserver import HTTPServer

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


def test_values_that_look_like_markup_are_printed_as_they_are(
    tmp_path: Path, httpserver_ipv4: HTTPServer
) -> None:
    """Config values, URLs and server messages reach the console; rich must not read
    "[/red]" in them as markup (it would raise, and the command would end in a traceback)."""
    httpserver_ipv4.expect_request("/feed[/red].xml").respond_with_data(
        "[/x] not a feed [bold]", content_type="text/html"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text('feeds:\n  - name: a\n    url: "https://x.example/"\n    language: "[/x]"\n')
    problem = run_cli("feeds", "validate", "--config", str(bad), check=False)
    assert problem.returncode == 1
    assert "(got '[/x]')" in problem.stdout + problem.stderr
    assert "Traceback" not in problem.stderr

    url = httpserver_ipv4.url_for("/feed[/red].xml")
    config = write_config(tmp_path, {"odd": url})
    listed = run_cli("feeds", "list", "--config", str(config))
    assert "/feed[/red].xml" in listed.stdout
    checked = run_cli("feeds", "check", "--config", str(config), check=False)
    assert checked.returncode == 1
    assert "Traceback" not in checked.stderr
