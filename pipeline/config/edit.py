"""Editing the feed config for editors: append a feed, list every problem, the JSON Schema.

The config file belongs to the editors: its comments, order, quoting and indentation are
theirs. `plan_append` therefore edits it with ruamel.yaml's round-trip mode and then proves the
edit is a pure insertion (every original line still there, in order) before anything is
written; a file ruamel cannot reproduce exactly is refused rather than reformatted.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from courlan import extract_domain
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from .load import ConfigError, ConfigProblem, parse_config, read_yaml
from .model import FEED_NAME_RE, Config, Feed

SCHEMA_PATH = Path("config/feeds.schema.json")
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_COMMAND = "news-ingest feeds schema --output config/feeds.schema.json"
_NAME_MAX = 64


class ConfigEditError(Exception):
    """The edit cannot be made; `problems` holds config problems when that is the reason."""

    def __init__(self, message: str, problems: list[ConfigProblem] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


@dataclass(frozen=True)
class NewFeed:
    name: str
    url: str
    language: str | None = None

    def as_yaml(self) -> CommentedMap:
        entry = CommentedMap(name=self.name, url=self.url)
        if self.language:
            entry["language"] = self.language
        return entry


# --- names and duplicates ---------------------------------------------------------------------


def default_feed_name(site_url: str, taken: Collection[str]) -> str:
    """A feed name from the site's host ("https://www.tagesschau.de/" → "tagesschau"),
    with "-2", "-3"... appended while it is taken."""
    domain = extract_domain(site_url)  # registered domain; None for IP addresses, localhost
    base = domain.split(".")[0] if domain else urlsplit(site_url).hostname or ""
    stem = _slug(base)[: _NAME_MAX - 4] or "feed"  # room for a "-NNN" suffix
    name, number = stem, 2
    while name in taken:
        name, number = f"{stem}-{number}", number + 1
    return name


def _slug(text: str) -> str:
    """Lowercase ASCII that passes the feed name rule ("Süddeutsche" → "suddeutsche")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9_.-]+", "-", ascii_text.lower())
    slug = slug.lstrip("-_.")[:_NAME_MAX].rstrip("-_.")
    return slug if FEED_NAME_RE.match(slug) else ""


def feed_with_url(config: Config, url: str) -> Feed | None:
    """The configured feed with this URL, ignoring http/https, host case, default ports and a
    trailing slash: those name the same feed."""
    wanted = _url_key(url)
    return next((feed for feed in config.feeds if _url_key(feed.url) == wanted), None)


def _url_key(url: str) -> tuple[str, ...]:
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        return (url.strip(),)
    port_text = "" if port in (None, 80, 443) else str(port)
    path = parts.path.rstrip("/") or "/"
    return ((parts.hostname or "").lower(), port_text, path, parts.query)


# --- appending a feed -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigEdit:
    """A validated new version of a config file, not yet written."""

    path: Path
    original: str
    updated: str
    line: int  # 1-based line of the new entry in `updated`
    added: list[str] = field(default_factory=list)  # the inserted lines

    def write(self) -> None:
        """Replace the file atomically (temp file + rename), if nobody changed it meanwhile."""
        target = self.path.resolve()  # through a symlink: replace the file, keep the link
        if _read_text(target) != self.original:
            raise ConfigEditError(f"{self.path} changed while the feed was checked; run again")
        _atomic_write(target, self.updated, crlf="\r\n" in _read_raw_text(target))


def plan_append(path: Path, new: NewFeed) -> ConfigEdit:
    """The config file with `new` appended to `feeds:`, checked whole with parse_config.

    Raises ConfigError if the current file is invalid, ConfigEditError if the result would be
    (its problems carry line numbers of the new file) or if the file cannot be kept intact.
    """
    original = _read_text(path)
    parse_config(read_yaml(path), path)  # refuse to build on a broken file: fix it first
    data = _round_trip_yaml().load(original)  # again, keeping quotes this time
    if data is None:  # empty or comments only: nothing to keep in place, just append
        updated = _ensure_newline(original) + _dump({"feeds": [new.as_yaml()]}, 2, 4, 2)
    else:
        updated = _append_to_mapping(data, new, original, path)
    return _checked(path, original, updated, new)


def _append_to_mapping(data: CommentedMap, new: NewFeed, original: str, path: Path) -> str:
    feeds = data.get("feeds")
    entry = new.as_yaml()
    if isinstance(feeds, CommentedSeq) and feeds:
        _move_trailing_comment(feeds[-1], entry)
        feeds.append(entry)
    else:
        # `feeds:` missing, null or `[]`: a block list, so later entries append line by line.
        data["feeds"] = CommentedSeq([entry])
    was_empty = not isinstance(feeds, CommentedSeq) or not feeds
    rewritten = _key_line(data, "feeds") if was_empty else None
    for mapping, sequence, offset in _indent_styles(original):
        updated = _dump(data, mapping, sequence, offset)
        if _only_inserted(original, updated, may_change=rewritten):
            return updated
    raise ConfigEditError(
        f"{path}: cannot add the feed without reformatting other lines of the file "
        "(unusual indentation or flow style?); add the entry by hand"
    )


