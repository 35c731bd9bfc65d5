"""Feeds: RSS/Atom documents to article entries, and finding a site's feed.

Owns parsing a fetched feed document into `FeedEntry` values (`parse`), fetching and
parsing one feed the same way for the pipeline and the editors' commands (`fetch`), and
feed discovery for `feeds add` (`discover`). Fetches only through `pipeline.http`; knows
no database.
"""

from .parse import FeedEntry, FeedParseError, ParsedFeed, SkippedEntry, parse_feed

__all__ = ["FeedEntry", "FeedParseError", "ParsedFeed", "SkippedEntry", "parse_feed"]
