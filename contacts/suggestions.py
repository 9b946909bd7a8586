"""Recipient suggestions: the term index behind To/Cc/Bcc autocomplete, and its search.

Every suggestion (a saved contact's address, a group, a collected address) is stored
as a few rows of `SuggestionTerm`, one per word a user may start typing: each name
form (display, Korean, Latin) whole and word by word, the address, its local part and
the words of it, its domain, and the Hangul initial consonants of each Hangul word
(ㄱㅈㅎ for 김지현; a three-syllable Korean name also by its given name, 지현 / ㅈㅎ).
Terms are casefolded and NFC, like the query.

The first keystrokes match many suggestions (a tenth of a Korean address book starts
with "ki"), so a range over the terms would read and sort every match. Each suggestion
therefore also has one `SuggestionPrefix` row per distinct prefix of 1 to 4 characters
of its terms (a single character only for a Hangul syllable, the only one-character
query), with its rank and tier folded into one integer (`sort_key`): a query of up to
4 characters is an exact match on (owner, prefix) read in that index's order with a
LIMIT, a few dozen rows whatever the address book holds. A longer query is one range
over the B-tree index on (owner, term), where few terms match:
`term >= q AND term < q || U+10FFFF` on SQLite (binary order; its LIKE is
case-insensitive and would not use the index), `term LIKE 'q%'` on PostgreSQL,
whose index uses varchar_pattern_ops so the range holds under any collation. Either
way the same queries at 100 or 10,000 contacts.

Ranking (`rank`, bigger first): how recently plus how often the user wrote to the
address, as one number that does not depend on today's date, so it is stored with
the term and sorted from the index:

    rank = days from 2000-01-01 to the last time written to (else to when the row was
           made) + HALF_LIFE_DAYS × log2(1 + times written to)

Doubling the number of messages is worth HALF_LIFE_DAYS (30) days of recency: written
to 7 times a month ago beats once last week, and once yesterday beats 3 times half a
year ago. (It is the logarithm of a decaying count if all uses were at the last one.)
Equal ranks go to a contact's preferred address, its other addresses, a group, then a
collected address (`tier`). A saved contact's counts are those of the collected row
with its address: collection keeps rows for contacts' addresses too, and the search
(and `collection.visible_collected`) hides a collected row whose address a contact has.
The prefix rows order by `sort_key(rank, tier)`, then id: the rank (bigger first, to
under a microsecond of recency), then the tier.

Keeping the index in sync: saving a Contact, ContactEmail, ContactGroup or
CollectedAddress through the ORM (`save()`, `create()`) reindexes it (receivers below,
connected in ContactsConfig.ready; a CollectedAddress saved with `update_fields` that
leave out its name and address, as each send does, only has its rank updated); deleting
cascades to the terms. Code that writes
without signals (`bulk_create`, `QuerySet.update`, an import) calls
`reindex_contacts(owner, contacts)` (or `reindex_contact`, `reindex_group`,
`reindex_collected`) afterwards; `manage.py reindex_contacts` rebuilds everything.
Every one of these writes the terms and the prefixes together.
A Contact saved inside a transaction is reindexed again when it commits, so addresses
bulk-created after `contact.save()` in the same transaction are indexed too.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connections, router, transaction
from django.db.models import Exists, F, OuterRef, Q, Value

from mailcore import hangul
from mailcore.addresses import Address

from .models import (
    CollectedAddress,
    Contact,
    ContactEmail,
    ContactGroup,
    SuggestionPrefix,
    SuggestionTerm,
)

HALF_LIFE_DAYS = 30.0
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
LIMIT = 10  # suggestions per answer
# Term rows read per query, best first: a suggestion matches through a few of its
# terms at most (kim, kim jihyun, kim.jihyun@…), so this leaves LIMIT distinct ones.
CANDIDATES = 100
# Prefix rows read per short query: one per suggestion, so LIMIT visible ones unless
# many are collected addresses hidden behind a contact, or groups without members.
PREFIX_CANDIDATES = 40
PREFIX_LENGTH = SuggestionPrefix.PREFIX_LENGTH
# sort_key: rank in steps of 1e-11 day (0.86 µs, about what a float of 10,000 days
# still resolves: two contacts made one after the other keep their order), counted down
# from KEY_TOP so that smaller is better, times TIERS plus the tier. Ranks up to
# KEY_TOP / KEY_SCALE = 1,000,000 days fit, and the largest key (4e17) a 64-bit integer.
KEY_SCALE = 10**11
KEY_TOP = 10**17
TIERS = 4
MAX_TERM = 320
BATCH = 2000
Tier = SuggestionTerm.Tier

_SEPARATORS = re.compile(r"[\s.,;:_+\-()<>\[\]\"'/\\|@!?&*=~`^{}]+")


def normalize(text: str) -> str:
    """What terms and queries are compared as: NFC, casefolded, single spaces."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    return " ".join(text.split())


