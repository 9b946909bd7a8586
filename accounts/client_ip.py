"""The client's address, as one function for everything that counts or records clients.

`client_ip(request)` is what login throttling (django-axes' AXES_CLIENT_IP_CALLABLE),
rate limits and login history use. The peer (REMOTE_ADDR) is the client unless it is
one of `WEBMAIL_TRUSTED_PROXIES` (CIDRs, default none): only then is `X-Forwarded-For`
believed, read from the right (each proxy appends the address it saw) up to the first
address that is not a trusted proxy. Anything left of that was written by the client
and may be forged, so a spoofed header changes nothing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; a ValueError names a bad entry."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or CIDR: {value!r}") from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _address(value: str) -> Address | None:
    """An address from a header entry or REMOTE_ADDR (a port or brackets allowed)."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as a string (None only if the server gave no peer address)."""
    peer = _address(request.META.get("REMOTE_ADDR", "") or "")
    if peer is None:
        return request.META.get("REMOTE_ADDR") or None
    networks = _trusted(tuple(getattr(settings, "WEBMAIL_TRUSTED_PROXIES", ())))
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    client = peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",")):
        address = _address(entry)
        if address is None:
            break  # garbage: what is left of it cannot be trusted either
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)
