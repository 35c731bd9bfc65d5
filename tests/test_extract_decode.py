"""pipeline.extract.decode: page bytes to text with the HTTP charset when it fits, browser
rules (WHATWG labels, damaged UTF-8) where servers lie, else the bytes for sniffing."""

from __future__ import annotations

from pipeline.extract import decode_html


def test_decode_html_uses_header_charset_only_when_it_fits() -> None:
    latin = "<p>Grüße</p>".encode("iso-8859-1")
    assert decode_html(latin, "iso-8859-1") == "<p>Grüße</p>"
    # Declared utf-8 but bytes are latin-1: leave the bytes to trafilatura's sniffing.
    assert decode_html(latin, "utf-8") == latin
    assert decode_html(latin, "no-such-charset") == latin