def _is_syllable(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3"


def is_query(text: str) -> bool:
    """Long enough to suggest: two characters, or one Hangul syllable (김)."""
    return len(text) >= 2 or (len(text) == 1 and _is_syllable(text))


def name_terms(name: str) -> set[str]:
    full = normalize(name)
    if not full:
        return set()
    words = [w for w in _SEPARATORS.split(full) if w]
    terms = {full, *words}
    if len(words) > 1:
        terms.add("".join(words))  # "kimjihyun", "김 지현" typed as "김지"
    for word in [*words, "".join(words)]:
        if not any(_is_syllable(c) for c in word):
            continue
        terms.add(hangul.initials(word))
        if 3 <= len(word) <= 4 and all(_is_syllable(c) for c in word):
            given = word[1:]  # 김지현 → 지현: Korean names are often looked up this way
            terms.update({given, hangul.initials(given)})
    return terms


def address_terms(address: str) -> set[str]:
    key = normalize(address)
    if not key:
        return set()
    local, at, domain = key.rpartition("@")
    if not at:
        return {key}
    terms = {key, local, domain}
    terms.update(w for w in _SEPARATORS.split(local) if w)
    return terms


def rank_of(times_used: int, last_used_at: datetime | None, since: datetime) -> float:
    moment = last_used_at or since
    days = (moment - EPOCH).total_seconds() / 86400
    return days + HALF_LIFE_DAYS * math.log2(1 + max(times_used, 0))


def sort_key(rank: float, tier: int) -> int:
    """Rank (bigger first) and tier (smaller first) as one integer, smaller first."""
    return (KEY_TOP - round(rank * KEY_SCALE)) * TIERS + tier


def prefixes(terms: Iterable[str]) -> set[str]:
    """The distinct 1- to PREFIX_LENGTH-character prefixes of `terms` a query can be:
    one character only when it is a Hangul syllable (see is_query)."""
    out: set[str] = set()
    for term in terms:
        for n in range(1, min(len(term), PREFIX_LENGTH) + 1):
            out.add(term[:n])
    return {p for p in out if is_query(p)}


@dataclass
class _Rows:
    """The term and prefix rows of some suggestions, written together."""

    terms: list[SuggestionTerm]
    prefixes: list[SuggestionPrefix]

    @classmethod
    def empty(cls) -> _Rows:
        return cls([], [])

    def add(self, owner_id: int, terms: Iterable[str], *, rank: float, tier: int, **target):
        unique = sorted({t[:MAX_TERM] for t in terms if t})
        self.terms += [
            SuggestionTerm(owner_id=owner_id, term=t, rank=rank, tier=tier, **target)
            for t in unique
        ]
        target.pop("address_key", None)
        key = sort_key(rank, tier)
        self.prefixes += [
            SuggestionPrefix(owner_id=owner_id, prefix=p, key=key, **target)
            for p in sorted(prefixes(unique))
        ]

    def save(self) -> int:
        """Insert them; the number of terms made."""
        SuggestionTerm.objects.bulk_create(self.terms, batch_size=BATCH)
        SuggestionPrefix.objects.bulk_create(self.prefixes, batch_size=BATCH)
        made = len(self.terms)
        self.terms, self.prefixes = [], []
        return made

    def __len__(self) -> int:
        return len(self.terms)


def _delete(**where) -> None:
    SuggestionTerm.objects.filter(**where).delete()
    SuggestionPrefix.objects.filter(**where).delete()


# --------------------------------------------------------------------------- indexing


def _contact_names(contact: Contact) -> set[str]:
    terms: set[str] = set()
    for name in (contact.display_name, contact.korean_name, contact.latin_name):
        terms |= name_terms(name)
    return terms


def reindex_contacts(owner, contacts: Iterable[Contact] | None = None) -> int:
    """Rebuild the terms of `contacts` of `owner` (all of them when None); the way for
    imports and other bulk writes. A few queries per BATCH contacts; returns terms made."""
    owner_id = getattr(owner, "pk", owner)
    if contacts is None:
        ids = list(Contact.objects.filter(owner_id=owner_id).values_list("pk", flat=True))
    else:
        ids = [getattr(c, "pk", c) for c in contacts]
    made = 0
    for start in range(0, len(ids), BATCH):
        made += _reindex_contact_batch(owner_id, ids[start : start + BATCH])
    return made


def _reindex_contact_batch(owner_id: int, ids: list[int]) -> int:
    contacts = {c.pk: c for c in Contact.objects.filter(owner_id=owner_id, pk__in=ids)}
    emails = list(ContactEmail.objects.filter(owner_id=owner_id, contact_id__in=list(contacts)))
    _delete(owner_id=owner_id, email__contact_id__in=ids)
    stats = {
        c.address_key: c
        for c in CollectedAddress.objects.filter(
            owner_id=owner_id, address_key__in={e.address_key for e in emails}
        )
    }
    rows = _Rows.empty()
    names = {pk: _contact_names(c) for pk, c in contacts.items()}
    for email in emails:
        contact = contacts[email.contact_id]
        used = stats.get(email.address_key)
        rank = (
            rank_of(used.times_used, used.last_used_at, used.created_at)
            if used
            else rank_of(0, None, contact.created_at)
        )
        rows.add(
            owner_id,
            names[contact.pk] | address_terms(email.address),
            rank=rank,
            tier=Tier.PREFERRED if email.preferred else Tier.CONTACT,
            address_key=email.address_key,
            email=email,
        )
    return rows.save()


def reindex_contact(contact: Contact | int) -> int:
    contact_id = getattr(contact, "pk", contact)
    owner_id = (
        contact.owner_id
        if isinstance(contact, Contact)
        else Contact.objects.filter(pk=contact_id).values_list("owner_id", flat=True).first()
    )
    if owner_id is None:
        return 0
    return _reindex_contact_batch(owner_id, [contact_id])


def reindex_group(group: ContactGroup) -> int:
    _delete(group=group)
    rows = _Rows.empty()
    rows.add(
        group.owner_id,
        name_terms(group.name),
        rank=rank_of(0, None, group.created_at),
        tier=Tier.GROUP,
        group=group,
    )
    return rows.save()


def reindex_collected(collected: CollectedAddress) -> int:
    """The collected row's terms, and the rank of a contact's same address with it."""
    _delete(collected=collected)
    rank = rank_of(collected.times_used, collected.last_used_at, collected.created_at)
    rows = _Rows.empty()
    rows.add(
        collected.owner_id,
        name_terms(collected.name) | address_terms(collected.address),
        rank=rank,
        tier=Tier.COLLECTED,
        address_key=collected.address_key,
        collected=collected,
    )
    made = rows.save()
    _rank_contact_address(collected, rank)
    return made


def rerank_collected(collected: CollectedAddress) -> None:
    """A collected row whose name and address did not change (written to once more, the
    delivery of every send): its terms keep their words and only take the new rank, and a
    contact's same address with them. Two UPDATEs, no terms made again: the terms with the
    address's key are the row's and its contacts' (groups have none), and every prefix
    row keeps its tier in its key, the row's (COLLECTED) as a contact's."""
    rank = rank_of(collected.times_used, collected.last_used_at, collected.created_at)
    SuggestionTerm.objects.filter(
        owner_id=collected.owner_id, address_key=collected.address_key
    ).update(rank=rank)
    SuggestionPrefix.objects.filter(
        Q(collected=collected)
        | Q(
            email__in=ContactEmail.objects.filter(
                owner_id=collected.owner_id, address_key=collected.address_key
            ).values("pk")
        ),
        owner_id=collected.owner_id,
    ).update(key=Value(sort_key(rank, 0)) + F("key") % TIERS)


def _rank_contact_address(collected: CollectedAddress, rank: float) -> None:
    """A saved contact's terms of the collected row's address take its rank."""
    SuggestionTerm.objects.filter(
        owner_id=collected.owner_id, address_key=collected.address_key, email__isnull=False
    ).update(rank=rank)
    # The same for the contacts' prefix rows, keeping the tier each was given.
    SuggestionPrefix.objects.filter(
        owner_id=collected.owner_id,
        email__in=ContactEmail.objects.filter(
            owner_id=collected.owner_id, address_key=collected.address_key
        ).values("pk"),
    ).update(key=Value(sort_key(rank, 0)) + F("key") % TIERS)


def reindex_owner(owner) -> int:
    """Everything of one user, from scratch (the management command)."""
    owner_id = getattr(owner, "pk", owner)
    _delete(owner_id=owner_id)
    made = 0
    for group in ContactGroup.objects.filter(owner_id=owner_id).iterator():
        made += reindex_group(group)
    rows = _Rows.empty()
    for collected in CollectedAddress.objects.filter(owner_id=owner_id).iterator():
        rows.add(
            owner_id,
            name_terms(collected.name) | address_terms(collected.address),
            rank=rank_of(collected.times_used, collected.last_used_at, collected.created_at),
            tier=Tier.COLLECTED,
            address_key=collected.address_key,
            collected=collected,
        )
        if len(rows) >= BATCH:
            made += rows.save()
    made += rows.save()
    return made + reindex_contacts(owner_id)


# Receivers (connected in ContactsConfig.ready) ------------------------------------


def contact_saved(sender, instance: Contact, raw=False, **kwargs) -> None:
    if raw:
        return
    reindex_contact(instance)
    if transaction.get_connection().in_atomic_block:
        # Addresses bulk-created after contact.save() in the same transaction.
        contact_id = instance.pk
        transaction.on_commit(lambda: reindex_contact(contact_id))


def email_saved(sender, instance: ContactEmail, raw=False, **kwargs) -> None:
    if not raw:
        reindex_contact(instance.contact_id)


def group_saved(sender, instance: ContactGroup, raw=False, **kwargs) -> None:
    if not raw:
        reindex_group(instance)


# The fields a collected row's terms are made of: a save that leaves them out only moves
# its rank (rerank_collected).
_COLLECTED_WORDS = frozenset({"name", "address", "address_key"})


def collected_saved(
    sender, instance: CollectedAddress, raw=False, update_fields=None, **kwargs
) -> None:
    if raw:
        return
    if update_fields is not None and not _COLLECTED_WORDS & set(update_fields):
        rerank_collected(instance)
    else:
        reindex_collected(instance)


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Suggestion:
    label: str
    address: str
    kind: str  # "contact", "group" or "collected"
    members: tuple[Address, ...] = ()

    def as_json(self) -> dict:
        data = {
            "label": self.label,
            "address": self.address,
            "kind": self.kind,
            # What choosing it inserts: "Name <address>" (RFC 5322 quoting where needed),
            # or a group's members, comma-separated.
            "value": ", ".join(str(m) for m in self.members)
            if self.kind == "group"
            else str(Address(self.label, self.address)),
        }
        if self.kind == "group":
            data["members"] = [
                {"label": m.name, "address": m.address, "value": str(m)} for m in self.members
            ]
        return data


def _matching(owner_id: int, q: str):
    terms = SuggestionTerm.objects.filter(owner_id=owner_id)
    vendor = connections[router.db_for_read(SuggestionTerm)].vendor
    if vendor == "postgresql":
        return terms.filter(term__startswith=q)  # LIKE 'q%' on the pattern_ops index
    return terms.filter(term__gte=q, term__lt=q + "\U0010ffff")


def is_short(q: str) -> bool:
    """Answered from the prefix rows (else from the term range)."""
    return len(q) <= PREFIX_LENGTH


def candidates_query(owner, query: str):
    """The ids of the best rows a keystroke reads, best first, from one index (also what
    the benchmark and the tests EXPLAIN): the prefix rows equal to a short query in
    index order, else the range of terms starting with it, sorted."""
    owner_id = getattr(owner, "pk", owner)
    q = normalize(query)
    if is_short(q):
        return (
            SuggestionPrefix.objects.filter(owner_id=owner_id, prefix=q)
            .order_by("key", "pk")
            .values("pk")[:PREFIX_CANDIDATES]
        )
    return _matching(owner_id, q).order_by("-rank", "tier").values("pk")[:CANDIDATES]


def suggest(owner, query: str, limit: int = LIMIT) -> list[Suggestion]:
    """The owner's best suggestions for what they typed, best first (none if too short).

    Two queries whatever the address book holds and whatever matches: the best
    PREFIX_CANDIDATES prefix rows (a short query) or CANDIDATES terms (a longer one)
    with what they point to (a contact's address and names, a collected row and
    whether a contact has its address, a group's name), then the chosen groups' members.
    """
    q = normalize(query)
    if not is_query(q):
        return []
    owner_id = getattr(owner, "pk", owner)
    best = candidates_query(owner_id, q)
    # A collected address that a saved contact has is shown as the contact only.
    if is_short(q):
        model, order, key = SuggestionPrefix, ("key", "pk"), "collected__address_key"
    else:
        model, order, key = SuggestionTerm, ("-rank", "tier", "pk"), "address_key"
    has_contact = ContactEmail.objects.filter(owner_id=owner_id, address_key=OuterRef(key))
    rows = (
        model.objects.filter(pk__in=best)
        .annotate(hidden=Exists(has_contact))
        .order_by(*order)
        .values_list(
            "email_id",
            "group_id",
            "collected_id",
            "email__address",
            "email__contact__display_name",
            "email__contact__korean_name",
            "email__contact__latin_name",
            "group__name",
            "collected__address",
            "collected__name",
            "hidden",
        )
    )
    picked: dict[tuple[str, int], tuple] = {}
    for email_id, group_id, collected_id, *data in rows:
        if email_id:
            target = ("contact", email_id)
        elif group_id:
            target = ("group", group_id)
        else:
            target = ("collected", collected_id)
        picked.setdefault(target, tuple(data))
    group_ids = [pk for kind, pk in picked if kind == "group"][:limit]
    members = _members(owner_id, group_ids)
    out: list[Suggestion] = []
    for (kind, pk), data in picked.items():
        address, display, korean, latin, group_name, c_address, c_name, hidden = data
        if kind == "contact":
            out.append(Suggestion(display or korean or latin, address, "contact"))
        elif kind == "collected" and not hidden:
            out.append(Suggestion(c_name, c_address, "collected"))
        elif kind == "group" and members.get(pk):
            out.append(Suggestion(group_name, "", "group", tuple(members[pk])))
        if len(out) == limit:
            break
    return out


def _members(owner_id: int, group_ids: list[int]) -> dict[int, list[Address]]:
    """{group id: its members' preferred addresses}, one query (also for no groups)."""
    rows = (
        ContactEmail.objects.filter(
            owner_id=owner_id, preferred=True, contact__groups__in=group_ids or [0]
        )
        .order_by("contact__display_name", "contact_id")
        .values_list(
            "contact__groups",
            "address",
            "contact__display_name",
            "contact__korean_name",
            "contact__latin_name",
        )
    )
    members: dict[int, list[Address]] = {}
    for group_id, address, *labels in rows:
        members.setdefault(group_id, []).append(
            Address(next((n for n in labels if n), ""), address)
        )
    return members


def as_json(owner, query: str) -> list[dict]:
    return [s.as_json() for s in suggest(owner, query)]


__all__ = [
    "as_json",
    "candidates_query",
    "normalize",
    "prefixes",
    "reindex_collected",
    "reindex_contact",
    "reindex_contacts",
    "reindex_group",
    "reindex_owner",
    "sort_key",
    "suggest",
]
