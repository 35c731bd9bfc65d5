"""pipeline.config.load: reading feeds.yaml; editors get every problem with file, line and
feed name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def test_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config" / "feeds.yaml")
    assert 10 <= len(config.feeds) <= 20
    assert {feed.language for feed in config.feeds} >= {"de", "en"}
    assert config.allow_private_networks is False


def test_unknown_key_names_feed_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n"
        "  - name: tagesschau\n"
        "    url: https://www.tagesschau.de/index~rss2.xml\n"
        "    langauge: de\n",
    )
    assert problems(path) == [
        f"{path}:4: feed 'tagesschau': langauge: unknown key (did you mean 'language'? "
        "see config/feeds.schema.json)"
    ]


def test_every_problem_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "allow_private_networks: false\n"
        "feeds:\n"
        "  - name: ok\n"
        "    url: https://ok.example/feed\n"
        "  - name: Bad Name\n"
        "    url: ftp://files.example/feed\n"
        "  - url: https://nameless.example/feed\n"
        "    language: German\n",
    )
    found = problems(path)
    assert len(found) == 4
    assert any(":5: feed 'Bad Name': name: must be 1-64 characters" in p for p in found)
    assert any(":6: feed 'Bad Name': url: must be an http:// or https:// URL" in p for p in found)
    assert any(":7: feed '#3': name: required key is missing" in p for p in found)
    assert any(":8: feed '#3': language: must be a two-letter ISO 639-1 code" in p for p in found)


def test_duplicate_names_and_urls(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n"
        "  - name: a\n    url: https://a.example/rss\n"
        "  - name: a\n    url: https://b.example/rss\n"
        "  - name: c\n    url: https://a.example/rss\n",
    )
    found = problems(path)
    assert f"{path}:4: feed 'a': name: already used on line 2" in found
    assert f"{path}:6: feed 'c': url: same url as feed 'a'" in found


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - name: a\n    url: [unclosed\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:")
    assert "not valid YAML" in problem


def test_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]


def test_env_var_names_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "feeds:\n  - name: env\n    url: https://env.example/rss\n")
    monkeypatch.setenv("NEWS_INGEST_CONFIG", str(path))
    assert load_config().feeds[0].name == "env"
