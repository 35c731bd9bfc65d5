"""SSRF guard: which URLs and addresses the fetcher may talk to.

Feeds and the pages they link to are untrusted input. Without a guard, a feed entry pointing at
http://169.254.169.254/ or a name that resolves to 10.0.0.5 would make us read the cloud metadata
service or an internal admin page. The guard refuses every address that is not globally
routable unless `allow_private_networks` is set (tests and local development only).

The check only protects if the connection goes to the address that was checked; `pipeline.fetch`
resolves once through `resolve_checked` and connects to that IP (no second DNS lookup that a
rebinding attacker could answer differently).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

from ..config import parse_host_entry
from ..urls import DEFAULT_PORTS

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# Ranges that `ipaddress` reports as global on some Python patch releases, or that deserve a
# clearer name than "not globally routable".
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_IETF_PROTOCOL = ipaddress.IPv4Network("192.0.0.0/24")
_SIX_TO_FOUR_RELAY = ipaddress.IPv4Network("192.88.99.0/24")
_METADATA = ipaddress.IPv4Address("169.254.169.254")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

# Only characters that can make up the numeric IPv4 shorthands inet_aton (and so libc, curl and
# browsers) accept: 2130706433, 127.1, 0x7f.0.0.1, 017700000001.
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


class Resolver(Protocol):
    """Turns a host name into the IP addresses (as strings) to connect to."""

    def __call__(self, host: str, port: int) -> list[str]: ...


class UnsafeURLError(ValueError):
    """The URL or the address it leads to must not be fetched; the message says why."""


class PrivateHosts:
    """Hosts an operator named as trusted although they are on private addresses (intranet
    feeds). Only the exact host (and port, when given) is exempt; a redirect elsewhere and
    every other name stay guarded."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self._entries = frozenset(parse_host_entry(entry) for entry in entries)

    def allows(self, host: str, port: int | None) -> bool:
        host = host.strip("[]").lower()
        return (host, None) in self._entries or (port is not None and (host, port) in self._entries)

    def allows_url(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return False
        return bool(parts.hostname) and self.allows(parts.hostname or "", port)


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses the system resolver returns for `host`, in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse anything but an absolute http(s) URL with a host and no user info.

    A host written as an IP address (including shorthands such as 2130706433) is checked here
    already; names are checked when they are resolved (`resolve_checked`).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise UnsafeURLError(f"refused: {url!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeURLError(f"refused: {url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise UnsafeURLError(f"refused: {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError(f"refused: {url!r} carries a user name or password")
    address = literal_address(parts.hostname)
    if address is not None:
        source = None if str(address) == parts.hostname else parts.hostname
        check_address(str(address), allow_private=allow_private, source=source)


def check_address(ip: str, *, allow_private: bool, source: str | None = None) -> None:
    """Refuse an address that is not globally routable, unless private networks are allowed.

    `source` is the host name the address was resolved from; it only improves the message.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise UnsafeURLError(f"refused: {ip!r} is not an IP address") from None
    if allow_private:
        return
    reason = unsafe_reason(address)
    if reason is None:
        return
    origin = f" (resolved from {source})" if source else ""
    # The narrow way to let one trusted intranet host through; allow_private_networks lifts
    # the guard for every host and is meant for tests and local development only.
    host = source or (f"[{ip}]" if ":" in ip else ip)
    raise UnsafeURLError(
        f"refused: {ip}{origin} is {reason}; to allow it, list {host} (or {host}:PORT) "
        "under allow_private_hosts in the config"
    )


def resolve_checked(host: str, port: int, *, resolver: Resolver, allow_private: bool) -> list[str]:
    """Addresses to connect to for `host`, every one of them checked.

    An IP-literal host is not passed to the resolver. One unsafe address refuses the whole name:
    a name that mixes public and internal addresses is more likely an attack than a mistake.
    Raises UnsafeURLError when refused and OSError when the name does not resolve.
    """
    literal = literal_address(host)
    if literal is not None:
        check_address(str(literal), allow_private=allow_private, source=None)
        return [str(literal)]
    addresses = resolver(host, port)
    if not addresses:
        raise OSError(f"{host} resolved to no addresses")
    for address in addresses:
        check_address(address, allow_private=allow_private, source=host)
    return list(addresses)


def literal_address(host: str) -> IPAddress | None:
    """The IP address a host is written as, or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    # ip_address rejects the shorthands, but the resolver would turn them into addresses.
    if _NUMERIC_HOST.fullmatch(host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def unsafe_reason(address: IPAddress) -> str | None:
    """Why `address` is not a safe public destination ("a loopback address"), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded, translated = _embedded_ipv4(address)
        if embedded is not None:
            inner = unsafe_reason(embedded)
            if inner is not None:
                return f"an IPv6 form of {embedded}, {inner}"
            if translated:
                # Mapped and NAT64 addresses reach exactly the embedded IPv4 address; DNS64
                # resolvers hand out NAT64 addresses for ordinary public sites.
                return None
    return _own_reason(address)


def _own_reason(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address == _METADATA:
        return "the link-local cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT (shared) address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if isinstance(address, ipaddress.IPv4Address) and (
        address in _IETF_PROTOCOL or address in _SIX_TO_FOUR_RELAY
    ):
        return "a special-purpose address"
    if not address.is_global:
        return "not a globally routable address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, bool]:
    """The IPv4 address inside an IPv6 transition address, and whether traffic goes exactly there.

    Returns (None, False) for ordinary IPv6 addresses.
    """
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, True
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), True
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are not IPv4-compatible
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), False
    if address.sixtofour is not None:
        return address.sixtofour, False
    if address.teredo is not None:
        return address.teredo[1], False
    return None, False
