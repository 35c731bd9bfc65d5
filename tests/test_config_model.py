"""pipeline.config.model: what a feed, the fetch settings and the whole file may hold; the
committed JSON schema (what editors' YAML tooling checks) refuses what the model refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from pipeline.config import (
    Config,
    ConfigError,
    DedupSettings,
    ExtractSettings,
    Feed,
    FetchSettings,
    load_config,
    parse_host_entry,
    validate_http_url,
)

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = REPO / "config" / "feeds.yaml"
SCHEMA_FILE = REPO / "config" / "feeds.schema.json"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_feed_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "feeds:\n  - name: a\n    url: https://a.example/rss\n"))
    (feed,) = config.feeds
    assert feed.enabled is True
    assert feed.language is None
    assert config.allow_private_networks is False
    assert config.enabled_feeds == [feed]


def test_shipped_config_validates_against_the_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = YAML(typ="safe").load(SHIPPED_CONFIG)
    jsonschema.Draft202012Validator(schema).validate(data)
    assert SHIPPED_CONFIG.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=feeds.schema.json\n"
    )


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"langauge": "de"}, "Additional properties are not allowed"),
        ({"name": "Tages Schau"}, "does not match"),
        ({"url": "ftp://example.org/feed"}, "does not match"),
        ({"language": "deu"}, "does not match"),
        ({"enabled": "yes"}, "is not of type 'boolean'"),
    ],
)
def test_schema_rejects_what_the_model_rejects(change: dict[str, str], complaint: str) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    feed = {"name": "tagesschau", "url": "https://www.tagesschau.de/index~rss2.xml", **change}
    with pytest.raises(jsonschema.ValidationError, match=complaint):
        jsonschema.Draft202012Validator(schema).validate({"feeds": [feed]})


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://files.example/feed", "must be an http:// or https:// URL"),
        ("https:///feed", "has no host name"),
        ("https://user:secret@news.example/feed", "must not carry a user name or password"),
        ("https://news.example:99999/feed", "is not a valid URL"),
        ("https://news.example/a feed", "must not contain spaces or control characters"),
        ("https://news.example/\x00", "must not contain spaces or control characters"),
    ],
)
def test_feed_urls_must_be_plain_http_urls(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        validate_http_url(url)


def test_a_feed_url_keeps_its_spelling_without_surrounding_spaces() -> None:
    assert validate_http_url("  https://News.Example/RSS?x=1 ") == "https://News.Example/RSS?x=1"


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("Intranet.Example", ("intranet.example", None)),
        (" intranet.example:8080 ", ("intranet.example", 8080)),
        ("10.1.2.3:443", ("10.1.2.3", 443)),
        ("[FD00::1]:443", ("fd00::1", 443)),
    ],
)
def test_host_entries_are_a_host_and_an_optional_port(
    entry: str, parsed: tuple[str, int | None]
) -> None:
    assert parse_host_entry(entry) == parsed


@pytest.mark.parametrize(
    "entry", ["https://intranet.example/", "intranet.example:99999", "a b", "user@intranet", ""]
)
def test_anything_else_is_not_a_host_entry(entry: str) -> None:
    with pytest.raises(ValueError, match="host"):
        parse_host_entry(entry)


def test_hosts_are_normalised_where_they_are_configured() -> None:
    config = Config.model_validate(
        {
            "allow_private_hosts": [" Intranet.Example:8080 "],
            "feeds": [{"name": "a", "url": "https://a.example/rss", "aliases": ["M.A.Example"]}],
        }
    )
    assert config.allow_private_hosts == ["intranet.example:8080"]
    assert config.feeds[0].aliases == ["m.a.example"]


def test_feeds_by_name_and_enabled() -> None:
    config = Config.model_validate(
        {
            "feeds": [
                {"name": "on", "url": "https://on.example/rss"},
                {"name": "off", "url": "https://off.example/rss", "enabled": False},
            ]
        }
    )
    assert config.feed("off").url == "https://off.example/rss"
    assert [feed.name for feed in config.enabled_feeds] == ["on"]
    with pytest.raises(KeyError):
        config.feed("missing")


@pytest.mark.parametrize(
    "settings",
    [
        {"per_host_concurrency": 17},
        {"concurrency": 0},
        {"max_redirects": 21},
        {"total_timeout": 0},
        {"max_retries": 11},
        {"max_feed_bytes": -1},
        {"retries": 3},  # a misspelt key is an error, not a silent default
    ],
)
def test_fetch_settings_are_bounded(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FetchSettings.model_validate(settings)


@pytest.mark.parametrize(
    "settings",
    [{"near_copy_threshold": 0}, {"same_story_threshold": 1.5}, {"num_perm": 8}],
)
def test_dedup_settings_are_bounded(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DedupSettings.model_validate(settings)


@pytest.mark.parametrize(
    "settings",
    [{"processes": -1}, {"processes": 65}, {"timeout": 0}, {"start_after_pages": -1}],
)
def test_extract_settings_are_bounded(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ExtractSettings.model_validate(settings)


def test_extract_defaults_leave_the_worker_count_to_the_machine() -> None:
    settings = Config().extract
    assert (settings.processes, settings.timeout, settings.start_after_pages) == (None, 60.0, 32)
    assert ExtractSettings.model_validate({"processes": 0}).processes == 0


def test_the_config_is_frozen() -> None:
    feed = Feed(name="a", url="https://a.example/rss")
    with pytest.raises(ValidationError):
        feed.enabled = False  # type: ignore[misc]


def test_feeds_per_task_defaults_to_200_and_is_bounded() -> None:
    assert Config().airflow.feeds_per_task == 200
    assert Config.model_validate({"airflow": {"feeds_per_task": 50}}).airflow.feeds_per_task == 50
    for wrong in (0, -5, 1001, "many"):
        with pytest.raises(ValidationError, match="feeds_per_task"):
            Config.model_validate({"airflow": {"feeds_per_task": wrong}})
    with pytest.raises(ValidationError, match="feed_per_task"):  # misspelt: an error
        Config.model_validate({"airflow": {"feed_per_task": 10}})


def test_a_bad_feeds_per_task_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []\nairflow:\n  feeds_per_task: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    (problem,) = error.value.problems
    assert problem.line == 3
    assert "feeds_per_task" in str(problem)
