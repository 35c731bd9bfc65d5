"""Configuration: what editors write in config/feeds.yaml, validated.

Owns the pydantic model of the file (feeds, `fetch:`, `dedup:`, `airflow:`, schedule, network
allowances), reading it with line numbers, errors that name file, line, feed and field, and
the comment-preserving edits of `feeds add`. Must not touch the network or the database:
every other package imports this one, and this one imports none of them.
"""

from .load import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    ConfigError,
    ConfigProblem,
    load_config,
    parse_config,
    read_yaml,
    resolve_config_path,
)
from .model import (
    DEFAULT_FEEDS_PER_TASK,
    DEFAULT_SCHEDULE,
    AirflowSettings,
    Config,
    DedupSettings,
    ExtractSettings,
    Feed,
    FetchSettings,
    parse_host_entry,
    validate_http_url,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_FEEDS_PER_TASK",
    "DEFAULT_SCHEDULE",
    "AirflowSettings",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "DedupSettings",
    "ExtractSettings",
    "Feed",
    "FetchSettings",
    "load_config",
    "parse_config",
    "parse_host_entry",
    "read_yaml",
    "resolve_config_path",
    "validate_http_url",
]
