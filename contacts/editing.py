"""Changing the address book: saving a contact with its addresses, groups, merging
duplicates, promoting a collected address. Plain functions over the models, each in
one transaction; the views and the importer call them.

A contact's addresses are given as a whole list (`ContactData.emails`), the way the
edit form and a vCard both describe them: the stored ones are replaced by it, one of
them preferred (the first marked, else the first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .models import CollectedAddress, Contact, ContactEmail, ContactGroup, address_key

NAME_FIELDS = ("display_name", "korean_name", "latin_name")
TEXT_FIELDS = (*NAME_FIELDS, "organization", "phone", "notes")


@dataclass
class EmailData:
    address: str
    preferred: bool = False


@dataclass
class ContactData:
    """A contact as the form or an imported card describes it."""

    display_name: str = ""
    korean_name: str = ""
    latin_name: str = ""
    organization: str = ""
    phone: str = ""
    notes: str = ""
    emails: list[EmailData] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)  # imports: groups made if missing

    def keys(self) -> list[str]:
        return [address_key(e.address) for e in self.emails]


def _unique_emails(emails: Iterable[EmailData]) -> list[EmailData]:
    """One entry per address key, the first spelling kept; exactly one preferred."""
    seen: dict[str, EmailData] = {}
    for email in emails:
        key = address_key(email.address)
        if not key:
            continue
        if key in seen:
            seen[key].preferred = seen[key].preferred or email.preferred
        else:
            seen[key] = EmailData(email.address.strip(), email.preferred)
    result = list(seen.values())
    chosen = next((e for e in result if e.preferred), result[0] if result else None)
    for email in result:
        email.preferred = email is chosen
    return result


def _fill_display_name(contact: Contact) -> None:
    if not contact.display_name.strip():
        contact.display_name = contact.korean_name.strip() or contact.latin_name.strip()


def _store_emails(contact: Contact, emails: Sequence[EmailData], *, new: bool = False) -> None:
    if not new:
        contact.emails.all().delete()
    ContactEmail.objects.bulk_create(
        [
            ContactEmail(
                contact=contact,
                owner_id=contact.owner_id,
                address=e.address,
                address_key=address_key(e.address),
                preferred=e.preferred,
            )
            for e in _unique_emails(emails)
        ]
    )


def _write(contact: Contact, quiet: bool) -> None:
    """Save `contact`; `quiet` writes without post_save (and so without the suggestion
    index's per-contact reindex): for bulk writers that reindex once afterwards
    (contacts.importing)."""
    if not quiet:
        contact.save()
    elif contact.pk is None:
        Contact.objects.bulk_create([contact])
    else:
        fields = {name: getattr(contact, name) for name in TEXT_FIELDS}
        Contact.objects.filter(pk=contact.pk).update(**fields, updated_at=timezone.now())


@transaction.atomic
def save_contact(
    owner, data: ContactData, *, contact: Contact | None = None, groups=None, quiet=False
) -> Contact:
    """Create (contact None) or change a contact of `owner`: its fields, its addresses
    (replaced by `data.emails`) and, when `groups` is given, its groups. `quiet`: see
    _write."""
    if contact is None:
        contact = Contact(owner=owner)
    new = contact.pk is None
    for name in TEXT_FIELDS:
        setattr(contact, name, getattr(data, name).strip())
    _fill_display_name(contact)
    _write(contact, quiet)
    _store_emails(contact, data.emails, new=new)
    if groups is not None:
        contact.groups.set(groups)
    return contact


@transaction.atomic
def delete_contact(contact: Contact) -> None:
    contact.delete()


def find_by_address(owner, address: str) -> Contact | None:
    """The owner's contact with `address` (any case), the oldest if several have it."""
    email = (
        ContactEmail.objects.filter(owner=owner, address_key=address_key(address))
        .select_related("contact")
        .order_by("contact_id")
        .first()
    )
    return email.contact if email else None


# --------------------------------------------------------------------------- groups


def save_group(owner, name: str, *, group: ContactGroup | None = None) -> ContactGroup:
    if group is None:
        group = ContactGroup(owner=owner)
    group.name = name.strip()
    group.save()
    return group


def delete_group(group: ContactGroup) -> None:
    """The group goes; its contacts stay."""
    group.delete()


def add_to_group(group: ContactGroup, contacts: Iterable[Contact]) -> int:
    contacts = [c for c in contacts if c.owner_id == group.owner_id]
    group.contacts.add(*contacts)
    return len(contacts)


def remove_from_group(group: ContactGroup, contacts: Iterable[Contact]) -> int:
    contacts = [c for c in contacts if c.owner_id == group.owner_id]
    group.contacts.remove(*contacts)
    return len(contacts)


# --------------------------------------------------------------------------- merging


def _joined_notes(notes: Iterable[str]) -> str:
    kept: list[str] = []
    for note in notes:
        note = note.strip()
        if note and note not in kept:
            kept.append(note)
    return "\n\n".join(kept)


def absorb(contact: Contact, data: ContactData, *, quiet: bool = False) -> None:
    """Add what `data` knows and `contact` lacks: blank fields filled, addresses and
    notes added; nothing of `contact` is overwritten. Saves `contact` (`quiet`: see
    _write)."""
    for name in TEXT_FIELDS:
        if name == "notes":
            continue
        if not getattr(contact, name).strip() and getattr(data, name).strip():
            setattr(contact, name, getattr(data, name).strip())
    contact.notes = _joined_notes([contact.notes, data.notes])
    _fill_display_name(contact)
    _write(contact, quiet)
    existing = list(contact.emails.all())
    known = {e.address_key for e in existing}
    has_preferred = any(e.preferred for e in existing)
    new = []
    for email in _unique_emails(data.emails):
        key = address_key(email.address)
        if key in known:
            continue
        known.add(key)
        preferred = email.preferred and not has_preferred
        has_preferred = has_preferred or preferred
        new.append(
            ContactEmail(
                contact=contact,
                owner_id=contact.owner_id,
                address=email.address,
                address_key=key,
                preferred=preferred,
            )
        )
    ContactEmail.objects.bulk_create(new)
    if not has_preferred:
        first = contact.emails.order_by("id").first()
        if first is not None:
            ContactEmail.objects.filter(pk=first.pk).update(preferred=True)


def data_of(contact: Contact) -> ContactData:
    return ContactData(
        **{name: getattr(contact, name) for name in TEXT_FIELDS},
        emails=[EmailData(e.address, e.preferred) for e in contact.emails.all()],
    )


@transaction.atomic
def merge_contacts(keep: Contact, others: Sequence[Contact]) -> Contact:
    """`others` into `keep`: every address and group united, blank fields filled, notes
    joined; then the others are deleted. Nothing any of them held is lost."""
    others = [c for c in others if c.pk != keep.pk and c.owner_id == keep.owner_id]
    for other in others:
        absorb(keep, data_of(other))
        keep.groups.add(*other.groups.all())
    Contact.objects.filter(pk__in=[c.pk for c in others]).delete()
    return keep


def possible_duplicates(owner) -> list[list[Contact]]:
    """Sets of the owner's contacts that share an address (any case) or the same
    display name (any case): each set once, biggest first. Two queries over the
    owner's rows (contact_email_owner_key_idx and the contacts themselves)."""
    parent: dict[int, int] = {}

    def find(pk: int) -> int:
        while parent.setdefault(pk, pk) != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    by_key: dict[str, int] = {}
    for key, pk in ContactEmail.objects.filter(owner=owner).values_list("address_key", "contact"):
        if key in by_key and by_key[key] != pk:
            union(pk, by_key[key])
        by_key.setdefault(key, pk)
    by_name: dict[str, int] = {}
    contacts = {c.pk: c for c in Contact.objects.filter(owner=owner).prefetch_related("emails")}
    for contact in contacts.values():
        name = " ".join(contact.display_name.casefold().split())
        if not name:
            continue
        if name in by_name:
            union(contact.pk, by_name[name])
        by_name.setdefault(name, contact.pk)
    sets: dict[int, list[Contact]] = {}
    for pk in parent:
        if pk in contacts:
            sets.setdefault(find(pk), []).append(contacts[pk])
    found = [sorted(s, key=lambda c: c.pk) for s in sets.values() if len(s) > 1]
    return sorted(found, key=lambda s: (-len(s), s[0].pk))


# --------------------------------------------------------------------------- collected


@transaction.atomic
def promote(collected: CollectedAddress, *, keep_collected: bool = True) -> tuple[Contact, bool]:
    """A contact for a collected address: the owner's contact that already has the
    address, or a new one named as the address was collected. Returns (contact,
    created). The collected row stays unless `keep_collected` is False: it holds how
    often and how recently the user wrote to the address, which ranks suggestions."""
    contact = find_by_address(collected.owner, collected.address)
    created = contact is None
    if created:
        contact = save_contact(
            collected.owner,
            ContactData(display_name=collected.name, emails=[EmailData(collected.address, True)]),
        )
    if not keep_collected:
        collected.delete()
    return contact, created
