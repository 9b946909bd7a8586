"""Where the POP3 and SMTP clients may connect: the operator's destination policy. No Django.

Any user can type any host and port into an account, and our workers then open TCP
connections there on the user's behalf. Without a policy that turns the webmail into a
proxy into the operator's own network (databases, caches, cloud metadata at
169.254.169.254, admin panels). `check` decides, for one host and port, which addresses
may be used, and the sessions (pop3.py, smtp.py) connect to exactly those addresses: the
socket is opened to the checked IP, so a name that resolves to a public address when the
form is saved and to a private one when the worker connects (DNS rebinding) is refused
at connect time. The host name itself still goes to TLS (SNI and the certificate check).

The rules, in order, for every address the host resolves to (all must pass):

1. An administrator's per-account exception (`Policy.exceptions`: names, `*.suffix`
   patterns, addresses or CIDRs) allows the destination on any port, whatever its address.
2. The port must be a mail port (MAIL_PORTS) or one the operator allows (`Policy.ports`).
3. With an operator allow-list (`Policy.hosts`), the host must match one of its names or
   patterns, or the address must be inside one of its addresses or CIDRs.
4. An address that is not public (loopback, private, link-local, multicast, shared/CGNAT,
   unspecified, reserved, cloud metadata; IPv4 inside IPv6 is judged as the IPv4) is
   refused unless it is inside an allow-listed CIDR, or `Policy.allow_private` is set
   (metadata addresses stay refused even then: only an exact listing allows them).

Numeric host spellings the C library accepts (`2130706433`, `0177.0.0.1`, `0x7f.1`) are
read as the address they spell, never sent to the resolver.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "MAIL_PORTS",
    "DestinationRefused",
    "Policy",
    "check",
    "classify",
    "connect",
    "literal_address",
    "parse_patterns",
    "parse_ports",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> the addresses it resolves to, as text ("192.0.2.1", "2001:db8::1").
Resolver = Callable[[str, int], Sequence[str]]

# SMTP (25, 465 implicit TLS, 587 submission, 2525 the common alternative), POP3
# (110, 995) and IMAP (143, 993): always allowed.
MAIL_PORTS = frozenset({25, 110, 143, 465, 587, 993, 995, 2525})

# Why an address is not public (Refused.category, and the wording's key).
LOOPBACK = "loopback"
PRIVATE = "private"
LINK_LOCAL = "link-local"
MULTICAST = "multicast"
SHARED = "shared"  # 100.64.0.0/10, carrier-grade NAT
UNSPECIFIED = "unspecified"
RESERVED = "reserved"  # everything else that is not globally routable
METADATA = "metadata"  # cloud instance metadata services

# Why a destination is refused (DestinationRefused.reason).
REASON_ADDRESS = "address"  # the address is not public (+ category)
REASON_PORT = "port"  # not a mail port, nor one the operator allows
REASON_HOST = "host"  # not on the operator's allow-list

_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# RFC 1918 and IPv6 unique local addresses; other non-global ranges count as RESERVED.
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(Exception):
    """The policy forbids this destination. `reason` is one of the REASON_* codes;
    `category` (for REASON_ADDRESS) says why the address is not public."""

    def __init__(
        self, reason: str, host: str, port: int, *, address: str = "", category: str = ""
    ) -> None:
        self.reason = reason
        self.host = host
        self.port = port
        self.address = address
        self.category = category
        what = f" ({address}, {category})" if address else ""
        super().__init__(f"Destination {host}:{port}{what} refused by policy: {reason}")

    @property
    def values(self) -> dict[str, object]:
        values: dict[str, object] = {"host": self.host, "port": self.port, "reason": self.reason}
        if self.address:
            values["address"] = self.address
        if self.category:
            values["category"] = self.category
        return values


@dataclass(frozen=True)
class _Patterns:
    names: tuple[str, ...] = ()  # "mail.example.com", or "*.example.com" for any subdomain
    networks: tuple[IPNetwork, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.names or self.networks)

    def match_name(self, host: str) -> bool:
        host = _normal_name(host)
        for name in self.names:
            if name.startswith("*."):
                if host.endswith(name[1:]) and len(host) > len(name) - 1:
                    return True
            elif host == name:
                return True
        return False

    def match_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


def _normal_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_NAME = re.compile(rf"^(\*\.)?({_LABEL}\.)*{_LABEL}$")


def parse_patterns(entries: Iterable[str] | str) -> _Patterns:
    """Host names, `*.suffix` patterns, addresses and CIDRs; a string is split on commas
    and white space. Raises ValueError naming the first entry it cannot read."""
    if isinstance(entries, str):
        entries = re.split(r"[\s,]+", entries)
    names: list[str] = []
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        spelled = _loose_ipv4(entry)
        if spelled is not None:
            networks.append(ipaddress.ip_network(spelled))
            continue
        name = _normal_name(entry)
        if not _NAME.match(name):
            raise ValueError(f"not a host name, *.pattern, address or CIDR: {raw!r}")
        names.append(name)
    return _Patterns(tuple(names), tuple(networks))


def parse_ports(text: str) -> tuple[tuple[int, int], ...]:
    """Ports and ranges, "2465, 10000-10100" -> ((2465, 2465), (10000, 10100)). Raises
    ValueError on anything else."""
    ports: list[tuple[int, int]] = []
    for raw in re.split(r"[\s,]+", text.strip()):
        if not raw:
            continue
        low, sep, high = raw.partition("-")
        try:
            first, last = int(low), int(high if sep else low)
        except ValueError:
            raise ValueError(f"not a port or range of ports: {raw!r}") from None
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"not a port or range of ports: {raw!r}")
        ports.append((first, last))
    return tuple(ports)


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver: every address, in its order, once each.
    Raises socket.gaierror when the name cannot be resolved."""
    seen: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in seen:
            seen.append(address)
    return seen


