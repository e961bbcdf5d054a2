"""Where postbacks may be sent: SSRF protection for webhook URLs.

A trigger's URL is typed by staff and could point at the PSP's own network (a metadata
service, an admin interface). By default only public addresses are allowed. The check is made
on the address the socket actually connects to, after DNS resolution, so a host name that
resolves to a private address (or starts to, as in DNS rebinding) is refused too.
``POSTBACKS_ALLOWED_NETWORKS`` lists networks that are allowed anyway (loopback for local
development and tests).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(Exception):
    """The destination is an address postbacks must not be sent to."""


@cache
def _allowed_networks(spec: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _address_kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    checks = [
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private or not address.is_global),
    ]
    return next((kind for kind, matches in checks if matches), None)


def check_address(address: str) -> None:
    """Raise ``DestinationRefused`` unless postbacks may be sent to ``address``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    kind = _address_kind(ip)
    if kind is None:
        return
    allowed = _allowed_networks(tuple(settings.POSTBACKS_ALLOWED_NETWORKS))
    if any(ip.version == network.version and ip in network for network in allowed):
        return
    raise DestinationRefused(
        f"{address} is a {kind} address; postbacks are only sent to public addresses "
        "(POSTBACKS_ALLOWED_NETWORKS lists exceptions)."
    )


def check_url(url: str) -> None:
    """Validate a webhook URL when it is saved: scheme, host, and literal addresses.

    Host names are resolved only when sending, where the connected address is checked.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("Only http:// and https:// URLs can receive postbacks.")
    host = parts.hostname or ""
    if not host:
        raise DestinationRefused("The URL has no host name.")
    if host == "localhost" or host.endswith(".localhost"):
        host = "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    check_address(host)


class _GuardedConnectionMixin:
    """Resolves the host, skips refused addresses, connects to the first allowed one."""

    connected_address: str = ""

    def _new_conn(self) -> socket.socket:
        try:
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        refusal: DestinationRefused | None = None
        last_error: OSError | None = None
        for _family, _type, _proto, _name, sockaddr in infos:
            address = sockaddr[0]
            try:
                check_address(address)
            except DestinationRefused as error:
                refusal = refusal or error
                continue
            try:
                sock = create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as error:
                last_error = error
                continue
            self.connected_address = address
            return sock
        if last_error is not None:
            raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")
        raise refusal or DestinationRefused(f"{self.host} has no address to connect to.")


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only where ``check_address`` allows."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }
