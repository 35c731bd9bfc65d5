"""The feed configuration file: its schema, loading, and errors that name file, line and feed."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

DEFAULT_CONFIG_PATH = Path("config/feeds.yaml")
CONFIG_ENV_VAR = "NEWS_INGEST_CONFIG"

FEED_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feed(_Strict):
    """One news feed an editor configured."""

    name: str = Field(
        description="Short unique id: lowercase letters, digits, '.', '_', '-' (max. 64).",
        # Schema-only: the validator below enforces the same rule with a better message.
        json_schema_extra={"pattern": FEED_NAME_RE.pattern, "examples": ["tagesschau"]},
    )
    url: str = Field(
        description="The RSS or Atom feed's http(s) URL.",
        json_schema_extra={
            "pattern": "^\\s*[hH][tT][tT][pP][sS]?://",
            "format": "uri",
            "examples": ["https://www.tagesschau.de/index~rss2.xml"],
        },
    )
    language: str | None = Field(
        default=None,
        description="ISO 639-1 code (de, en, ...): a hint when pages do not say.",
        json_schema_extra={"pattern": LANGUAGE_RE.pattern, "examples": ["de", "en"]},
    )
    enabled: bool = Field(default=True, description="false keeps the feed listed but not polled.")
    aliases: list[str] = Field(
        default_factory=list,
        description=(
            "Other hosts ('name' or 'name:port') of the same outlet, e.g. its mobile or "
            "syndication host: a page's rel=canonical naming one of them (or the page's own "
            "host) is evidence that two URLs are one article; one naming any other host is "
            "ignored."
        ),
        json_schema_extra={"examples": [["m.tagesschau.de"]]},
    )

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, value: str) -> str:
        if not FEED_NAME_RE.match(value):
            raise ValueError(
                "must be 1-64 characters of lowercase letters, digits, '.', '_' or '-', "
                f"starting with a letter or digit (got {value!r})"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return validate_http_url(value)

    @field_validator("aliases")
    @classmethod
    def _aliases_are_hosts(cls, value: list[str]) -> list[str]:
        from .netguard import parse_host_entry

        for entry in value:
            parse_host_entry(entry)
        return [entry.strip().lower() for entry in value]

    @field_validator("language")
    @classmethod
    def _language_is_iso639_1(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_RE.match(value):
            raise ValueError(
                f"must be a two-letter ISO 639-1 code such as 'de' or 'en' (got {value!r})"
            )
        return value


PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class FetchSettings(_Strict):
    """How politely and how defensively we talk to the web."""

    user_agent: str = Field(
        default="news-ingest/0.1 (+https://github.com/news-ingest/news-ingest)",
        description="User-Agent header of every request (also the robots.txt agent name).",
    )
    connect_timeout: PositiveFloat = Field(
        default=10.0, description="Seconds to establish a connection (TCP and TLS)."
    )
    read_timeout: PositiveFloat = Field(
        default=20.0, description="Seconds a response may stay silent before the read fails."
    )
    total_timeout: PositiveFloat = Field(
        default=60.0, description="Wall-clock cap per request, so a slow drip cannot hold a worker."
    )
    max_feed_bytes: PositiveInt = Field(
        default=10_000_000, description="Largest feed document (decoded bytes) we read."
    )
    max_article_bytes: PositiveInt = Field(
        default=5_000_000, description="Largest article page (decoded bytes) we read."
    )
    max_redirects: Annotated[int, Field(ge=0, le=20)] = Field(
        default=5, description="Redirect hops followed per request."
    )
    max_retries: Annotated[int, Field(ge=0, le=10)] = Field(
        default=2,
        description="Retries after network errors, connect timeouts and HTTP 408/429/5xx.",
    )
    backoff_seconds: Annotated[float, Field(ge=0)] = Field(
        default=1.0, description="First retry delay; it doubles with every further retry."
    )
    max_retry_after: Annotated[float, Field(ge=0)] = Field(
        default=120.0, description="Longer Retry-After values are not waited for; the fetch fails."
    )
    concurrency: Annotated[int, Field(ge=1, le=64)] = Field(
        default=8, description="Feeds (and article downloads) fetched in parallel."
    )
    per_host_concurrency: Annotated[int, Field(ge=1, le=16)] = Field(
        default=2, description="Most requests in flight to one host at a time."
    )
    respect_robots: bool = Field(
        default=True, description="Obey robots.txt (and its Crawl-delay) for article pages."
    )
    max_entries_per_feed: PositiveInt = Field(
        default=500, description="Entries beyond this many in one feed document are ignored."
    )
    max_articles_per_feed: PositiveInt = Field(
        default=100, description="New articles downloaded per feed and run; the rest wait."
    )
    max_article_attempts: PositiveInt = Field(
        default=5, description="A failing article is retried in later runs up to this many times."
    )


class DedupSettings(_Strict):
    """Thresholds of the story engine; the same values serve the pipeline and `cluster`."""

    near_copy_threshold: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.7,
        description="Share of the shorter text's word shingles found in the other: a copy.",
    )
    shingle_size: Annotated[int, Field(ge=1, le=10)] = Field(
        default=5, description="Words per shingle of the near-copy fingerprint."
    )
    num_perm: Annotated[int, Field(ge=16, le=512)] = Field(
        default=128, description="MinHash permutations of the near-copy fingerprint."
    )
    same_story_threshold: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.44,
        description="Score (0-1) from which an article joins an existing story; see "
        "pipeline/stories/similarity.py for how it is computed.",
    )
    story_window_days: PositiveInt = Field(
        default=7, description="Only stories active this close to an article's date are candidates."
    )
    max_candidates: PositiveInt = Field(
        default=50, description="Most stored articles compared with each new article."
    )
    candidate_key_max_df: PositiveInt = Field(
        default=1000,
        description="Terms in more documents than this are not used as candidate keys: "
        "their posting lists are long and say little about the story.",
    )
    embeddings: bool = Field(default=True, description="Use the multilingual sentence encoder.")


class Config(_Strict):
    """The whole configuration file."""

    allow_private_networks: bool = Field(
        default=False,
        description="Allow fetching from loopback/private/link-local addresses (tests only).",
    )
    allow_private_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Hosts ('name', 'name:port', 'IP:port') that may be on private addresses although "
            "allow_private_networks is false, e.g. an intranet feed server. Only these exact "
            "hosts are exempt: entries and redirects elsewhere stay guarded."
        ),
    )
    schedule: str | None = Field(
        default="*/15 * * * *",
        description="Airflow schedule of the news_ingest DAG (cron or preset); null = manual only.",
    )
    fetch: FetchSettings = Field(
        default=FetchSettings(), description="HTTP timeouts, size caps, retries, politeness."
    )
    dedup: DedupSettings = Field(
        default=DedupSettings(), description="Thresholds of the story engine."
    )
    feeds: list[Feed] = Field(
        default_factory=list, description="The feeds to poll; names and URLs must be unique."
    )

    @field_validator("allow_private_hosts")
    @classmethod
    def _hosts_are_hosts(cls, value: list[str]) -> list[str]:
        from .netguard import parse_host_entry

        for entry in value:
            parse_host_entry(entry)
        return [entry.strip().lower() for entry in value]

    @property
    def enabled_feeds(self) -> list[Feed]:
        return [feed for feed in self.feeds if feed.enabled]

    def feed(self, name: str) -> Feed:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise KeyError(name)


def validate_http_url(value: str) -> str:
    """Return `value` if it is an absolute http(s) URL with a host, else raise ValueError."""
    value = value.strip()
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"must not contain spaces or control characters (got {value!r})")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ValueError(f"is not a valid URL (got {value!r}: {exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// URL (got {value!r})")
    if not parts.hostname:
        raise ValueError(f"has no host name (got {value!r})")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password")
    return value


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


def resolve_config_path(path: str | Path | None = None) -> Path:
    """The explicit path, else $NEWS_INGEST_CONFIG, else config/feeds.yaml."""
    if path:
        return Path(path)
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


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
        message = "unknown key (check the spelling; see config/feeds.schema.json)"
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
