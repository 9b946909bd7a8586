"""Finding contacts: the address book's search, the names the mail pages show for bare
addresses, and the messages exchanged with a contact.

Every function takes the owner and reads only the owner's rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from mailbox.models import Folder, Message
from mailcore.hangul import INITIALS, is_initials
from mailcore.mime.headers import parse_addresses

from .models import CollectedAddress, Contact, ContactEmail, address_key

_SYLLABLES_PER_INITIAL = 21 * 28
MAX_TERMS = 5
# The contact page's recent messages come from the owner's newest RECENT_SCAN messages
# (read newest first through message_owner_date_idx): a bounded read whether or not the
# person wrote, where a plain LIKE over To and Cc would read the whole mailbox.
RECENT_SCAN = 5_000
RECENT_SHOWN = 20


def _initials_regex(term: str) -> str:
    """ㄱㅈㅎ → [가-깋]\\s*[자-짛]\\s*[하-힣]: names whose syllables start so (spaces between
    them allowed). PostgreSQL's ~ and Django's REGEXP on SQLite both read it."""
    parts = []
    for char in term:
        if char in INITIALS:
            first = 0xAC00 + INITIALS.index(char) * _SYLLABLES_PER_INITIAL
            parts.append(f"[{chr(first)}-{chr(first + _SYLLABLES_PER_INITIAL - 1)}]")
        else:
            parts.append(re.escape(char))
    return r"\s*".join(parts)


def _term_q(term: str) -> Q:
    if is_initials(term):
        pattern = _initials_regex(term)
        return Q(display_name__regex=pattern) | Q(korean_name__regex=pattern)
    with_address = ContactEmail.objects.filter(contact=OuterRef("pk"), address_key__contains=term)
    return (
        Q(display_name__icontains=term)
        | Q(korean_name__icontains=term)
        | Q(latin_name__icontains=term)
        | Q(organization__icontains=term)
        | Exists(with_address)
    )


def search_contacts(owner, text: str = "", group=None) -> QuerySet:
    """The owner's contacts matching every word of `text` (a name in any of its forms,
    an address or part of it, the organization; Korean initials such as ㄱㅈㅎ for
    김지현), in `group` if given; by name."""
    contacts = Contact.objects.filter(owner=owner)
    if group is not None:
        contacts = contacts.filter(groups=group)
    for term in text.casefold().split()[:MAX_TERMS]:
        contacts = contacts.filter(_term_q(term))
    return contacts.order_by("display_name", "id")


def search_collected(owner, text: str = "") -> QuerySet:
    rows = CollectedAddress.objects.filter(owner=owner)
    for term in text.casefold().split()[:MAX_TERMS]:
        rows = rows.filter(Q(name__icontains=term) | Q(address_key__contains=term))
    return rows


def names_for(owner, keys: Iterable[str]) -> dict[str, str]:
    """Address key → the contact's name (maybe "") for those of `keys` the owner saved:
    the resolver the mail pages use (mailbox.names). One query."""
    keys = list({k for k in keys if k})
    if not keys:
        return {}
    names: dict[str, str] = {}
    rows = (
        ContactEmail.objects.filter(owner=owner, address_key__in=keys)
        .order_by("contact_id")
        .values_list("address_key", "contact__display_name")
    )
    for key, name in rows:
        if not names.get(key):
            names[key] = name  # "" for a contact without a name: still a saved address
    return names


def saved_keys(owner, keys: Iterable[str]) -> set[str]:
    """Those of `keys` that are an address of one of the owner's contacts. One query."""
    return set(
        ContactEmail.objects.filter(owner=owner, address_key__in=list(keys)).values_list(
            "address_key", flat=True
        )
    )


def recent_messages(owner, contact: Contact, limit: int = RECENT_SHOWN) -> list[Message]:
    """The newest messages the owner exchanged with `contact`: from one of its addresses,
    or to or copied to one (sent mail included), Trash and Junk left out.

    Looked for among the owner's newest RECENT_SCAN messages only (see there), newest
    first; two queries (the contact's addresses, then the messages)."""
    keys = [e.address_key for e in contact.emails.all()]
    if not keys:
        return []
    match = Q()
    for key in keys:
        match |= Q(from_address__iexact=key) | Q(to__icontains=key) | Q(cc__icontains=key)
    newest = Message.objects.filter(owner=owner).order_by("-date", "-id").values("pk")[:RECENT_SCAN]
    candidates = (
        Message.objects.filter(owner=owner, pk__in=newest)
        .exclude(folder__in=[Folder.TRASH, Folder.JUNK])
        .filter(match)
        .only("pk", "subject", "from_name", "from_address", "date", "folder", "seen", "to", "cc")
        .order_by("-date", "-id")
    )
    wanted = set(keys)
    found = []
    # The LIKE finds "kim@x.com" inside "jkim@x.com" too: keep exact addresses only.
    for message in candidates.iterator(chunk_size=100):
        if _exchanged(message, wanted):
            found.append(message)
            if len(found) == limit:
                break
    return found


def _exchanged(message: Message, keys: set[str]) -> bool:
    if address_key(message.from_address) in keys:
        return True
    for header in (message.to, message.cc):
        if any(address_key(a.address) in keys for a in parse_addresses(header, None)):
            return True
    return False
