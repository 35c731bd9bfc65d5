"""The connection path under httpx: vetted addresses only, and one deadline per request.

- `GuardedBackend` resolves a host once, checks every address with `netguard`, and connects
  to an address it checked, so DNS rebinding cannot slip a private address past the guard.
- `Deadline` bounds a whole request in wall-clock time: httpx's read timeout restarts with
  every byte, so a server dripping one byte a second would never trip it.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore
import httpx

from .netguard import PrivateHosts, Resolver, UnsafeURLError, resolve_checked

_T = TypeVar("_T")


#
# httpx's read timeout restarts with every byte, so a server dripping one byte a second never
# trips it. The deadline is enforced where the bytes move: the network stream below clamps
# every connect/read/write timeout to the time left. A context variable carries it there
# because the stream is owned by the connection pool and shared between threads over time.


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.tripped = False
        self._end = time.monotonic() + seconds

    def clamp(self, timeout: float | None, exc_type: type[Exception]) -> tuple[float, bool]:
        """The timeout to use and whether the deadline (not `timeout`) is what limits it."""
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            self.tripped = True
            raise exc_type(f"total deadline of {self.seconds:g} s exceeded")
        if timeout is None or remaining < timeout:
            return remaining, True
        return timeout, False

    def check(self) -> None:
        if time.monotonic() >= self._end:
            self.tripped = True
            raise httpx.ReadTimeout(f"total deadline of {self.seconds:g} s exceeded")


DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "news_ingest_fetch_deadline", default=None
)


def _bounded(
    call: Callable[[float | None], _T], timeout: float | None, exc_type: type[Exception]
) -> _T:
    """Run a blocking network call with its timeout cut to the current deadline."""
    deadline = DEADLINE.get()
    if deadline is None:
        return call(timeout)
    limit, by_deadline = deadline.clamp(timeout, exc_type)
    try:
        return call(limit)
    except httpcore.TimeoutException:
        if by_deadline:
            deadline.tripped = True
        raise


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _bounded(
            functools.partial(self._inner.read, max_bytes), timeout, httpcore.ReadTimeout
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _bounded(functools.partial(self._inner.write, buffer), timeout, httpcore.WriteTimeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = _bounded(
            functools.partial(self._inner.start_tls, ssl_context, server_hostname),
            timeout,
            httpcore.ConnectTimeout,
        )
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves once, checks every address, and connects to a checked IP.

    httpcore hands us the URL's host name; TLS SNI and certificate checks still use that name
    (httpcore passes it to start_tls), and the Host header is httpx's, so only the TCP
    destination changes: from "whatever a second DNS lookup says" to "the address we checked".
    """

    def __init__(
        self, resolver: Resolver, *, allow_private: bool, private_hosts: PrivateHosts
    ) -> None:
        self._inner = httpcore.SyncBackend()
        self._resolver = resolver
        self._allow_private = allow_private
        self._private_hosts = private_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_checked(
                host,
                port,
                resolver=self._resolver,
                allow_private=self._allow_private or self._private_hosts.allows(host, port),
            )
        except OSError as exc:  # UnsafeURLError is not one: it passes through httpx unchanged
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        options = list(socket_options or [])
        error: httpcore.ConnectError | None = None
        for address in addresses:
            connect = functools.partial(
                self._inner.connect_tcp,
                address,
                port,
                local_address=local_address,
                socket_options=options,
            )
            try:
                stream = _bounded(connect, timeout, httpcore.ConnectTimeout)
            except httpcore.ConnectError as exc:
                error = exc  # try the next address, as socket.create_connection would
                continue
            return DeadlineStream(stream)
        assert error is not None  # resolve_checked never returns an empty list
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise UnsafeURLError(f"refused: unix socket {path!r}")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def guarded_transport(backend: httpcore.NetworkBackend) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(trust_env=False)
    pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=None,  # the thread count bounds connections; never wait for the pool
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    _replace_pool(transport, pool)
    return transport


def _replace_pool(transport: httpx.HTTPTransport, pool: httpcore.ConnectionPool) -> None:
    """Make `transport` send through `pool`.

    httpx 0.28 builds its httpcore pool inside HTTPTransport.__init__ and has no parameter for
    a network backend, so this swaps the private `_pool`: the only private attribute we touch.
    tests/test_http_transport.py::test_httpx_transport_keeps_its_pool_in_private_attribute
    fails if it moves.
    """
    old = getattr(transport, "_pool", None)
    if not isinstance(old, httpcore.ConnectionPool):
        raise RuntimeError(
            "httpx.HTTPTransport no longer keeps an httpcore.ConnectionPool in `_pool`; "
            "pipeline.http.transport._replace_pool must be adapted to this httpx version"
        )
    transport._pool = pool
    old.close()