@dataclass(frozen=True)
class Policy:
    """The operator's rules (see the module's docstring) and an account's exceptions.

    `ports` are ranges (first, last) allowed besides MAIL_PORTS. `resolver` is the
    system's unless a caller (a test) brings its own.
    """

    hosts: _Patterns = field(default_factory=_Patterns)
    allow_private: bool = False
    ports: tuple[tuple[int, int], ...] = ()
    exceptions: _Patterns = field(default_factory=_Patterns)
    resolver: Resolver = system_resolver

    @classmethod
    def build(
        cls,
        *,
        hosts: Iterable[str] | str = (),
        allow_private: bool = False,
        ports: Iterable[int] | str = (),
        exceptions: Iterable[str] | str = (),
        resolver: Resolver | None = None,
    ) -> Policy:
        return cls(
            hosts=parse_patterns(hosts),
            allow_private=allow_private,
            ports=parse_ports(ports) if isinstance(ports, str) else tuple((p, p) for p in ports),
            exceptions=parse_patterns(exceptions),
            resolver=resolver or system_resolver,
        )


_LOOSE_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


def _loose_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """inet_aton's spellings: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x),
    the last part filling the remaining bytes. None when `text` is no such spelling."""
    text = text.strip()
    if not _LOOSE_IPV4.match(text):
        return None
    values = []
    for part in text.split("."):
        lower = part.lower()
        if lower.startswith("0x"):
            values.append(int(lower[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            try:
                values.append(int(part, 8))
            except ValueError:  # "08": not octal, and not an address either
                return None
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


def literal_address(host: str) -> IPAddress | None:
    """The address a host spells itself (IPv4 in any inet_aton spelling, IPv6 with or
    without brackets or a zone), or None for a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0] if ":" in text else text)
    except ValueError:
        return _loose_ipv4(text)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """IPv4 carried inside IPv6: IPv4-mapped, 6to4, NAT64; IPv4-compatible (::a.b.c.d)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def classify(address: IPAddress) -> str | None:
    """Why `address` is not a public destination (one of the category codes), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return classify(inner)
    if address in _METADATA:
        return METADATA
    if address.is_unspecified:
        return UNSPECIFIED
    if address.is_loopback:
        return LOOPBACK
    if address.is_link_local:
        return LINK_LOCAL
    if address.is_multicast:
        return MULTICAST
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return SHARED
    if any(address in net for net in _PRIVATE if net.version == address.version):
        return PRIVATE
    if not address.is_global:
        return RESERVED
    return None


def _port_allowed(port: int, policy: Policy) -> bool:
    return port in MAIL_PORTS or any(first <= port <= last for first, last in policy.ports)


def check(host: str, port: int, policy: Policy) -> list[str]:
    """The addresses `host` may be reached at on `port`, all of them allowed; raise
    DestinationRefused when any is not (see the module's docstring). The name is resolved
    with `policy.resolver`, so resolver errors (socket.gaierror) pass through."""
    port = int(port)
    literal = literal_address(host)
    by_name = literal is None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        addresses = [_address(a) for a in policy.resolver(host, port)]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    excepted_name = by_name and policy.exceptions.match_name(host)
    listed_name = by_name and policy.hosts.match_name(host)
    for address in addresses:
        if excepted_name or policy.exceptions.match_address(address):
            continue
        if not _port_allowed(port, policy):
            raise DestinationRefused(REASON_PORT, host, port)
        listed = policy.hosts.match_address(address)
        if policy.hosts and not (listed_name or listed):
            raise DestinationRefused(REASON_HOST, host, port)
        category = classify(address)
        if category is None or listed:
            continue
        if policy.allow_private and category != METADATA:
            continue
        raise DestinationRefused(
            REASON_ADDRESS, host, port, address=_readable(address), category=category
        )
    return [str(a) for a in addresses]


def check_before_resolving(host: str, port: int, policy: Policy) -> None:
    """What can be refused without the resolver: the port (for a host with no exception
    by name) and a literal address. A form uses it when the name does not resolve."""
    if literal_address(host) is not None:
        check(host, port, policy)
        return
    if policy.exceptions.match_name(host) or policy.exceptions.networks:
        return
    if not _port_allowed(int(port), policy):
        raise DestinationRefused(REASON_PORT, host, int(port))
    if policy.hosts and not policy.hosts.match_name(host) and not policy.hosts.networks:
        raise DestinationRefused(REASON_HOST, host, int(port))


def _readable(address: IPAddress) -> str:
    """IPv4-mapped IPv6 with its IPv4 dotted ("::ffff:10.0.0.1"), as people write it."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _address(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])


def connect(
    addresses: Sequence[str],
    port: int,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """A TCP connection to the first of `addresses` that answers (as
    socket.create_connection, but to these addresses only: nothing is resolved again)."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout, source_address)
        except OSError as exc:
            error = exc
    raise error or OSError("no address to connect to")
