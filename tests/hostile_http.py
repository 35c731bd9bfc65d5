"""Raw-socket servers that misbehave in ways a WSGI server cannot.

werkzeug always answers with a well-formed response; these reset connections, never answer,
drip bytes, refuse to accept, or stop in the TLS handshake. Each connection is served by
`handler(conn, stop)` in its own thread; `stop` is set when the server shuts down, so handlers
that hang wait on it rather than on a timer.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Self

Handler = Callable[[socket.socket, threading.Event], None]

HOST = "127.0.0.1"


class RawServer:
    """A TCP server on 127.0.0.1 that hands every connection to `handler`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._stop = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections = 0
        self._threads: list[threading.Thread] = []

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        with self._lock:
            return self._connections

    def url(self, path: str = "/", *, host: str = HOST, scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> Self:
        accepter = threading.Thread(target=self._accept_loop, daemon=True)
        accepter.start()
        self._threads.append(accepter)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=2)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._handler(conn, self._stop)
        except OSError:
            pass  # the client went away: exactly what several of these tests provoke
        finally:
            conn.close()


def read_request(conn: socket.socket, timeout: float = 5.0) -> bytes:
    """Read up to the end of the request head (or EOF)."""
    conn.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def reset_after_request(conn: socket.socket, stop: threading.Event) -> None:
    """Read the request, then abort the connection with a TCP RST (SO_LINGER 0)."""
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def never_answer(conn: socket.socket, stop: threading.Event) -> None:
    """Read the request and keep the connection open without a byte of response."""
    read_request(conn)
    stop.wait()


def drip_body(interval: float = 0.2) -> Handler:
    """Send a valid head promising a large body, then one body byte every `interval` s."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
        )
        while not stop.wait(interval):
            conn.sendall(b"x")

    return handler


def drip_head(interval: float = 0.2) -> Handler:
    """Send the response head itself one byte every `interval` s, never finishing it."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        while not stop.wait(interval):
            conn.sendall(b"x")

    return handler


def record_sni(names: list[str]) -> Handler:
    """Start a TLS handshake and record the SNI server name the client sent.

    The server has no certificate, so the handshake fails right after the ClientHello, which
    is all a test of "which name did the client ask for" needs.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)

    def remember(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name or "")

    context.sni_callback = remember  # type: ignore[assignment]

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(5)
        with suppress(ssl.SSLError):
            context.wrap_socket(conn, server_side=True)

    return handler


@contextmanager
def unaccepting_port() -> Iterator[int]:
    """A port whose accept queue is full: new connections hang in SYN-SENT until they time out.

    With listen(0) Linux queues one connection; the kernel drops further SYNs instead of
    refusing them, which is what a black-holed or overloaded server looks like.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((HOST, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect((HOST, port))
            except TimeoutError:
                break  # the queue is full
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])
