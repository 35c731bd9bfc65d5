"""The hostile web of the reliability suite: every case of cases.HOSTILE_RUN served at its own
path, beside the well-behaved test site of tests/newssite.py.

Two servers on 127.0.0.1 carry everything: a threaded werkzeug server (pytest-httpserver) for
well-formed HTTP, however hostile its content, and one raw-socket server (tests/hostile_http.py)
for what werkzeug cannot do: reset a connection, never answer, drip bytes. Each installer
below registers one case's feed (and pages) and names the URLs the test asserts on.
"""

from __future__ import annotations

import html
import json
import random
import re
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hostile_http import RawServer, closed_port, read_request
from newssite import NewsSite, SiteMap, build_seed_site
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

RSS_TYPE = "application/rss+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
ROBOTS = "User-agent: *\nDisallow: /private/\n"

# Sentences whose characters must survive each encoding case.
UMLAUT_SENTENCE = "Die Bürgermeisterin überbrachte Grüße an die Gäste aus Köln und Düsseldorf."
QUOTE_SENTENCE = "„Wir zahlen höchstens 5 € pro Person“, sagte der Händler – und blieb dabei."


# --- realistic text -------------------------------------------------------------------------

_SUBJECTS = (
    "Der Stadtrat",
    "Die Landesregierung",
    "Ein Sprecher der Polizei",
    "Die Gewerkschaft",
    "Der Verkehrsverbund",
    "Die Bürgerinitiative",
    "Das Umweltamt",
    "Der Kreistag",
    "Eine Sprecherin des Klinikums",
    "Der Vorstand des Vereins",
    "Die Feuerwehr",
    "Das Ministerium",
)
_VERBS = (
    "kündigte an",
    "bestätigte",
    "kritisierte",
    "verteidigte",
    "prüft derzeit",
    "lehnte ab",
    "begrüßte",
    "forderte",
    "verschob",
    "beschloss",
)
_OBJECTS = (
    "den Ausbau der Radwege",
    "die neue Gebührenordnung",
    "den Haushaltsentwurf für das kommende Jahr",
    "die Sanierung der Brücke",
    "eine Ausweitung der Kontrollen",
    "die Schließung der Filiale",
    "den Bau einer zweiten Sporthalle",
    "zusätzliche Stellen in der Pflege",
    "den Fahrplanwechsel",
    "die Öffnungszeiten der Bibliothek",
    "ein Förderprogramm für Solaranlagen",
    "die Verlegung des Wochenmarkts",
)
_TAILS = (
    "nach einer langen Sitzung am Abend.",
    "mit Verweis auf gestiegene Kosten.",
    "trotz heftiger Proteste von Anwohnern.",
    "in einer schriftlichen Stellungnahme.",
    "nach Gesprächen mit den Fraktionen.",
    "ohne einen genauen Zeitplan zu nennen.",
    "und verwies auf ein externes Gutachten.",
    "auf Nachfrage unserer Redaktion.",
    "nach monatelangen Verhandlungen.",
    "vor dem Hintergrund knapper Kassen.",
)


def prose(key: str, paragraphs: int = 3, sentences: int = 5) -> list[str]:
    """German news-like paragraphs, deterministic per key and different between keys."""
    rng = random.Random(key)
    result = []
    for _ in range(paragraphs):
        parts = []
        for _ in range(sentences):
            parts.append(
                f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} "
                f"{rng.choice(_TAILS)} Betroffen sind nach Angaben der Stadt rund "
                f"{rng.randint(120, 98000)} Menschen im Ortsteil {key.title()[:24]}."
            )
        result.append(" ".join(parts))
    return result


def page(title: str, paragraphs: list[str], *, head: str = "", lang: str = "de") -> str:
    """An article page with ordinary chrome; no date and no meta description, so what a feed
    says about date and summary is what gets stored."""
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (
        f'<!doctype html>\n<html lang="{lang}"><head>{head}<title>{title}</title></head>\n'
        '<body><header><nav><a href="/">Start</a> <a href="/politik">Politik</a> '
        '<a href="/sport">Sport</a></nav></header>\n'
        f"<main><article><h1>{title}</h1>\n{body}</article></main>\n"
        "<footer><p>Testzeitung · Impressum · Datenschutz</p></footer></body></html>\n"
    )


# --- feed documents -------------------------------------------------------------------------


