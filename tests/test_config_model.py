"""pipeline.config.model: what a feed, the fetch settings and the whole file may hold; the
committed JSON schema (what editors' YAML tooling checks) refuses what the model refuses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from pipeline.config import load_config

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
