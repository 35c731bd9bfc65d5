"""`news-ingest feeds add|check|validate|schema`: the real CLI against a real local web site."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

from cli_runner import Run, news_ingest
from conftest import TEST_FETCH_SETTINGS, run_cli, write_config
from feedsite import ARTICLES, home_page, publish_atom, publish_rss, rss_link
from newssite import NewsSite
from pytest_httpserver import HTTPServer

from pipeline.config import load_config

REPO = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = REPO / "config" / "feeds.yaml"
SCHEMA_FILE = REPO / "config" / "feeds.schema.json"

NEWEST = max(article.published for article in ARTICLES).astimezone(UTC)


def news_ingest_process(*args: str) -> Run:
    """The CLI as editors run it: `python -m pipeline` in a separate process."""
    result = run_cli(*args, check=False, timeout=120)
    return Run(result.returncode, result.stdout, result.stderr)


def commented_config(tmp_path: Path) -> Path:
    """The shipped config, with comments, allowed to reach 127.0.0.1, plus a `fetch:` section
    after `feeds:` introduced by its own comment (the new entry must go above that)."""
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    text = text.replace("allow_private_networks: false", "allow_private_networks: true")
    settings = "".join(f"  {key}: {value}\n" for key, value in TEST_FETCH_SETTINGS.items())
    text += f"\n# Small timeouts: the test site is local.\nfetch:\n{settings}"
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def is_subsequence(old: list[str], new: list[str]) -> bool:
    remaining = iter(new)
    return all(line in remaining for line in old)


def table_row(output: str, feed: str) -> list[str]:
    """The cells of one feed's row in a rich table."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃]", line)[1:-1]]
        if cells and cells[0] == feed:
            return cells
    raise AssertionError(f"no row for {feed!r} in:\n{output}")


# --- feeds add --------------------------------------------------------------------------------


def test_add_finds_linked_rss_and_keeps_every_line(
    tmp_path: Path, httpserver_ipv4: HTTPServer
) -> None:
    site = NewsSite(httpserver_ipv4)
    feed_url = publish_rss(site, "/static/xml/weltblick-ticker.rss")
    comments_url = publish_rss(site, "/comments/feed.rss")
    page_url = site.add_page(
        "/", home_page(rss_link(comments_url, "Kommentare"), rss_link(feed_url, "Alle Meldungen"))
    )
    config = commented_config(tmp_path)
    before = config.read_text(encoding="utf-8").splitlines()

    result = news_ingest_process("feeds", "add", page_url, "--config", str(config))

    assert result.returncode == 0, result.stderr
    after = config.read_text(encoding="utf-8").splitlines()
    assert is_subsequence(before, after)
    new_entry = ["  - name: 127.0.0.1", f"    url: {feed_url}", "    language: de"]
    assert len(after) == len(before) + len(new_entry)
    # right after the last feed, above the comment that introduces `fetch:`
    last_feed = before.index("  - name: nyt-world")
    assert after[last_feed + 3 : last_feed + 6] == new_entry
    assert after[last_feed + 6 :] == before[last_feed + 3 :]
    feed = load_config(config).feeds[-1]
    assert (feed.name, feed.url, feed.language, feed.enabled) == ("127.0.0.1", feed_url, "de", True)
    assert f'found {feed_url}: "Weltblick", 3 entries, newest {NEWEST:%Y-%m-%d %H:%M} UTC' in (
        result.stdout
    )
    assert f"linked from {page_url}" in result.stdout
    assert f"added feed '127.0.0.1' to {config}:{last_feed + 4}:" in result.stdout
    assert site.requests_to("/comments/feed.rss") == []  # trafilatura drops comment feeds


def test_add_direct_feed_url_with_name_and_language(
    tmp_path: Path, httpserver_ipv4: HTTPServer
) -> None:
    site = NewsSite(httpserver_ipv4)
    feed_url = publish_atom(site, "/nachrichten/atom.xml")
    config = write_config(tmp_path, {"other": "https://other.example/rss"})

    result = news_ingest(
        "feeds", "add", feed_url, "--name", "abendkurier", "-l", "en", "-c", str(config)
    )

    assert result.returncode == 0, result.stderr
    assert "(the URL is a feed)" in result.stdout
    feeds = load_config(config).feeds
    assert [(f.name, f.url, f.language) for f in feeds] == [
        ("other", "https://other.example/rss", None),
        ("abendkurier", feed_url, "en"),  # --language wins over the feed's xml:lang="de"
    ]
    assert len(site.request_log()) == 1  # the feed itself, no discovery