def item(
    link: str | None,
    title: str = "Meldung",
    *,
    guid: str | None = None,
    date: str | None = None,
    description: str | None = None,
    raw: bool = False,
) -> str:
    """One RSS item; `raw` keeps title/description unescaped (for malformed-XML cases)."""
    esc: Callable[[str], str] = (lambda s: s) if raw else html.escape
    parts = [f"<title>{esc(title)}</title>"]
    if link is not None:
        parts.append(f"<link>{esc(link) if not raw else link}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{html.escape(guid)}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    if description is not None:
        parts.append(f"<description>{esc(description)}</description>")
    return "<item>" + "".join(parts) + "</item>"


def rss(items: list[str], *, title: str = "Testfeed", prolog: str | None = None) -> str:
    prolog = prolog if prolog is not None else '<?xml version="1.0" encoding="UTF-8"?>'
    return (
        f'{prolog}\n<rss version="2.0"><channel><title>{title}</title>'
        "<link>http://example.invalid/</link><description>Test</description>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )


# --- the site -------------------------------------------------------------------------------


@dataclass
class HostileWeb:
    """Everything the hostile run fetches; `feeds` is the config's name → URL."""

    server: HTTPServer
    raw: RawServer
    site: NewsSite = field(init=False)
    seed: SiteMap = field(init=False)
    feeds: dict[str, str] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # case id → the hostile article URL
    hits: Counter[str] = field(default_factory=Counter)
    # servers of their own for cases about one origin (robots.txt is per origin) or site
    origins: list[HTTPServer] = field(default_factory=list)
    named: dict[tuple[str, str], str] = field(default_factory=dict)  # (case, name) → URL
    feed_options: dict[str, dict[str, object]] = field(default_factory=dict)  # config keys
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.site = NewsSite(self.server)
        self.seed = build_seed_site(self.site)
        self.feeds.update(self.seed.feeds)
        self.serve("/robots.txt", ROBOTS, content_type="text/plain")

    @property
    def port(self) -> int:
        return int(self.server.port)

    @property
    def hosts(self) -> list[str]:
        """Every test server as `127.0.0.1:<port>`, for `allow_private_hosts`."""
        ports = [self.port, self.raw.port, *(int(origin.port) for origin in self.origins)]
        return [f"127.0.0.1:{port}" for port in ports]

    def origin(self, robots: Callable[[Request], Response] | None = None) -> HTTPServer:
        """A server of its own (another site to the fetcher), whose robots.txt requests
        `robots` answers (default: the site's usual rules), counted as '<port>/robots.txt'."""
        server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        server.start()
        self.origins.append(server)
        answer = robots or (lambda _request: Response(ROBOTS, content_type="text/plain"))

        def counted(request: Request) -> Response:
            with self._lock:
                self.hits[f"{server.port}/robots.txt"] += 1
            return answer(request)

        server.expect_request("/robots.txt").respond_with_handler(counted)
        return server

    def close_origins(self) -> None:
        for server in self.origins:
            server.clear()
            server.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(
        self,
        path: str,
        body: str | bytes,
        *,
        content_type: str = HTML_TYPE,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        response_headers = {"Content-Type": content_type, **(headers or {})}
        self.server.expect_request(path).respond_with_handler(
            lambda _request: Response(data, status=status, headers=response_headers)
        )
        return self.url(path)

    def handle(self, path: str | re.Pattern[str], handler: Callable[[Request], Response]) -> None:
        def counted(request: Request) -> Response:
            with self._lock:
                self.hits[request.path] += 1
            return handler(request)

        self.server.expect_request(path).respond_with_handler(counted)

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits[path]

    def feed(self, case_id: str, items: list[str], **kwargs: str) -> str:
        url = self.serve(f"/feeds/{case_id}.xml", rss(items, **kwargs), content_type=RSS_TYPE)
        self.feeds[case_id] = url
        return url

    def article(self, path: str, key: str | None = None) -> str:
        """A good article page at `path`, its text unique to `key` (default: the path)."""
        key = key or path
        return self.serve(path, page(f"Bericht {key}", prose(key)))

    def sibling(self, case_id: str) -> str:
        return self.article(f"/siblings/{case_id}.html", f"sibling {case_id}")

    def requested(self, fragment: str) -> bool:
        """Whether any request the werkzeug server saw had `fragment` in its path."""
        return any(fragment in request.path for request, _ in self.server.log)


Installer = Callable[[HostileWeb, str], None]
INSTALLERS: dict[str, Installer] = {}


def installs(case_id: str) -> Callable[[Installer], Installer]:
    def register(function: Installer) -> Installer:
        INSTALLERS[case_id] = function
        return function

    return register


def install_all(web: HostileWeb) -> None:
    for case_id, installer in INSTALLERS.items():
        installer(web, case_id)


def _feed_with_hostile_article(web: HostileWeb, case_id: str, url: str) -> None:
    """The article-level shape: the hostile entry first, a good sibling second."""
    web.targets[case_id] = url
    web.feed(case_id, [item(url, f"Hostile {case_id}"), item(web.sibling(case_id), "Sibling")])


def _two_articles(web: HostileWeb, case_id: str) -> list[str]:
    return [item(web.article(f"/a/{case_id}/{n}.html"), f"Artikel {n}") for n in (1, 2)]


# --- feeds ----------------------------------------------------------------------------------


@installs("feed-not-xml")
def _not_xml(web: HostileWeb, case_id: str) -> None:
    body = '{"items": [{"title": "x", "url": "/a/1"}]} <- not a feed at all'
    web.feeds[case_id] = web.serve(f"/feeds/{case_id}.xml", body, content_type=RSS_TYPE)


@installs("feed-truncated")
def _truncated(web: HostileWeb, case_id: str) -> None:
    whole = rss([*_two_articles(web, case_id), item(web.url("/a/never.html"), "Dritte")])
    cut = whole[: whole.index("<title>Dritte") + len("<title>Drit")]
    web.feeds[case_id] = web.serve(f"/feeds/{case_id}.xml", cut, content_type=RSS_TYPE)


@installs("feed-bozo-entries")
def _bozo(web: HostileWeb, case_id: str) -> None:
    one, two = (web.article(f"/a/{case_id}/{n}.html") for n in (1, 2))
    web.feed(
        case_id,
        [item(one, "Fish & Chips", raw=True), item(two, "Ende&nbsp;gut", raw=True)],
    )


@installs("feed-html-page")
def _html_page(web: HostileWeb, case_id: str) -> None:
    links = "".join(f'<li><a href="/a/{case_id}/{n}.html">Artikel {n}</a></li>' for n in (1, 2))
    home = (
        "<!DOCTYPE html><html><head><title>Startseite</title></head>"
        f"<body><h1>Willkommen</h1><ul>{links}</ul></body></html>"
    )
    web.feeds[case_id] = web.serve(f"/feeds/{case_id}.xml", home)


@installs("feed-empty")
def _empty(web: HostileWeb, case_id: str) -> None:
    web.feed(case_id, [])


@installs("feed-empty-body")
def _empty_body(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.serve(f"/feeds/{case_id}.xml", b"", content_type=RSS_TYPE)


@installs("feed-duplicate-guids")
def _duplicate_guids(web: HostileWeb, case_id: str) -> None:
    urls = [web.article(f"/a/{case_id}/{n}.html") for n in (1, 2, 3)]
    items = [item(url, f"Artikel {n}", guid="same-guid") for n, url in enumerate(urls)]
    web.feed(case_id, [*items, item(urls[0], "Noch einmal", guid="other-guid")])


@installs("feed-no-link")
def _no_link(web: HostileWeb, case_id: str) -> None:
    web.feed(case_id, [item(None, "Ohne Link", guid="no-link-1"), item(web.sibling(case_id))])


@installs("feed-relative-links")
def _relative(web: HostileWeb, case_id: str) -> None:
    web.article(f"/relative/{case_id}/1.html")
    web.article(f"/relative/{case_id}/2.html")
    # The feed is /feeds/<id>.xml, so ../relative/... resolves to /relative/...
    web.feed(
        case_id,
        [item(f"/relative/{case_id}/1.html", "Eins"), item(f"../relative/{case_id}/2.html")],
    )


@installs("feed-unsafe-schemes")
def _unsafe_schemes(web: HostileWeb, case_id: str) -> None:
    web.feed(
        case_id,
        [
            item("javascript:alert(document.cookie)", "JS"),
            item("data:text/html;base64,PGgxPmhpPC9oMT4=", "Data"),
            item("file:///etc/passwd", "File"),
            item(web.sibling(case_id)),
        ],
    )


@installs("feed-absurd-dates")
def _absurd_dates(web: HostileWeb, case_id: str) -> None:
    dates = ["Thu, 01 Jan 1970 00:00:00 GMT", "Tue, 31 Dec 2999 23:59:59 GMT", "not a date", None]
    web.feed(
        case_id,
        [
            item(web.article(f"/a/{case_id}/{n}.html"), f"Datum {n}", date=date)
            for n, date in enumerate(dates)
        ],
    )


@installs("feed-date-offset-9999")
def _date_9999(web: HostileWeb, case_id: str) -> None:
    hostile = web.article(f"/a/{case_id}/1.html")
    web.feed(
        case_id,
        [
            item(hostile, "Datum", date="Tue, 10 Jun 2025 12:00:00 +9999"),
            item(web.sibling(case_id)),
        ],
    )


@installs("feed-date-impossible-fields")
def _date_fields(web: HostileWeb, case_id: str) -> None:
    dates = [
        "Tue, 10 Jun 2025 12:00:00 -2500",
        "2025-06-10T12:00:00+25:00",
        "2025-13-10T12:00:00Z",
        "Mon, 31 Feb 2025 12:00:00 GMT",
    ]
    web.feed(
        case_id,
        [
            item(web.article(f"/a/{case_id}/{n}.html"), f"Datum {n}", date=date)
            for n, date in enumerate(dates)
        ],
    )


TEN_K = 10_000


@installs("feed-10k-entries")
def _ten_thousand(web: HostileWeb, case_id: str) -> None:
    items = [f"<item><link>{web.url(f'/k/{n}.html')}</link></item>" for n in range(TEN_K)]
    web.feed(case_id, items)

    def article(request: Request) -> Response:
        key = request.path.rsplit("/", 1)[-1]
        return Response(page(f"Meldung {key}", prose(f"k{key}")), content_type=HTML_TYPE)

    web.handle(re.compile(r"^/k/\d+\.html$"), article)


_LAUGHS = "".join(
    f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
).replace("&lol0;", "lol")


@installs("feed-billion-laughs")
def _billion_laughs(web: HostileWeb, case_id: str) -> None:
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE rss [{_LAUGHS}]>'
    one, two = (web.article(f"/a/{case_id}/{n}.html") for n in (1, 2))
    web.feed(case_id, [item(one, "&lol9;", raw=True), item(two)], prolog=prolog, title="&lol9;")


@installs("feed-xxe")
def _xxe(web: HostileWeb, case_id: str) -> None:
    prolog = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss ['
        '<!ENTITY file SYSTEM "file:///etc/passwd">'
        f'<!ENTITY probe SYSTEM "{web.url("/xxe-probe")}">]>'
    )
    one, two = (web.article(f"/a/{case_id}/{n}.html") for n in (1, 2))
    web.feed(
        case_id,
        [
            item(one, "A &file; B", raw=True, description="&file;"),
            item(two, "&probe;", raw=True),
        ],
        prolog=prolog,
    )


@installs("feed-charref-surrogate")
def _charref_surrogate(web: HostileWeb, case_id: str) -> None:
    hostile = web.article(f"/a/{case_id}/1.html")
    web.feed(case_id, [item(hostile, "Gipfel &#xD800; Ende", raw=True), item(web.sibling(case_id))])


@installs("feed-charref-out-of-range")
def _charref_range(web: HostileWeb, case_id: str) -> None:
    one, two = (web.article(f"/a/{case_id}/{n}.html") for n in (1, 2))
    web.feed(
        case_id,
        [
            item(one, "Jenseits &#x110000; von Unicode", raw=True),
            item(two, "Zwanzig Ziffern", description="&#12345678901234567890;", raw=True),
            item(web.sibling(case_id)),
        ],
    )


@installs("feed-charref-utf16")
def _charref_utf16(web: HostileWeb, case_id: str) -> None:
    hostile = web.article(f"/a/{case_id}/1.html")
    items = [item(hostile, "Sechzehn &#xDFFF; Bit&#1;", raw=True), item(web.sibling(case_id))]
    document = rss(items, prolog='<?xml version="1.0" encoding="UTF-16"?>')
    body = document.encode("utf-16")
    url = web.serve(f"/feeds/{case_id}.xml", body, content_type="application/rss+xml")
    web.feeds[case_id] = url


# --- encodings ------------------------------------------------------------------------------


def _encoded_page(key: str, sentence: str, *, meta: str = "") -> str:
    paragraphs = prose(key)
    paragraphs.insert(1, sentence)
    return page(f"Grüße {key}", paragraphs, head=meta)


def _encoding_case(web: HostileWeb, case_id: str, body: bytes, content_type: str) -> None:
    url = web.serve(f"/enc/{case_id}.html", body, content_type=content_type)
    _feed_with_hostile_article(web, case_id, url)


@installs("enc-latin1-declared")
def _latin1_declared(web: HostileWeb, case_id: str) -> None:
    body = _encoded_page(case_id, UMLAUT_SENTENCE).encode("latin-1")
    _encoding_case(web, case_id, body, "text/html; charset=ISO-8859-1")


@installs("enc-latin1-undeclared")
def _latin1_undeclared(web: HostileWeb, case_id: str) -> None:
    body = _encoded_page(case_id, UMLAUT_SENTENCE).encode("latin-1")
    _encoding_case(web, case_id, body, "text/html")


@installs("enc-latin1-declared-utf8")
def _latin1_as_utf8(web: HostileWeb, case_id: str) -> None:
    meta = '<meta charset="utf-8">'
    body = _encoded_page(case_id, UMLAUT_SENTENCE, meta=meta).encode("latin-1")
    _encoding_case(web, case_id, body, HTML_TYPE)


@installs("enc-cp1252-undeclared")
def _cp1252_undeclared(web: HostileWeb, case_id: str) -> None:
    body = _encoded_page(case_id, QUOTE_SENTENCE).encode("cp1252")
    _encoding_case(web, case_id, body, "text/html")


@installs("enc-cp1252-declared-latin1")
def _cp1252_as_latin1(web: HostileWeb, case_id: str) -> None:
    body = _encoded_page(case_id, QUOTE_SENTENCE).encode("cp1252")
    _encoding_case(web, case_id, body, "text/html; charset=ISO-8859-1")


@installs("enc-cp1252-declared-utf8")
def _cp1252_as_utf8(web: HostileWeb, case_id: str) -> None:
    meta = '<meta charset="utf-8">'
    body = _encoded_page(case_id, QUOTE_SENTENCE, meta=meta).encode("cp1252")
    _encoding_case(web, case_id, body, HTML_TYPE)


@installs("enc-utf8-bom")
def _utf8_bom(web: HostileWeb, case_id: str) -> None:
    body = b"\xef\xbb\xbf" + _encoded_page(case_id, UMLAUT_SENTENCE).encode("utf-8")
    _encoding_case(web, case_id, body, "text/html")


@installs("enc-invalid-utf8")
def _invalid_utf8(web: HostileWeb, case_id: str) -> None:
    broken = UMLAUT_SENTENCE.replace("Düsseldorf", "Düssel\udcff\udcfedorf")
    body = _encoded_page(case_id, broken).encode("utf-8", errors="surrogateescape")
    _encoding_case(web, case_id, body, HTML_TYPE)


@installs("enc-nul-in-text")
def _nul_in_text(web: HostileWeb, case_id: str) -> None:
    paragraphs = prose(case_id)
    paragraphs.insert(
        1, UMLAUT_SENTENCE.replace("Grüße", "Grü\x00ße\x00").replace(" an ", " \x00an ")
    )
    body = page("Titel\x00mit NUL", paragraphs).encode("utf-8")
    _encoding_case(web, case_id, body, HTML_TYPE)


@installs("enc-nul-in-feed")
def _nul_in_feed(web: HostileWeb, case_id: str) -> None:
    one, two = (web.article(f"/a/{case_id}/{n}.html") for n in (1, 2))
    web.feed(
        case_id,
        [
            item(one, "Titel\x00eins", description="Beschreibung\x00mit NUL"),
            item(two, "Titel\x00zwei", description="noch\x00eine"),
        ],
    )


@installs("enc-nul-in-link")
def _nul_in_link(web: HostileWeb, case_id: str) -> None:
    web.feed(
        case_id,
        [
            item(web.url("/enc/nul\x00link.html"), "NUL im Link", raw=True),
            item(web.url("/enc/ctrl\x01link.html"), "Steuerzeichen im Link", raw=True),
            item(web.sibling(case_id)),
        ],
    )


@installs("enc-feed-latin1")
def _feed_latin1(web: HostileWeb, case_id: str) -> None:
    items = [
        item(web.article(f"/a/{case_id}/{n}.html"), "Grüße", description=f"Grüße aus Köln {n}")
        for n in (1, 2)
    ]
    document = rss(items, prolog='<?xml version="1.0" encoding="ISO-8859-1"?>')
    url = web.serve(f"/feeds/{case_id}.xml", document.encode("latin-1"), content_type=RSS_TYPE)
    web.feeds[case_id] = url


# --- HTTP -----------------------------------------------------------------------------------


def _redirect(web: HostileWeb, path: str, target: str, status: int = 302) -> str:
    location = target if "://" in target else web.url(target)
    return web.serve(path, b"", status=status, headers={"Location": location})


@installs("http-redirect-chain")
def _redirect_chain(web: HostileWeb, case_id: str) -> None:
    web.serve("/http/chain/feed.xml", rss(_two_articles(web, case_id)), content_type=RSS_TYPE)
    _redirect(web, "/http/chain/2", "/http/chain/feed.xml", 307)
    _redirect(web, "/http/chain/1", "/http/chain/2", 302)
    web.feeds[case_id] = _redirect(web, "/http/chain/0", "/http/chain/1", 301)


@installs("http-redirect-loop")
def _redirect_loop(web: HostileWeb, case_id: str) -> None:
    _redirect(web, "/http/loop/b", "/http/loop/a")
    web.feeds[case_id] = _redirect(web, "/http/loop/a", "/http/loop/b")


@installs("http-too-many-redirects")
def _too_many(web: HostileWeb, case_id: str) -> None:
    for n in range(8):
        _redirect(web, f"/http/many/{n}", f"/http/many/{n + 1}")
    web.serve("/http/many/8", rss(_two_articles(web, case_id)), content_type=RSS_TYPE)
    web.feeds[case_id] = web.url("/http/many/0")


@installs("http-feed-404")
def _feed_404(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.url("/feeds/does-not-exist.xml")  # NewsSite answers 404


@installs("http-feed-500")
def _feed_500(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.serve(f"/feeds/{case_id}.xml", "Internal Server Error", status=500)


@installs("http-feed-503-retry-after")
def _feed_503(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.serve(
        f"/feeds/{case_id}.xml", "busy", status=503, headers={"Retry-After": "3600"}
    )


@installs("http-feed-503-retry-after-superscript")
def _feed_503_superscript(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.serve(
        f"/feeds/{case_id}.xml", "busy", status=503, headers={"Retry-After": "²"}
    )


@installs("http-429-retry-after-superscript")
def _429_superscript(web: HostileWeb, case_id: str) -> None:
    url = _fails_first(
        web,
        f"/busy/{case_id}.html",
        2,
        lambda: Response("slow down", status=429, headers={"Retry-After": "³"}),
    )
    _feed_with_hostile_article(web, case_id, url)


@installs("http-article-404")
def _article_404(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, web.url(f"/gone/{case_id}.html"))


@installs("http-article-410")
def _article_410(web: HostileWeb, case_id: str) -> None:
    url = web.serve(f"/gone/{case_id}.html", "Gone", status=410)
    _feed_with_hostile_article(web, case_id, url)


def _fails_first(web: HostileWeb, path: str, failures: int, failure: Callable[[], Response]) -> str:
    """A page that answers `failure()` to its first `failures` requests, then the article."""
    good = page(f"Bericht {path}", prose(path))

    def handler(request: Request) -> Response:
        if web.count(request.path) <= failures:
            return failure()
        return Response(good, content_type=HTML_TYPE)

    web.handle(path, handler)
    return web.url(path)


@installs("http-429-short-retry-after")
def _429_short(web: HostileWeb, case_id: str) -> None:
    url = _fails_first(
        web,
        f"/busy/{case_id}.html",
        1,
        lambda: Response("slow down", status=429, headers={"Retry-After": "1"}),
    )
    _feed_with_hostile_article(web, case_id, url)


@installs("http-429-long-retry-after")
def _429_long(web: HostileWeb, case_id: str) -> None:
    url = _fails_first(
        web,
        f"/busy/{case_id}.html",
        10**6,
        lambda: Response("slow down", status=429, headers={"Retry-After": "3600"}),
    )
    _feed_with_hostile_article(web, case_id, url)


@installs("http-503-then-ok")
def _503_then_ok(web: HostileWeb, case_id: str) -> None:
    # Run 1 makes two attempts (max_retries 1); both fail. Run 2's first attempt succeeds.
    url = _fails_first(web, f"/busy/{case_id}.html", 2, lambda: Response("down", status=503))
    _feed_with_hostile_article(web, case_id, url)


@installs("http-connection-reset")
def _reset(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.raw.url("/reset")


@installs("http-never-answers")
def _never_answers(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.raw.url("/hang")


@installs("http-slow-drip")
def _slow_drip(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.raw.url("/drip")


FIFTY_MB = 50 * 1024 * 1024


def _fifty_megabytes() -> Iterator[bytes]:
    chunk = b"<item>" + b"x" * (64 * 1024 - 13) + b"</item>"
    yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
    for _ in range(FIFTY_MB // len(chunk)):
        yield chunk


@installs("http-50mb-body")
def _fifty_mb(web: HostileWeb, case_id: str) -> None:
    path = f"/feeds/{case_id}.xml"
    web.handle(path, lambda _request: Response(_fifty_megabytes(), content_type=RSS_TYPE))
    web.feeds[case_id] = web.url(path)


def gzip_bomb(decoded_bytes: int = 64 * 1024 * 1024) -> bytes:
    """`decoded_bytes` of zeros as a gzip member, compressed in steps (never held decoded)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(decoded_bytes // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


@installs("http-gzip-bomb")
def _gzip_bomb(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.serve(
        f"/feeds/{case_id}.xml",
        gzip_bomb(),
        content_type=RSS_TYPE,
        headers={"Content-Encoding": "gzip"},
    )


@installs("http-wrong-content-type")
def _wrong_type(web: HostileWeb, case_id: str) -> None:
    web.feeds[case_id] = web.serve(
        f"/feeds/{case_id}.xml",
        rss(_two_articles(web, case_id)),
        content_type="application/octet-stream",
    )


# --- articles -------------------------------------------------------------------------------


@installs("art-no-text")
def _no_text(web: HostileWeb, case_id: str) -> None:
    links = "".join(f'<li><a href="/r/{n}">Rubrik {n}</a></li>' for n in range(30))
    body = (
        "<!doctype html><html><head><title>Bildergalerie</title></head><body>"
        f"<nav><ul>{links}</ul></nav>"
        + "".join(f'<img src="/img/{n}.jpg" alt="">' for n in range(20))
        + "<footer>Impressum</footer></body></html>"
    )
    _feed_with_hostile_article(web, case_id, web.serve(f"/art/{case_id}.html", body))


@installs("art-paywall-stub")
def _paywall(web: HostileWeb, case_id: str) -> None:
    teaser = (
        "Der Stadtrat hat am Abend überraschend den Haushalt gestoppt. Was das für die "
        "geplanten Projekte bedeutet und wer jetzt verhandelt, lesen Sie"
    )
    body = page(
        "Haushalt gestoppt",
        [teaser, "Jetzt weiterlesen mit Plus: 4 Wochen für 0 €. Bereits Abonnent? Anmelden"],
    )
    _feed_with_hostile_article(web, case_id, web.serve(f"/art/{case_id}.html", body))


FIVE_MB = 5 * 1024 * 1024


@installs("art-5mb-page")
def _five_mb(web: HostileWeb, case_id: str) -> None:
    paragraphs = prose(case_id, paragraphs=3000) * 2  # 5.5 MB of HTML, cut to 5 MiB
    body = page("Sehr lang", paragraphs).encode("utf-8")[:FIVE_MB]
    assert len(body) == FIVE_MB
    _feed_with_hostile_article(web, case_id, web.serve(f"/art/{case_id}.html", body))


@installs("art-login-redirect")
def _login_redirect(web: HostileWeb, case_id: str) -> None:
    login = (
        "<!doctype html><html><head><title>Anmelden</title></head><body>"
        '<form action="/art/login" method="post"><label>E-Mail <input name="u"></label>'
        '<label>Passwort <input type="password" name="p"></label>'
        "<button>Anmelden</button></form></body></html>"
    )
    web.serve("/art/login", login)
    url = _redirect(web, f"/art/{case_id}.html", f"/art/login?next=/art/{case_id}.html")
    _feed_with_hostile_article(web, case_id, url)


@installs("art-not-html")
def _not_html(web: HostileWeb, case_id: str) -> None:
    body = page("Binär", prose(case_id))
    url = web.serve(f"/art/{case_id}.bin", body, content_type="application/octet-stream")
    _feed_with_hostile_article(web, case_id, url)


@installs("art-page-date-impossible")
def _page_date(web: HostileWeb, case_id: str) -> None:
    heads = [
        '<meta property="article:published_time" content="2025-06-10T12:00:00+99:99">',
        '<script type="application/ld+json">{"@context": "https://schema.org", "@type": '
        '"NewsArticle", "datePublished": "2025-06-10T12:00:00+9999"}</script>',
    ]
    urls = [
        web.serve(f"/art/{case_id}/{n}.html", page(f"Datum {n}", prose(f"{case_id}{n}"), head=head))
        for n, head in enumerate(heads)
    ]
    web.feed(case_id, [item(url, f"Datum {n}") for n, url in enumerate(urls)])


@installs("art-robots-disallowed")
def _robots(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, web.article(f"/private/{case_id}.html"))


def _serve_on(server: HTTPServer, path: str, key: str, html: str | None = None) -> str:
    """An article page at `path` of another site (a good one for `key` unless `html`)."""
    body = html or page(f"Bericht {key}", prose(key))
    server.expect_request(path).respond_with_data(body, content_type=HTML_TYPE)
    return str(server.url_for(path))


def _robots_case(web: HostileWeb, case_id: str, robots: Callable[[Request], Response]) -> None:
    """Two articles on an origin whose robots.txt `robots` answers (the first is the target),
    and a good sibling on the main server."""
    origin = web.origin(robots)
    first, second = (_serve_on(origin, f"/a/{case_id}/{n}.html", f"{case_id}{n}") for n in (1, 2))
    web.targets[case_id] = first
    web.feed(case_id, [item(first, "Eins"), item(second, "Zwei"), item(web.sibling(case_id))])


def _robots_failing(failure: Callable[[], Response], times: int) -> Callable[[Request], Response]:
    """robots.txt answering `failure()` to its first `times` requests (all of run 1: one
    fetch, cached for the run), then allowing everything but /private/."""
    requests = 0

    def robots(_request: Request) -> Response:
        nonlocal requests
        requests += 1
        return failure() if requests <= times else Response(ROBOTS, content_type="text/plain")

    return robots


@installs("art-robots-503")
def _robots_503(web: HostileWeb, case_id: str) -> None:
    # Two 503s: the fetch and its one retry (max_retries 1).
    _robots_case(web, case_id, _robots_failing(lambda: Response("down", status=503), 2))


def _hang() -> Response:
    time.sleep(3.0)  # beyond the run's read_timeout (1.5 s), which is not retried
    return Response(ROBOTS, content_type="text/plain")


@installs("art-robots-timeout")
def _robots_timeout(web: HostileWeb, case_id: str) -> None:
    _robots_case(web, case_id, _robots_failing(_hang, 1))


def _robots_text(text: str) -> Callable[[Request], Response]:
    return lambda _request: Response(text, content_type="text/plain")


@installs("art-robots-crawl-delay-superscript")
def _robots_superscript(web: HostileWeb, case_id: str) -> None:
    _robots_case(web, case_id, _robots_text("User-agent: *\nCrawl-delay: ²\nDisallow: /p/\n"))


@installs("art-robots-request-rate-superscript")
def _robots_rate(web: HostileWeb, case_id: str) -> None:
    _robots_case(web, case_id, _robots_text("User-agent: *\nRequest-rate: 1/³\n"))


# --- rel=canonical ----------------------------------------------------------------------------

SPAM = [
    "Buy cheap watches now and save up to ninety percent on luxury brands that everyone "
    "wants to wear this season.",
    "Our online shop ships replica watches worldwide within three days, and every order over "
    "fifty dollars comes with a free leather strap and a gift box.",
    "Limited offer: enter the code SUMMER at checkout and get a second watch for free, while "
    "stocks last and only for new customers who register today.",
]
SUMMIT = [
    "Leaders of more than forty countries met on Tuesday at a summit on climate in Lisbon to "
    "agree on new targets for cutting emissions before the end of the decade.",
    "The host, Portugal's prime minister, said the talks had been difficult but that every "
    "delegation had accepted a common timetable for phasing out coal power plants.",
    "Environmental groups welcomed the agreement as a step forward but warned that the money "
    "promised to poorer countries was still far below what they had asked for.",
]
EARLY, LATE = "Mon, 01 Jun 2026 08:00:00 GMT", "Mon, 01 Jun 2026 10:00:00 GMT"


def _canonical_page(title: str, paragraphs: list[str], canonical: str) -> str:
    return page(title, paragraphs, head=f'<link rel="canonical" href="{canonical}">')


@installs("story-canonical-hijack")
def _canonical_hijack(web: HostileWeb, case_id: str) -> None:
    victim_site = web.origin()
    victim = _serve_on(
        victim_site, "/world/summit.html", "", page("Leaders meet at summit on climate", SUMMIT)
    )
    attacker = web.serve(
        f"/a/{case_id}/offer.html", _canonical_page("Buy cheap watches now", SPAM, victim)
    )
    web.named.update({(case_id, "victim"): victim, (case_id, "attacker"): attacker})
    web.feed(case_id, [item(attacker, "Offer", date=EARLY), item(victim, "Summit", date=LATE)])


@installs("story-canonical-same-site-other-text")
def _canonical_other_text(web: HostileWeb, case_id: str) -> None:
    original = web.article(f"/a/{case_id}/original.html", f"{case_id} original")
    claimant = web.serve(
        f"/a/{case_id}/claimant.html",
        _canonical_page("Angebot", prose(f"{case_id} claimant"), original),
    )
    web.named.update({(case_id, "original"): original, (case_id, "claimant"): claimant})
    web.feed(case_id, [item(original, "Original", date=EARLY), item(claimant, "Claim", date=LATE)])


def _syndicated(web: HostileWeb, case_id: str, rewritten: bool) -> tuple[str, str]:
    """An original on one site and a copy naming it in rel=canonical on another; the copy's
    last third rewritten, or one sentence added."""
    original_site, copy_site = web.origin(), web.origin()
    paragraphs = prose(f"{case_id} original")
    original = _serve_on(
        original_site, "/politik/original.html", "", page("Stadtrat beschließt", paragraphs)
    )
    if rewritten:
        copied = [*paragraphs[:2], *prose(f"{case_id} rewritten", paragraphs=1)]
    else:
        copied = [*paragraphs, "Mit Material der Nachrichtenagenturen."]
    copy = _serve_on(
        copy_site,
        "/partner/copy.html",
        "",
        _canonical_page("Stadtrat beschließt", copied, original),
    )
    web.named.update({(case_id, "original"): original, (case_id, "copy"): copy})
    web.feed(case_id, [item(original, "Original", date=EARLY), item(copy, "Kopie", date=LATE)])
    return original, copy


@installs("story-canonical-alias")
def _canonical_alias(web: HostileWeb, case_id: str) -> None:
    original, _copy = _syndicated(web, case_id, rewritten=True)
    web.feed_options[case_id] = {"aliases": [urlsplit(original).netloc]}


@installs("story-canonical-other-site-copy")
def _canonical_other_site(web: HostileWeb, case_id: str) -> None:
    _syndicated(web, case_id, rewritten=False)


# --- scripts written without spaces ----------------------------------------------------------

SCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "scripts"


def script_article(slug: str) -> dict[str, Any]:
    """One of the news reports in tests/fixtures/scripts (written for this suite)."""
    data: dict[str, Any] = json.loads((SCRIPTS / f"{slug}.json").read_text(encoding="utf-8"))
    return data


def _script_page(web: HostileWeb, case_id: str, slug: str, name: str = "article") -> str:
    report = script_article(slug)
    url = web.serve(
        f"/{report['language']}/{case_id}/{name}.html",
        page(report["title"], report["paragraphs"], lang=report["language"]),
    )
    web.named[(case_id, name)] = url
    return url


def _script_case(web: HostileWeb, case_id: str, slug: str) -> None:
    url = web.targets[case_id] = _script_page(web, case_id, slug)
    web.feed(case_id, [item(url, script_article(slug)["title"]), item(web.sibling(case_id))])


@installs("script-chinese-short")
def _chinese_short(web: HostileWeb, case_id: str) -> None:
    _script_case(web, case_id, "zh-hangzhou-waste-points")


@installs("script-chinese-long")
def _chinese_long(web: HostileWeb, case_id: str) -> None:
    _script_case(web, case_id, "zh-yangtze-flood-response")


@installs("script-korean")
def _korean(web: HostileWeb, case_id: str) -> None:
    _script_case(web, case_id, "ko-busan-bus-routes")


@installs("script-thai")
def _thai(web: HostileWeb, case_id: str) -> None:
    _script_case(web, case_id, "th-bangkok-bike-lanes")


@installs("script-japanese-copies")
def _japanese_copies(web: HostileWeb, case_id: str) -> None:
    report = script_article("ja-osaka-bus-fares")
    original = web.targets[case_id] = _script_page(web, case_id, "ja-osaka-bus-fares", "original")
    exact = _script_page(web, case_id, "ja-osaka-bus-fares", "exact")
    edited = web.serve(
        f"/ja/{case_id}/edited.html",
        page(
            report["title"],
            [*report["paragraphs"], "（共同通信の記事を一部編集して掲載しています）"],
            lang="ja",
        ),
    )
    web.named[(case_id, "edited")] = edited
    web.feed(
        case_id,
        [
            item(original, "原文", date=EARLY),
            item(exact, "転載", date=LATE),
            item(edited, "編集版", date=LATE),
        ],
    )


# --- SSRF -----------------------------------------------------------------------------------


@installs("ssrf-loopback-ip")
def _ssrf_loopback(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, f"http://127.0.0.1:{closed_port()}/admin")


@installs("ssrf-private-10")
def _ssrf_private(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, "http://10.0.0.1/admin")


@installs("ssrf-metadata")
def _ssrf_metadata(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, "http://169.254.169.254/latest/meta-data/")


@installs("ssrf-ipv6-loopback")
def _ssrf_ipv6(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, f"http://[::1]:{web.port}/ssrf/v6-secret")


@installs("ssrf-decimal-ip")
def _ssrf_decimal(web: HostileWeb, case_id: str) -> None:
    web.article("/ssrf/decimal-secret")
    _feed_with_hostile_article(web, case_id, f"http://2130706433:{web.port}/ssrf/decimal-secret")


@installs("ssrf-name-to-loopback")
def _ssrf_name(web: HostileWeb, case_id: str) -> None:
    web.article("/ssrf/by-name-secret")
    _feed_with_hostile_article(web, case_id, f"http://localhost:{web.port}/ssrf/by-name-secret")


@installs("ssrf-redirect-to-metadata")
def _ssrf_redirect(web: HostileWeb, case_id: str) -> None:
    url = _redirect(web, "/ssrf/redirect", "http://169.254.169.254/latest/meta-data/iam/")
    _feed_with_hostile_article(web, case_id, url)


@installs("ssrf-feed-url")
def _ssrf_feed(web: HostileWeb, case_id: str) -> None:
    web.serve("/ssrf/refused-feed.xml", rss(_two_articles(web, case_id)), content_type=RSS_TYPE)
    web.feeds[case_id] = f"http://localhost:{web.port}/ssrf/refused-feed.xml"


# --- faults -----------------------------------------------------------------------------------

FAULT_PATH = "/crash/"  # test_hostile_inputs installs a trigger that fails staging these URLs


@installs("fault-db-error-one-feed")
def _db_error(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, web.article(f"{FAULT_PATH}{case_id}.html"))


STORE_FAULT_PATH = "/quarantine/"  # ... and one that fails inserting these into articles


@installs("fault-store-error-one-article")
def _store_error(web: HostileWeb, case_id: str) -> None:
    _feed_with_hostile_article(web, case_id, web.article(f"{STORE_FAULT_PATH}{case_id}.html"))


# --- values that reach an index -----------------------------------------------------------


def _cjk(characters: int) -> str:
    """CJK ideographs that do not repeat in a pattern (PostgreSQL compresses index rows, so a
    repeated character would fit where real text does not)."""
    rng = random.Random(characters)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(characters))


@installs("index-guid-1000-cjk")
def _guid_cjk(web: HostileWeb, case_id: str) -> None:
    hostile = web.targets[case_id] = web.article(f"/a/{case_id}/1.html")
    web.feed(case_id, [item(hostile, "Lange GUID", guid=_cjk(1000)), item(web.sibling(case_id))])


def _long_link_case(web: HostileWeb, case_id: str, link: str) -> None:
    web.feed(case_id, [item(link, "Langer Link"), item(web.sibling(case_id))])


@installs("index-link-4kb")
def _link_4kb(web: HostileWeb, case_id: str) -> None:
    _long_link_case(web, case_id, web.url("/long/4kb-" + "x" * 4000 + ".html"))


@installs("index-link-100kb")
def _link_100kb(web: HostileWeb, case_id: str) -> None:
    _long_link_case(web, case_id, web.url("/long/100kb-" + "y" * 100_000 + ".html"))


@installs("index-link-cjk-path")
def _link_cjk(web: HostileWeb, case_id: str) -> None:
    _long_link_case(web, case_id, web.url("/long/cjk-" + _cjk(800) + ".html"))


@installs("index-declared-url-huge")
def _declared_huge(web: HostileWeb, case_id: str) -> None:
    path = f"/a/{case_id}/1.html"
    declared = web.url("/canonical/" + _cjk(1500))
    head = f'<link rel="canonical" href="{declared}">'
    url = web.serve(path, page(f"Bericht {case_id}", prose(case_id), head=head))
    web.targets[case_id] = url
    web.feed(case_id, [item(url, "Langer Verweis"), item(web.sibling(case_id))])


# --- the raw-socket server ------------------------------------------------------------------


def raw_dispatch(conn: socket.socket, stop: threading.Event) -> None:
    """One raw-socket server for every case werkzeug cannot produce, chosen by path."""
    request = read_request(conn)
    path = request.split(b" ", 2)[1].decode("latin-1") if request.count(b" ") >= 2 else "/"
    if path == "/reset":
        # SO_LINGER 0: close() sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif path == "/hang":
        stop.wait()
    elif path == "/drip":
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            b"Content-Length: 100000\r\n\r\n<?xml "
        )
        while not stop.wait(0.2):
            conn.sendall(b" ")
    else:
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