def _move_trailing_comment(last: Any, entry: CommentedMap) -> None:
    """Give the new entry the comment lines after the old last entry that belong to what
    follows the list (column-0 comments, e.g. "# Fetch settings" before `fetch:`).

    ruamel attaches every comment after a node to that node, so without this the new entry
    would land below the next section's heading comment. Indented comments ("  # --- French
    ---") stay: they belong to the list, and the new entry goes below them.
    """
    if not isinstance(last, CommentedMap) or not last:
        return
    key = list(last)[-1]
    slots = last.ca.items.get(key)
    token = slots[2] if slots and len(slots) > 2 else None
    if not isinstance(token, CommentToken):
        return
    head, tail = _split_comment(token.value)
    if not tail:
        return
    token.value = head
    new_key = list(entry)[-1]
    entry.ca.items[new_key] = [None, None, CommentToken("\n" + tail, CommentMark(0)), None]


def _split_comment(value: str) -> tuple[str, str]:
    """Split a ruamel post-comment ("<eol comment>\\n<lines>...") where the column-0 block
    starts (with the blank lines before it)."""
    eol, _, rest = value.partition("\n")
    lines = rest.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("#")), len(lines))
    while start > 0 and not lines[start - 1].strip():
        start -= 1
    return eol + "\n" + "".join(lines[:start]), "".join(lines[start:])


def _indent_styles(text: str) -> Iterator[tuple[int, int, int]]:
    """(mapping, sequence, offset) indents to try, the file's apparent style first."""
    sequence, offset = _guess_sequence_indent(text)
    mapping = _guess_mapping_indent(text)
    styles = [(mapping, sequence, offset), (2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0)]
    yield from dict.fromkeys(styles)


def _guess_sequence_indent(text: str) -> tuple[int, int]:
    """From the first "- key:" item: (content indent, dash offset) relative to its parent."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)[\w-]+:\s*(#.*)?$", line)
        if not match or index + 1 >= len(lines):
            continue
        item = re.match(r"^(\s*)- ", lines[index + 1])
        if item:
            offset = len(item.group(1)) - len(match.group(1))
            return offset + 2, offset
    return 4, 2


def _guess_mapping_indent(text: str) -> int:
    """Indent of the first nested mapping key under a top-level key ("fetch:")."""
    lines = text.splitlines()
    for index, line in enumerate(lines[:-1]):
        if re.match(r"^[\w-]+:\s*(#.*)?$", line):
            nested = re.match(r"^( +)[\w-]+:", lines[index + 1])
            if nested:
                return len(nested.group(1))
    return 2


def _dump(data: Any, mapping: int, sequence: int, offset: int) -> str:
    yaml = _round_trip_yaml()
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True  # 'quoted' stays 'quoted'
    yaml.width = 4096  # never re-wrap an editor's long line
    return yaml


def _key_line(data: CommentedMap, key: str) -> int | None:
    """0-based line of `key` in the original file, if it was there."""
    return data.lc.key(key)[0] if key in data.lc.data else None


def _only_inserted(original: str, updated: str, *, may_change: int | None) -> bool:
    """Every line of `original` is in `updated`, in order; nothing but the line `may_change`
    (`feeds: []` becoming `feeds:`) was altered."""
    old, new = original.splitlines(), updated.splitlines()
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag in ("equal", "insert"):
            continue
        if tag == "replace" and i2 - i1 == 1 and i1 == may_change:
            continue
        return False
    return True


def _checked(path: Path, original: str, updated: str, new: NewFeed) -> ConfigEdit:
    """Validate the whole new file as `load_config` would read it; locate the new entry."""
    data = _round_trip_yaml().load(updated)
    try:
        config = parse_config(data, path)
    except ConfigError as exc:
        raise ConfigEditError(
            f"{path} would not be valid with this entry", problems=exc.problems
        ) from None
    feeds = data["feeds"]
    if config.feeds[-1].model_dump(exclude_defaults=True) != _feed_fields(new):
        raise ConfigEditError(f"{path}: the new entry did not end up last in `feeds:`")
    line = feeds.lc.item(len(feeds) - 1)[0] + 1
    added = [
        line
        for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(
            None, original.splitlines(), updated.splitlines(), autojunk=False
        ).get_opcodes()
        if tag in ("insert", "replace")
        for line in updated.splitlines()[j1:j2]
    ]
    return ConfigEdit(path, original, updated, line, added)


def _feed_fields(new: NewFeed) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": new.name, "url": new.url}
    if new.language:
        fields["language"] = new.language
    return fields


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigEditError(f"{path}: cannot read: {exc}") from None


def _read_raw_text(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _atomic_write(target: Path, text: str, *, crlf: bool) -> None:
    """Readers see the old file or the new one, never half of it; the mode is kept."""
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\r\n" if crlf else "\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(mode)
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


# --- every problem of a file ------------------------------------------------------------------


def collect_problems(path: Path) -> list[ConfigProblem]:
    """All problems of a config file, in line order; [] if it is valid."""
    try:
        parse_config(read_yaml(path), path)
    except ConfigError as exc:
        return sorted(exc.problems, key=lambda p: p.line or 0)
    return []


# --- JSON Schema ------------------------------------------------------------------------------


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of the config file, from the pydantic model (editors' completion)."""
    generated = Config.model_json_schema()
    head = {
        "$schema": SCHEMA_DIALECT,
        "title": "news-ingest feed configuration",
        "description": (
            "config/feeds.yaml: the feeds news-ingest polls and how it fetches them. "
            f"Generated from pipeline/config/model.py by `{SCHEMA_COMMAND}`; do not edit."
        ),
    }
    body = {key: value for key, value in generated.items() if key not in ("title", "description")}
    return {**head, **body}


def render_config_schema() -> str:
    """The schema as committed in config/feeds.schema.json."""
    return json.dumps(config_json_schema(), indent=2, ensure_ascii=False) + "\n"
