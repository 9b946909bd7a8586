"""Names for bare addresses, and a page for each address, from an address book the
mailbox does not know.

The contacts app registers a resolver in its AppConfig.ready() (as the rules app
registers its arrival filter): ``resolver(owner, keys) -> {key: name}`` maps address keys
(:func:`key`, the address stripped and casefolded, as contacts.models.address_key) to
the names the user saved. The mail pages ask once per page, never once per row:

- :func:`name_senders` gives the list's rows whose message names no sender a
  ``contact_name``;
- :func:`annotate_people` gives each message of the reading pane ``people``: its From,
  To and Cc as :class:`Person` entries with the saved name where the message has none,
  and the link to the address's page (the contact, or a new contact for it).

Without a registered resolver both do nothing and the pages show what the message says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from mailcore.mime.headers import Address, parse_addresses

Resolver = Callable[[object, list[str]], dict[str, str]]
_resolvers: list[Resolver] = []
_address_pages: list[str] = []


def register(resolver: Resolver, *, address_page: str | None = None) -> Resolver:
    """Add a resolver; `address_page` names a URL that takes ``?address=&name=`` and
    shows that address's contact or offers to save it."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)
    if address_page and address_page not in _address_pages:
        _address_pages.append(address_page)
    return resolver


def key(address: str) -> str:
    return address.strip().casefold()


def resolve(owner, addresses: Iterable[str]) -> dict[str, str]:
    """Address key → saved name, for those of `addresses` the owner saved."""
    keys = sorted({key(a) for a in addresses if a and a.strip()})
    names: dict[str, str] = {}
    if not keys or not _resolvers:
        return names
    for resolver in _resolvers:
        for k, name in resolver(owner, keys).items():
            names.setdefault(k, name)
    return names


def name_senders(owner, messages: list) -> None:
    """Set ``contact_name`` on the messages (list rows) that name no sender and whose
    address the owner saved. One query for the whole page."""
    bare = [m for m in messages if not m.from_name and m.from_address]
    if not bare:
        return
    names = resolve(owner, [m.from_address for m in bare])
    for message in bare:
        message.contact_name = names.get(key(message.from_address)) or ""


@dataclass(frozen=True)
class Person:
    address: str
    name: str  # as the message names them
    saved_name: str  # the contact's name ("" if not saved, or saved without a name)
    saved: bool  # the address is in the address book
    page: str  # the address's page (contact or "add to contacts"), "" without one

    @property
    def shown_name(self) -> str:
        return self.name or self.saved_name


def _page(address: str, name: str) -> str:
    if not _address_pages or not address:
        return ""
    query = {"address": address}
    if name:
        query["name"] = name
    return f"{reverse(_address_pages[0])}?{urlencode(query)}"


def annotate_people(owner, messages: Iterable) -> None:
    """Set ``people`` ({"from": [...], "to": [...], "cc": [...]} of Person) on each of
    `messages` (the reading pane's cards). One query for all of them."""
    messages = list(messages)
    parsed = []
    for message in messages:
        sender = [Address(message.from_name, message.from_address)] if message.from_address else []
        parsed.append(
            (
                message,
                {
                    "from": sender,
                    "to": parse_addresses(message.to, None),
                    "cc": parse_addresses(message.cc, None),
                },
            )
        )
    names = resolve(
        owner,
        [a.address for _m, headers in parsed for group in headers.values() for a in group],
    )
    for message, headers in parsed:
        people = {}
        for header, addresses in headers.items():
            people[header] = [
                Person(
                    address=a.address,
                    name=a.name,
                    saved_name=(names.get(key(a.address)) or "") if a.address else "",
                    saved=bool(a.address) and key(a.address) in names,
                    page=_page(a.address, a.name),
                )
                for a in addresses
            ]
        message.people = people


def annotate_page(owner, context: dict) -> None:
    """:func:`annotate_people` for the reading pane's context: the opened message and
    every message of its conversation (``thread``), in one query."""
    messages = [context["message"]] if context.get("message") is not None else []
    # A collapsed message of the conversation shows no people (until it is expanded).
    messages += [i["message"] for i in context.get("thread") or [] if not i.get("collapsed")]
    annotate_people(owner, {id(m): m for m in messages}.values())
