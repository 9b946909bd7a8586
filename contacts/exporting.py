"""Exporting contacts as a vCard file.

vCard 3.0 (RFC 2426), UTF-8: the version every address book we would hand the file to
reads — Google Contacts, Apple Contacts, Android, and Outlook, which reads 2.1 and 3.0
but not 4.0 — and the one vobject's serializer is written for. What 4.0 would add for
us (names in several languages through ALTID) we keep in X-WEBMAIL-KOREAN-NAME and
X-WEBMAIL-LATIN-NAME, which other programs ignore and our import reads back, so an
export → import round trip gives the same contacts. Korean is written as it is (UTF-8,
no quoted-printable), and the file is served as ``text/vcard; charset=utf-8``.
"""

from __future__ import annotations

from collections.abc import Iterator

import vobject
from django.db.models import Prefetch, QuerySet

from .importing import KOREAN_NAME, LATIN_NAME
from .models import Contact, ContactEmail

CHUNK = 500


def _name(contact: Contact) -> vobject.vcard.Name:
    if contact.korean_name:
        # 김지현: the family name is the first syllable in nearly every Korean name.
        name = contact.korean_name.replace(" ", "")
        return vobject.vcard.Name(family=name[:1], given=name[1:])
    if contact.latin_name:
        given, _sep, family = contact.latin_name.rpartition(" ")
        return vobject.vcard.Name(family=family, given=given)
    return vobject.vcard.Name()  # N is required in 3.0; FN carries the name


def card(contact: Contact) -> str:
    vcard = vobject.vCard()
    vcard.add("fn").value = str(contact) or (
        contact.emails.all()[0].address if contact.emails.all() else ""
    )
    vcard.add("n").value = _name(contact)
    if contact.korean_name:
        vcard.add(KOREAN_NAME.lower()).value = contact.korean_name
    if contact.latin_name:
        vcard.add(LATIN_NAME.lower()).value = contact.latin_name
    for email in contact.emails.all():
        line = vcard.add("email")
        line.value = email.address
        line.type_param = ["INTERNET", "PREF"] if email.preferred else ["INTERNET"]
    if contact.organization:
        vcard.add("org").value = [contact.organization]
    if contact.phone:
        vcard.add("tel").value = contact.phone
    if contact.notes:
        vcard.add("note").value = contact.notes
    groups = [g.name for g in contact.groups.all()]
    if groups:
        vcard.add("categories").value = groups
    return vcard.serialize()


def export_contacts(owner, group=None) -> QuerySet:
    contacts = Contact.objects.filter(owner=owner)
    if group is not None:
        contacts = contacts.filter(groups=group)
    return contacts.order_by("display_name", "id").prefetch_related(
        Prefetch("emails", queryset=ContactEmail.objects.order_by("-preferred", "id")), "groups"
    )


def vcard_chunks(contacts: QuerySet) -> Iterator[bytes]:
    """The cards of `contacts`, UTF-8, CHUNK contacts per database round trip."""
    for contact in contacts.iterator(chunk_size=CHUNK):
        yield card(contact).encode("utf-8")
