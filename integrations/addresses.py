"""Where a webhook may be sent: not to this network's own services.

An endpoint's URL is typed by an admin, but the worker calls it from inside the
deployment, where the database, Valkey, the gateways' metrics and a cloud's metadata
service (169.254.169.254) listen on private addresses. With
``WEBHOOK_BLOCK_PRIVATE_ADDRESSES`` (on unless ``DJANGO_DEBUG``), a URL whose host is a
loopback, private, link-local, multicast, reserved or unspecified address is refused
when it is registered, and a host name is resolved when the worker connects: if any
address it resolves to is such, the attempt fails. The connection then goes to the
address that was checked, not to a second resolution (a name that resolves to a public
address once and to 127.0.0.1 the next time gets nowhere).
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings


class AddressNotAllowed(OSError):
    pass


def blocking() -> bool:
    return bool(settings.WEBHOOK_BLOCK_PRIVATE_ADDRESSES)


def is_internal(address: str) -> bool:
    """Whether ``address`` (an IP literal) is one of this network's own."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def host_refused(host: str) -> bool:
    """At registration: an IP-literal host that is internal (names are checked when the
    worker connects: resolving here would prove nothing about later)."""
    if not blocking():
        return False
    literal = host.strip("[]")
    try:
        return is_internal(literal)
    except ValueError:
        return literal.lower() == "localhost" or literal.lower().endswith(".localhost")


def checked_address(host: str, port: int) -> str:
    """The address to connect to: ``host`` resolved, every address it has checked."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise AddressNotAllowed(f"{host} does not resolve")
    if blocking():
        internal = [a for a in addresses if is_internal(a)]
        if internal:
            raise AddressNotAllowed(f"{host} resolves to an internal address ({internal[0]})")
    return addresses[0]
