"""pipeline.http.body: gzip/deflate bodies inflated piece by piece under the byte cap, against
a real local server (no mocks of httpx or the network)."""

from __future__ import annotations

import functools
import gzip
import re
import zlib
from collections.abc import Callable, Iterator

import pytest
from fetching import CAP, get
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pipeline.http import Fetcher, FetchOutcome
from pipeline.http.body import BodyError, decoded


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
)
def test_compressed_body_is_decoded(
    server: HTTPServer, fetcher: Fetcher, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = b"<p>news</p>" * 5000
    server.expect_request("/c").respond_with_data(
        compress(body), headers={"Content-Encoding": encoding}, content_type="text/html"
    )
    result = get(fetcher, server.url_for("/c"))
    assert result.ok, result.error
    assert result.content == body
    assert result.bytes_read == len(body)


def test_unsupported_content_encoding_is_an_error_not_an_exception(
    server: HTTPServer, fetcher: Fetcher
) -> None:
    server.expect_request("/br").respond_with_data(
        b"\x0b\x02\x80", headers={"Content-Encoding": "br"}
    )
    result = get(fetcher, server.url_for("/br"))
    assert result.outcome is FetchOutcome.HTTP_ERROR
    assert result.error == "unsupported Content-Encoding 'br'"
    assert not result.retryable


def test_chunked_body_over_the_cap_stops_streaming(server: HTTPServer, fetcher: Fetcher) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        while True:  # the server would stream forever; the client must hang up
            sent += 10_000
            yield b"y" * 10_000

    server.expect_request("/stream").respond_with_handler(
        lambda _request: Response(endless(), content_type="text/html")
    )
    result = get(fetcher, server.url_for("/stream"))
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert result.error == f"body exceeds the limit of {CAP} bytes (decoded)"
    assert CAP < result.bytes_read <= CAP + 64 * 1024
    assert result.content == b""


@functools.cache
def _zeros_gzipped(megabytes: int, layers: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    data = b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, compresslevel=9)
    return data


@pytest.mark.parametrize(
    ("megabytes", "layers", "encoding"), [(20, 1, "gzip"), (100, 2, "gzip, gzip")]
)
def test_gzip_bomb_stops_at_the_cap(
    server: HTTPServer, fetcher: Fetcher, megabytes: int, layers: int, encoding: str
) -> None:
    bomb = _zeros_gzipped(megabytes, layers)
    assert len(bomb) < CAP  # small on the wire: only decoded bytes reveal it
    server.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": encoding}, content_type="text/html"
    )
    result = get(fetcher, server.url_for("/bomb"))
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert CAP < result.bytes_read <= CAP + 64 * 1024  # decoding stopped right at the cap


def inflate(chunks: list[bytes], encoding: str | None) -> bytes:
    return b"".join(decoded(iter(chunks), encoding))


def test_decoding_yields_bounded_pieces_however_large_a_chunk_inflates() -> None:
    """What keeps a bomb's memory flat: no piece larger than 64 KiB, even from one chunk."""
    pieces = list(decoded(iter([gzip.compress(bytes(4 << 20))]), "gzip"))
    assert sum(map(len, pieces)) == 4 << 20
    assert max(map(len, pieces)) <= 64 * 1024


def test_a_multi_member_gzip_body_is_read_whole() -> None:
    body = gzip.compress(b"first ") + gzip.compress(b"second")
    split = [body[:7], body[7:30], body[30:]]  # members cut across network chunks
    assert inflate(split, "gzip") == b"first second"
    assert inflate(split, "x-gzip") == b"first second"


def test_bytes_after_the_compressed_stream_are_ignored_as_browsers_do() -> None:
    assert inflate([gzip.compress(b"news") + b"\r\n\r\n"], "gzip") == b"news"
    assert inflate([zlib.compress(b"news") + b"junk"], "deflate") == b"news"


@pytest.mark.parametrize("encoding", [None, "", "identity", " Identity "])
def test_identity_bodies_pass_through(encoding: str | None) -> None:
    assert inflate([b"a", b"b"], encoding) == b"ab"


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        ("gzip", b"\x1f\x8b\x09\x00" + b"x" * 20, "cannot decode gzip body: "),  # method 9
        ("deflate", b"\x78\x9c\xff\xff\xff", "cannot decode deflate body: "),
        ("gzip, compress", b"", "unsupported Content-Encoding 'compress'"),
    ],
)
def test_a_body_that_cannot_be_decoded_is_a_body_error(
    encoding: str, body: bytes, message: str
) -> None:
    with pytest.raises(BodyError, match=re.escape(message)):
        inflate([body], encoding)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_a_stream_that_stops_early_is_an_error_not_half_a_page(
    encoding: str, compress: object
) -> None:
    whole = compress(("<p>" + "Ein Satz über den Gipfel. " * 400 + "</p>").encode())  # type: ignore[operator]
    with pytest.raises(BodyError, match=f"truncated {encoding} body"):
        inflate([whole[: len(whole) // 2]], encoding)
    assert inflate([], encoding) == b""  # an empty body is not a truncated one
