"""The configuration model: feeds, fetch politeness and caps, story-engine settings,
the DAG's sharding.

Pydantic models with `extra="forbid"`, so a misspelt key is an error, not a silent default.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

FEED_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
# The news_ingest DAG's schedule when the config sets none (and while it cannot be read).
DEFAULT_SCHEDULE = "*/15 * * * *"
# Feeds per collect_shard task of the news_ingest DAG (measured: docs/OPERATORS.md).
DEFAULT_FEEDS_PER_TASK = 200


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


class ExtractSettings(_Strict):
    """Where article pages are extracted (and their story features computed)."""

    processes: Annotated[int, Field(ge=0, le=64)] | None = Field(
        default=None,
        description="Worker processes that extract pages and compute their story features, "
        "each loading trafilatura and the encoder once; 0 = in the collecting process. "
        "Default: one per CPU core, at most 4.",
    )
    timeout: PositiveFloat = Field(
        default=60.0,
        description="Seconds one page may take in a worker process; then the worker is "
        "stopped and the article recorded as failed (retried in a later run).",
    )
    start_after_pages: Annotated[int, Field(ge=0)] = Field(
        default=32,
        description="Pages a cycle extracts in its own process before it starts the worker "
        "processes: each worker loads the encoder anew (seconds of CPU), which a few new "
        "articles do not repay; 0 = every page in a worker process.",
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
    same_story_threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None,
        description="Probability (0-1) from which an article joins an existing story; "
        "null = the threshold fitted with the model (pipeline/stories/model.py).",
    )
    story_window_days: PositiveInt = Field(
        default=7,
        description="Articles further apart than this many days are never one story: "
        "candidates are looked up and scored within this window.",
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
    encoder: Literal["use", "use+e5", "e5"] = Field(
        default="use+e5",
        description="Sentence encoder of the same-story layer: use (fast), e5 (better, "
        "~13x slower), use+e5 (USE decides, e5 only where it is unsure). Vectors are stored "
        "per encoder; switching embeds stored articles on demand when they are compared.",
    )
    layers: list[Literal["url", "exact", "near_copy", "same_story"]] = Field(
        default_factory=lambda: ["url", "exact", "near_copy", "same_story"],
        description="Active layers of the story engine (tried cheapest first).",
    )

    @field_validator("layers")
    @classmethod
    def _layers_unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each layer may be named once")
        return value


class AirflowSettings(_Strict):
    """How the news_ingest DAG splits the feeds into Airflow tasks."""

    feeds_per_task: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=DEFAULT_FEEDS_PER_TASK,
        description="Feeds one collect_shard task fetches (concurrently, feeds of one host "
        "kept together): fewer, bigger tasks pay Airflow's per-task start-up less often; "
        "smaller ones spread over more workers. 10,000 feeds / 200 = 50 mapped tasks.",
    )


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
        default=DEFAULT_SCHEDULE,
        description="Airflow schedule of the news_ingest DAG (cron or preset); null = manual only.",
    )
    airflow: AirflowSettings = Field(
        default=AirflowSettings(), description="How the news_ingest DAG shards the feeds."
    )
    fetch: FetchSettings = Field(
        default=FetchSettings(), description="HTTP timeouts, size caps, retries, politeness."
    )
    dedup: DedupSettings = Field(
        default=DedupSettings(), description="Thresholds of the story engine."
    )
    extract: ExtractSettings = Field(
        default=ExtractSettings(), description="Worker processes for extraction."
    )
    feeds: list[Feed] = Field(
        default_factory=list, description="The feeds to poll; names and URLs must be unique."
    )

    @field_validator("allow_private_hosts")
    @classmethod
    def _hosts_are_hosts(cls, value: list[str]) -> list[str]:
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


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """(host, port) of an `allow_private_hosts` entry: a name or IP, optionally with :port
    ('intranet.example', 'intranet.example:8080', '10.1.2.3', '[fd00::1]:443')."""
    text = entry.strip().lower()
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a host or host:port: {entry!r} ({exc})") from None
    if (
        not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or any(c.isspace() or not c.isprintable() for c in text)
    ):
        raise ValueError(f"must be a host name or IP, optionally with :port (got {entry!r})")
    return parts.hostname, port