def test_add_falls_back_to_a_common_feed_path(tmp_path: Path, httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    page_url = site.add_page("/", home_page())
    feed_url = publish_rss(site, "/feed/")
    config = write_config(tmp_path, {})

    result = news_ingest("feeds", "add", page_url, "--config", str(config))

    assert result.returncode == 0, result.stderr
    assert "found at a common feed path" in result.stdout
    assert load_config(config).feeds[-1].url == feed_url


def test_add_page_without_feed_fails_and_leaves_the_file(
    tmp_path: Path, httpserver_ipv4: HTTPServer
) -> None:
    site = NewsSite(httpserver_ipv4)
    page_url = site.add_page("/", home_page(body_links='<a href="/about">About</a>'))
    config = commented_config(tmp_path)
    before = config.read_bytes()

    result = news_ingest("feeds", "add", page_url, "--config", str(config))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error no feed found on {page_url} (the page links no feed); tried:",
        *(
            f"  {site.url(path)}: HTTP 404 Not Found"
            for path in ("/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
        ),
    ]
    assert config.read_bytes() == before


def test_add_linked_html_is_not_a_feed(tmp_path: Path, httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    fake = site.add_page("/rss-uebersicht.html", home_page())
    page_url = site.add_page("/", home_page(rss_link(fake)))
    config = write_config(tmp_path, {})

    result = news_ingest("feeds", "add", page_url, "--config", str(config))

    assert result.returncode == 1
    assert f"tried:\n  {fake}: not a readable feed: " in result.stderr
    assert "(served as text/html)\n" in result.stderr
    assert load_config(config).feeds == []


def test_add_refuses_a_configured_url(tmp_path: Path, httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    feed_url = publish_rss(site, "/welt/feed.rss")
    page_url = site.add_page("/", home_page(rss_link("/welt/feed.rss")))
    config = write_config(tmp_path, {"weltblick": feed_url})
    before = config.read_bytes()

    via_page = news_ingest("feeds", "add", page_url, "--config", str(config))
    assert via_page.returncode == 1
    assert f"{feed_url} is already configured as feed 'weltblick'" in via_page.stderr
    requests = len(site.request_log())

    # The feed URL itself (here with https and a trailing slash) is refused before any request.
    again = feed_url.replace("http://", "https://") + "/"
    direct = news_ingest("feeds", "add", again, "--config", str(config))
    assert direct.returncode == 1
    assert f"already configured as {feed_url} as feed 'weltblick'" in direct.stderr
    assert len(site.request_log()) == requests
    assert config.read_bytes() == before


def test_add_assumes_https_for_a_bare_host(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"welt": "https://www.welt.de/feeds/latest.rss"})
    result = news_ingest("feeds", "add", "www.welt.de/feeds/latest.rss", "-c", str(config))
    assert result.returncode == 1
    assert result.stderr == (
        "error https://www.welt.de/feeds/latest.rss is already configured as feed 'welt'\n"
    )


def test_add_refuses_a_taken_or_invalid_name(tmp_path: Path, httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    feed_url = publish_rss(site, "/feed.rss")
    config = write_config(tmp_path, {"welt": "https://welt.example/rss"})

    taken = news_ingest("feeds", "add", feed_url, "--name", "welt", "--config", str(config))
    assert taken.returncode == 1
    assert "a feed named 'welt' already exists" in taken.stderr

    invalid = news_ingest("feeds", "add", feed_url, "--name", "Welt Blick", "-c", str(config))
    assert invalid.returncode == 2  # a usage error
    assert "--name" in invalid.stderr
    assert "lowercase letters" in invalid.stderr

    language = news_ingest("feeds", "add", feed_url, "--language", "deu", "-c", str(config))
    assert language.returncode == 2
    assert "--language" in language.stderr
    assert site.request_log() == []


def test_add_dry_run_prints_the_entry_only(tmp_path: Path, httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    feed_url = publish_rss(site, "/feed.rss")
    page_url = site.add_page("/", home_page(rss_link(feed_url)))
    config = write_config(tmp_path, {"127.0.0.1": "https://elsewhere.example/rss"})
    before = config.read_bytes()

    result = news_ingest("feeds", "add", page_url, "--dry-run", "--config", str(config))

    assert result.returncode == 0, result.stderr
    assert "dry run, nothing written" in result.stdout
    # the host's name is taken: the default gets a suffix
    assert "- name: 127.0.0.1-2\n" in result.stdout
    assert f"  url: {feed_url}\n" in result.stdout
    assert config.read_bytes() == before


def test_add_honours_allow_private_networks(tmp_path: Path, httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    feed_url = publish_rss(site, "/feed.rss")
    config = write_config(tmp_path, {}, allow_private_networks=False)

    result = news_ingest("feeds", "add", feed_url, "--config", str(config))

    assert result.returncode == 1
    assert "refused" in result.stderr
    assert site.request_log() == []


# --- feeds check ------------------------------------------------------------------------------


def test_check_prints_a_row_per_feed_and_fails_on_broken_ones(
    tmp_path: Path, httpserver_ipv4: HTTPServer
) -> None:
    site = NewsSite(httpserver_ipv4)
    feeds = {
        "good": publish_rss(site, "/feed.rss"),
        "gone": site.url("/missing.rss"),
        "page": site.add_page("/index.html", home_page()),
    }
    config = write_config(tmp_path, feeds)

    result = news_ingest_process("feeds", "check", "--config", str(config))

    assert result.returncode == 1, result.stdout + result.stderr
    _, status, entries, last, ms, error = table_row(result.stdout, "good")
    assert (status, entries, last, error) == ("200", "3", f"{NEWEST:%Y-%m-%d %H:%M} UTC", "")
    assert int(ms) >= 0
    assert table_row(result.stdout, "gone")[1:4] == ["404", "", ""]
    assert table_row(result.stdout, "gone")[5] == "HTTP 404 Not Found"
    assert table_row(result.stdout, "page")[1:3] == ["200", ""]
    assert table_row(result.stdout, "page")[5].startswith("not a ")
    assert "3 feeds checked: 1 ok, 2 failed" in result.stdout
    assert "WARNING" not in result.stderr  # the table reports each failure; no log lines too


def test_check_passes_when_every_feed_is_good(tmp_path: Path, httpserver_ipv4: HTTPServer) -> None:
    site = NewsSite(httpserver_ipv4)
    feeds = {"rss": publish_rss(site, "/feed.rss"), "atom": publish_atom(site, "/atom.xml")}
    config = write_config(tmp_path, {**feeds, "off": site.url("/missing.rss")})
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("/missing.rss\n", "/missing.rss\n  enabled: false\n"))

    result = news_ingest("feeds", "check", "--config", str(config))

    assert result.returncode == 0, result.stdout + result.stderr
    assert table_row(result.stdout, "atom")[1:3] == ["200", "3"]
    assert "off" not in result.stdout.split()  # disabled feeds are not checked
    assert "2 feeds checked: 2 ok, 0 failed" in result.stdout
    assert site.requests_to("/missing.rss") == []

    named = news_ingest("feeds", "check", "off", "--config", str(config))  # disabled, by name
    assert named.returncode == 1
    assert table_row(named.stdout, "off")[1] == "404"
    unknown = news_ingest("feeds", "check", "nope", "--config", str(config))
    assert unknown.returncode == 2
    assert "no such feed: nope" in unknown.stderr


# --- feeds validate ---------------------------------------------------------------------------


def test_validate_prints_every_problem_with_line_and_feed(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "# editors' file\n"
        "allow_private_networks: false\n"
        "fetch:\n"
        "  concurency: 4\n"
        "feeds:\n"
        "  - name: tagesschau\n"
        "    url: https://www.tagesschau.de/index~rss2.xml\n"
        "    langauge: de\n"
        "  - name: tagesschau\n"
        "    url: ftp://www.tagesschau.de/feed\n"
        "  - name: spiegel\n"
        "    url: https://www.spiegel.de/schlagzeilen/index.rss\n"
        "    language: German\n",
        encoding="utf-8",
    )

    result = news_ingest("feeds", "validate", "--config", str(config))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{config}:4: fetch.concurency: unknown key (did you mean 'concurrency'? "
        "see config/feeds.schema.json)",
        f"{config}:8: feed 'tagesschau': langauge: unknown key (did you mean 'language'? "
        "see config/feeds.schema.json)",
        f"{config}:9: feed 'tagesschau': name: already used on line 6",
        f"{config}:10: feed 'tagesschau': url: must be an http:// or https:// URL "
        "(got 'ftp://www.tagesschau.de/feed')",
        f"{config}:13: feed 'spiegel': language: must be a two-letter ISO 639-1 code "
        "such as 'de' or 'en' (got 'German')",
    ]
    assert f"{config}: 5 problems" in result.stderr


def test_validate_reports_yaml_syntax_errors_with_their_line(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - name: a\n    url: [unclosed\n  - name: b\n", encoding="utf-8")

    result = news_ingest("feeds", "validate", "--config", str(config))

    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert re.match(rf"{re.escape(str(config))}:\d+: not valid YAML: ", line)


def test_validate_ok(tmp_path: Path) -> None:
    result = news_ingest("feeds", "validate", "--config", str(SHIPPED_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK, 15 feeds (15 enabled)" in result.stdout


# --- feeds schema -----------------------------------------------------------------------------


def test_schema_command_prints_the_committed_schema() -> None:
    result = news_ingest_process("feeds", "schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8")


def test_schema_command_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    result = news_ingest("feeds", "schema", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") == SCHEMA_FILE.read_text(encoding="utf-8")
