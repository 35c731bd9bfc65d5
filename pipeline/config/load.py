"""Reading a config file: YAML with line numbers, validation, errors that name file, line
and feed."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from .model import Config

DEFAULT_CONFIG_PATH = Path("config/feeds.yaml")
CONFIG_ENV_VAR = "NEWS_INGEST_CONFIG"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config file, located as precisely as the YAML allows."""

    path: Path
    line: int | None
    feed: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        who = f" feed {self.feed!r}:" if self.feed else ""
        what = f" {self.field}:" if self.field else ""
        return f"{where}:{who}{what} {self.message}"


class ConfigError(Exception):
    """The config file cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def resolve_config_path(path: str | Path | None = None, *, project_dir: Path | None = None) -> Path:
    """The explicit path, else $NEWS_INGEST_CONFIG, else config/feeds.yaml: of the working
    directory (the CLI), or of `project_dir` (the DAGs: the checkout they live in)."""
    if path:
        return Path(path)
    if os.environ.get(CONFIG_ENV_VAR):
        return Path(os.environ[CONFIG_ENV_VAR])
    return project_dir / DEFAULT_CONFIG_PATH if project_dir else DEFAULT_CONFIG_PATH


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a config file; raise ConfigError naming file, line and feed."""
    config_path = resolve_config_path(path)
    data = read_yaml(config_path)
    return parse_config(data, config_path)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(path, None, None, None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(path, None, None, None, f"cannot read: {exc}")]) from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"not valid YAML: {exc.problem or exc.context}"
        raise ConfigError([ConfigProblem(path, line, None, None, message)]) from None


def parse_config(data: Any, path: Path) -> Config:
    """Validate already-loaded YAML (ruamel round-trip nodes keep line numbers)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(path, 1, None, None, "top level must be a mapping")])
    # Duplicates are checked on the raw entries, so they are reported together with any
    # schema errors instead of only after those are fixed.
    problems = _duplicate_feeds(data, path)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += [_locate(error, data, path) for error in exc.errors()]
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0)) from None
    if problems:
        raise ConfigError(problems)
    return config


def _duplicate_feeds(data: Any, path: Path) -> list[ConfigProblem]:
    """Feed names and URLs used twice, among the entries that have them (valid or not)."""
    feeds = data.get("feeds")
    if not isinstance(feeds, list):
        return []
    problems: list[ConfigProblem] = []
    line_by_name: dict[str, int | None] = {}
    name_by_url: dict[str, str] = {}
    for index, item in enumerate(feeds):
        if not isinstance(item, dict):
            continue
        name, url = item.get("name"), item.get("url")
        line = _line_of(data, ("feeds", index))
        label = str(name) if name is not None else f"#{index + 1}"
        if isinstance(name, str):
            if name in line_by_name:
                message = f"already used on line {line_by_name[name]}"
                problems.append(ConfigProblem(path, line, name, "name", message))
            line_by_name.setdefault(name, line)
        if isinstance(url, str):
            url = url.strip()
            if url in name_by_url:
                message = f"same url as feed {name_by_url[url]!r}"
                problems.append(ConfigProblem(path, line, label, "url", message))
            name_by_url.setdefault(url, label)
    return problems


def _locate(error: Any, data: Any, path: Path) -> ConfigProblem:
    """Turn one pydantic error into a problem with the YAML line and the feed's name."""
    loc: tuple[Any, ...] = tuple(error["loc"])
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = _unknown_key_message(loc)
    elif error["type"] == "missing":
        message = "required key is missing"

    feed_name: str | None = None
    if len(loc) >= 2 and loc[0] == "feeds" and isinstance(loc[1], int):
        feeds = data.get("feeds")
        if isinstance(feeds, list) and loc[1] < len(feeds) and isinstance(feeds[loc[1]], dict):
            name = feeds[loc[1]].get("name")
            feed_name = str(name) if name is not None else f"#{loc[1] + 1}"
        field = ".".join(str(part) for part in loc[2:]) or None
    else:
        field = ".".join(str(part) for part in loc) or None
    return ConfigProblem(path, _line_of(data, loc), feed_name, field, message)


def _unknown_key_message(loc: tuple[Any, ...]) -> str:
    """'unknown key', with the closest known key of the same section when one is close."""
    known = _known_keys(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6) if loc else []
    if close:
        return f"unknown key (did you mean {close[0]!r}? see config/feeds.schema.json)"
    return "unknown key (check the spelling; see config/feeds.schema.json)"


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the config model accepts at `loc` (("fetch",), ("feeds", 0), ())."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if isinstance(part, int):  # a list item: same model as the list's
            continue
        field = model.model_fields.get(str(part)) if model else None
        model = _model_in(field.annotation) if field else None
        if model is None:
            return []
    assert model is not None
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as FetchSettings or list[Feed]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest YAML node on `loc` that exists."""
    line: int | None = None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    if line is None and isinstance(node, (CommentedMap, CommentedSeq)):
        line = node.lc.line + 1
    return line
