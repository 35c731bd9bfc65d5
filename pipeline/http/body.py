"""Bounded body decoding: gzip/deflate inflated piece by piece under a byte cap."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import httpx

from .transport import Deadline

ACCEPT_ENCODING = "gzip, deflate"  # only what `decoded` can inflate with bounded memory
_PIECE = 64 * 1024  # most decoded bytes produced per step, so the byte cap bounds memory


class BodyError(Exception):
    """The body cannot be decoded; the server's fault, not worth retrying."""


def decoded(raw: Iterable[bytes], content_encoding: str | None) -> Iterator[bytes]:
    """Decode a body lazily in pieces of at most _PIECE bytes.

    httpx's own decoders inflate a whole network chunk at once; 64 KiB of a nested gzip bomb
    can become gigabytes before the caller could count them.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    stream: Iterable[bytes] = raw
    for coding in reversed(codings):  # the last coding applied is undone first
        if coding in ("gzip", "x-gzip"):
            stream = _inflate(stream, gzip=True)
        elif coding == "deflate":
            stream = _inflate(stream, gzip=False)
        elif coding != "identity":
            raise BodyError(f"unsupported Content-Encoding {coding!r}")
    return iter(stream)


def _inflate(chunks: Iterable[bytes], *, gzip: bool) -> Iterator[bytes]:
    wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    first = True
    received = False
    try:
        for chunk in chunks:
            data = chunk
            received = received or bool(data)
            if first and data and not gzip:
                first = False
                if not _has_zlib_header(data):
                    # RFC 9110 deflate is zlib-wrapped, but some servers send raw deflate.
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            while data:
                if inflater.eof:
                    if not (gzip and data.startswith(b"\x1f\x8b")):
                        return  # trailing bytes after the stream are ignored, as browsers do
                    inflater = zlib.decompressobj(wbits)  # next member of a multi-member gzip
                piece = inflater.decompress(data, _PIECE)
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
                if piece:
                    yield piece
            # zlib may hold back output although it has consumed all input so far.
            while not inflater.eof:
                piece = inflater.decompress(b"", _PIECE)
                if not piece:
                    break
                yield piece
    except zlib.error as exc:
        kind = "gzip" if gzip else "deflate"
        raise BodyError(f"cannot decode {kind} body: {exc}") from None
    if received and not inflater.eof:
        # The stream stopped mid-way (a dropped or cut transfer): half a page would be
        # stored as if it were the article.
        raise BodyError(f"truncated {'gzip' if gzip else 'deflate'} body: the stream ends early")


def _has_zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0


def read_capped(
    response: httpx.Response, max_bytes: int, truncate: bool, deadline: Deadline
) -> tuple[bytes | None, int]:
    """(content, decoded byte count); content is None when the cap was exceeded."""
    parts: list[bytes] = []
    count = 0
    for piece in decoded(response.iter_raw(), response.headers.get("content-encoding")):
        deadline.check()
        count += len(piece)
        if count > max_bytes:
            if not truncate:
                return None, count
            parts.append(piece[: len(piece) - (count - max_bytes)])
            return b"".join(parts), max_bytes
        parts.append(piece)
    return b"".join(parts), count
