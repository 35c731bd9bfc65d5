"""pipeline.extract.decode: page bytes to text with the HTTP charset when it fits, browser
rules (WHATWG labels, damaged UTF-8) where servers lie, else the bytes for sniffing."""

from __future__ import annotations

import pytest

from pipeline.extract import decode_html


def test_decode_html_uses_header_charset_only_when_it_fits() -> None:
    latin = "<p>Grüße</p>".encode("iso-8859-1")
    assert decode_html(latin, "iso-8859-1") == "<p>Grüße</p>"
    # Declared utf-8 but bytes are latin-1: leave the bytes to trafilatura's sniffing.
    assert decode_html(latin, "utf-8") == latin
    assert decode_html(latin, "no-such-charset") == latin


TYPOGRAPHY = "Preis: 5 € – „Wir“ sagen’s"


@pytest.mark.parametrize("label", ["ISO-8859-1", "latin1", "US-ASCII", " windows-1252 "])
def test_latin1_labels_decode_as_windows_1252_as_browsers_do(label: str) -> None:
    """Pages labelled ISO-8859-1 are very often windows-1252; real Latin-1 would turn „ “ – €
    into control characters that cleaning then drops."""
    assert decode_html(TYPOGRAPHY.encode("cp1252"), label) == TYPOGRAPHY


def test_utf8_with_a_few_broken_bytes_is_decoded_with_replacement_characters() -> None:
    text = "Grüße aus Köln, schöne Straße, über Äpfel und Öl. " * 3
    damaged = text.encode()[:10] + b"\xff" + text.encode()[10:]
    decoded = decode_html(damaged, None)
    assert isinstance(decoded, str)
    assert decoded.replace("\ufffd", "", 1) == text  # one U+FFFD, every umlaut intact


def test_a_legacy_page_without_a_charset_is_left_to_sniffing() -> None:
    latin = "<p>Grüße</p>".encode("iso-8859-1")
    assert decode_html(latin, None) == latin


def test_an_undeclared_utf8_page_stays_bytes_for_trafilatura() -> None:
    """Valid UTF-8 needs no help: trafilatura reads its <meta charset> itself."""
    page = '<meta charset="utf-8"><p>Grüße</p>'.encode()
    assert decode_html(page, None) == page
