"""Appending a feed to an editor's config file: every other line stays as the editor wrote it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config
from pipeline.config.edit import (
    SCHEMA_COMMAND,
    ConfigEditError,
    NewFeed,
    collect_problems,
    default_feed_name,
    feed_with_url,
    plan_append,
    render_config_schema,
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "config" / "feeds.schema.json"
NEW = NewFeed("neu", "https://neu.example/rss", "de")
NEW_LINES = ["name: neu", "url: https://neu.example/rss", "language: de"]


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def appended(tmp_path: Path, text: str, new: NewFeed = NEW) -> str:
    """The file after `plan_append(...).write()`, checked to load with the entry last."""
    path = config_file(tmp_path, text)
    plan_append(path, new).write()
    feed = load_config(path).feeds[-1]
    assert (feed.name, feed.url, feed.language) == (new.name, new.url, new.language)
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "feeds:\n  - name: a\n    url: https://a.example/rss\n",
            "feeds:\n  - name: a\n    url: https://a.example/rss\n"
            "  - name: neu\n    url: https://neu.example/rss\n    language: de\n",
            id="indented-list",
        ),
        pytest.param(
            "feeds:\n- name: a\n  url: 'https://a.example/rss'  # quoted\n",
            "feeds:\n- name: a\n  url: 'https://a.example/rss'  # quoted\n"
            "- name: neu\n  url: https://neu.example/rss\n  language: de\n",
            id="flush-list-quotes-eol-comment",
        ),
        pytest.param(
            "fetch:\n    concurrency: 2\nfeeds:\n  - {name: a, url: 'https://a.example/rss'}\n",
            "fetch:\n    concurrency: 2\nfeeds:\n  - {name: a, url: 'https://a.example/rss'}\n"
            "  - name: neu\n    url: https://neu.example/rss\n    language: de\n",
            id="four-space-mapping-flow-item",
        ),
        pytest.param(
            "feeds:\n  - name: a\n    url: https://a.example/rss\n  # --- French ---\n",
            "feeds:\n  - name: a\n    url: https://a.example/rss\n  # --- French ---\n"
            "  - name: neu\n    url: https://neu.example/rss\n    language: de\n",
            id="indented-trailing-comment-heads-the-new-entry",
        ),
        pytest.param(
            "feeds:\n  - name: a\n    url: https://a.example/rss\n\n# Fetching\nfetch:\n"
            "  concurrency: 2\n",
            "feeds:\n  - name: a\n    url: https://a.example/rss\n"
            "  - name: neu\n    url: https://neu.example/rss\n    language: de\n"
            "\n# Fetching\nfetch:\n  concurrency: 2\n",
            id="next-section-comment-stays-with-next-section",
        ),
        pytest.param(
            "# header\nfeeds: []\n",
            "# header\nfeeds:\n  - name: neu\n    url: https://neu.example/rss\n    language: de\n",
            id="empty-flow-list",
        ),
        pytest.param(
            "# no feeds yet\nallow_private_networks: false\n",
            "# no feeds yet\nallow_private_networks: false\nfeeds:\n  - name: neu\n"
            "    url: https://neu.example/rss\n    language: de\n",
            id="no-feeds-key",
        ),
        pytest.param(
            "# nothing but a comment",
            "# nothing but a comment\nfeeds:\n  - name: neu\n    url: https://neu.example/rss\n"
            "    language: de\n",
            id="comments-only",
        ),
    ],
)
def test_append_keeps_the_file_and_adds_the_entry_last(
    tmp_path: Path, before: str, after: str
) -> None:
    assert appended(tmp_path, before) == after


def test_append_to_the_shipped_config_only_adds_three_lines(tmp_path: Path) -> None:
    shipped = (Path(__file__).resolve().parent.parent / "config" / "feeds.yaml").read_text()
    result = appended(tmp_path, shipped)
    assert result == shipped + "  - name: neu\n    url: https://neu.example/rss\n    language: de\n"


def test_plan_reports_line_and_added_lines(tmp_path: Path) -> None:
    path = config_file(tmp_path, "# c\nfeeds:\n  - name: a\n    url: https://a.example/rss\n")
    edit = plan_append(path, NEW)
    assert edit.line == 5
    assert [line.strip(" -") for line in edit.added] == NEW_LINES
    assert path.read_text(encoding="utf-8").count("neu") == 0  # planning writes nothing


def test_invalid_result_is_refused_with_located_problems(tmp_path: Path) -> None:
    path = config_file(tmp_path, "feeds:\n  - name: neu\n    url: https://a.example/rss\n")
    with pytest.raises(ConfigEditError) as caught:
        plan_append(path, NEW)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:4: feed 'neu': name: already used on line 2"
    ]


def test_invalid_file_is_not_edited(tmp_path: Path) -> None:
    path = config_file(tmp_path, "feeds:\n  - name: a\n    urll: https://a.example/rss\n")
    with pytest.raises(ConfigError):
        plan_append(path, NEW)


def test_write_refuses_a_file_changed_meanwhile(tmp_path: Path) -> None:
    path = config_file(tmp_path, "feeds: []\n")
    edit = plan_append(path, NEW)
    path.write_text("feeds: []\n# someone else's edit\n", encoding="utf-8")
    with pytest.raises(ConfigEditError, match="changed while"):
        edit.write()
    assert path.read_text(encoding="utf-8") == "feeds: []\n# someone else's edit\n"


def test_write_keeps_mode_symlink_and_crlf(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_bytes(b"# windows\r\nfeeds:\r\n  - name: a\r\n    url: https://a.example/rss\r\n")
    real.chmod(0o640)
    link = tmp_path / "feeds.yaml"
    link.symlink_to(real)

    plan_append(link, NEW).write()

    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert real.read_bytes().endswith(b"    language: de\r\n")
    assert b"\n" not in real.read_bytes().replace(b"\r\n", b"")
    assert [p.name for p in tmp_path.iterdir()] != []  # no temp file left behind:
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds.yaml", "real.yaml"]


@pytest.mark.parametrize(
    ("url", "taken", "name"),
    [
        ("https://www.tagesschau.de/", set(), "tagesschau"),
        ("https://feeds.bbci.co.uk/news/", set(), "bbci"),
        ("https://www.süddeutsche.de/", set(), "suddeutsche"),
        ("https://www.spiegel.de/", {"spiegel", "spiegel-2"}, "spiegel-3"),
        ("http://127.0.0.1:8080/", set(), "127.0.0.1"),
        ("http://localhost/", set(), "localhost"),
    ],
)
def test_default_feed_name(url: str, taken: set[str], name: str) -> None:
    assert default_feed_name(url, taken) == name


def test_feed_with_url_ignores_scheme_case_port_and_slash(tmp_path: Path) -> None:
    config = load_config(
        config_file(tmp_path, "feeds:\n  - name: a\n    url: http://A.example/rss\n")
    )
    for same in ("http://a.example/rss", "https://a.example:443/rss/", "HTTP://a.example/rss"):
        assert feed_with_url(config, same) is not None, same
    for other in ("http://a.example/rss2", "http://a.example/rss?x=1", "http://b.example/rss"):
        assert feed_with_url(config, other) is None, other


def test_collect_problems_adds_duplicates_to_schema_errors(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        "feeds:\n"
        "  - name: a\n    url: https://a.example/rss\n    enabled: maybe\n"
        "  - name: a\n    url: https://a.example/rss\n",
    )
    assert [str(p) for p in collect_problems(path)] == [
        f"{path}:4: feed 'a': enabled: Input should be a valid boolean, unable to interpret input",
        f"{path}:5: feed 'a': name: already used on line 2",
        f"{path}:5: feed 'a': url: same url as feed 'a'",
    ]


def test_collect_problems_of_a_valid_file(tmp_path: Path) -> None:
    assert collect_problems(config_file(tmp_path, "feeds: []\n")) == []


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_config_schema(), (
        f"config/feeds.schema.json is stale: regenerate it with `{SCHEMA_COMMAND}`"
    )
