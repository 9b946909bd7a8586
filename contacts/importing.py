"""Importing contacts: vCard 3.0 and 4.0 files and the CSV files Gmail, Outlook and
Naver export, read into ContactData, previewed, then stored.

Reading: the bytes are UTF-8 (with or without a byte order mark) or, failing that,
CP949 (what Korean Excel and Naver write). A file whose first line is BEGIN:VCARD is a
vCard file: it is cut into its cards at the BEGIN:VCARD / END:VCARD lines and each card
is parsed by vobject on its own, so a malformed card is reported with its position
(card number and line) and the others are read. Anything else is read as CSV and its
header row decides which column is what (see CSV_COLUMNS: the headers Google Contacts,
Outlook, in English and Korean, and Naver write).

A card or row is taken whole or not at all: an address that cannot be sent to, a line
break in a name or a value longer than its field skips it with the reason, never a
contact with part of what the card said.

Storing (:func:`apply`): in one transaction, each entry in a savepoint of its own. An
entry whose address the user already has (any case) is merged into that contact (blank
fields filled, new addresses and groups added, nothing overwritten); entries of the
same file that share an address are merged together. :func:`plan` says beforehand what
:func:`apply` will do, for the preview page.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import vobject
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from mailcore.addresses import AddressError, normalise_addr_spec
from mailcore.mime.headers import has_control_chars

from . import suggestions
from .editing import ContactData, EmailData, absorb, save_contact
from .models import Contact, ContactEmail, ContactGroup

MAX_ENTRIES = 20_000
FIELD_LIMITS = {
    "display_name": 200,
    "korean_name": 200,
    "latin_name": 200,
    "organization": 200,
    "phone": 64,
}
GROUP_NAME_LIMIT = 100
# Our own properties, so an exported card comes back with both name forms.
KOREAN_NAME = "X-WEBMAIL-KOREAN-NAME"
LATIN_NAME = "X-WEBMAIL-LATIN-NAME"
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e\u1100-\u11ff]")
_BEGIN = re.compile(r"^\s*BEGIN\s*:\s*VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*END\s*:\s*VCARD\s*$", re.IGNORECASE)


class Unreadable(Exception):
    """The file as a whole cannot be read (not vCard, not a CSV with known columns)."""


@dataclass
class Entry:
    """One card or CSV row: its contact, or why it is skipped."""

    position: int  # the card's number, or the CSV row's line
    line: int  # the line it starts on
    data: ContactData | None = None
    problem: str = ""

    @property
    def label(self) -> str:
        data = self.data
        if data is None:
            return ""
        first = data.emails[0].address if data.emails else ""
        return data.display_name or data.korean_name or data.latin_name or first


@dataclass
class Parsed:
    kind: str  # "vcard" or "csv"
    entries: list[Entry]


# --------------------------------------------------------------------------- bytes


def decode(raw: bytes) -> str:
    """UTF-8 (a BOM dropped), else CP949; CP949 decodes every Korean Windows file."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp949")
    except UnicodeDecodeError:
        raise Unreadable(_("The file is neither UTF-8 nor CP949 text.")) from None


def read_file(raw: bytes) -> Parsed:
    text = decode(raw)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if _BEGIN.match(first):
        return Parsed("vcard", list(_vcard_entries(text)))
    return Parsed("csv", list(_csv_entries(text)))


# --------------------------------------------------------------------------- checks


def _check(data: ContactData) -> str:
    """Why `data` cannot be stored as it is, or ""."""
    for name, limit in FIELD_LIMITS.items():
        value = getattr(data, name)
        if has_control_chars(value):
            return _("a line break in a name or the phone number")
        if len(value) > limit:
            return _("a value longer than %(limit)s characters") % {"limit": limit}
    for email in data.emails:
        try:
            normalise_addr_spec(email.address)
        except AddressError:
            return _("“%(item)s” is not a valid email address.") % {"item": email.address[:80]}
        if len(email.address) > 320:
            return _("a value longer than %(limit)s characters") % {"limit": 320}
    for name in data.group_names:
        if has_control_chars(name) or len(name) > GROUP_NAME_LIMIT:
            return _("a group name that cannot be used")
    if not (data.display_name or data.korean_name or data.latin_name or data.emails):
        return _("no name and no email address")
    return ""


def _names(
    data: ContactData, full: str, family: str, given: str, middle: str = "", *, guess=False
) -> None:
    """Korean and Latin name forms from a structured name: 김 + 지현 → 김지현,
    Kim + Jihyun → Jihyun Kim; with `guess`, from the full name when there is no
    structured one (a CSV's single name column)."""
    family, given, middle = family.strip(), given.strip(), middle.strip()
    structured_text = family + given + middle
    if _HANGUL.search(structured_text):
        data.korean_name = data.korean_name or f"{family}{given}{middle}"
    elif structured_text:
        data.latin_name = data.latin_name or " ".join(p for p in (given, middle, family) if p)
    elif full and guess:
        if _HANGUL.search(full):
            data.korean_name = data.korean_name or full
        else:
            data.latin_name = data.latin_name or full
    data.display_name = full.strip() or data.korean_name or data.latin_name


def _finish(entry: Entry) -> Entry:
    data = entry.data
    if data is not None:
        for name in (*FIELD_LIMITS, "notes"):
            setattr(data, name, getattr(data, name).strip())
        data.emails = [e for e in data.emails if e.address]
        data.group_names = [g.strip() for g in data.group_names if g.strip()]
        entry.problem = _check(data)
        if entry.problem:
            entry.data = None
    return entry


# --------------------------------------------------------------------------- vCard


def _cards(text: str) -> Iterator[tuple[int, str | None]]:
    """(first line, card text) for each BEGIN:VCARD..END:VCARD; (line, None) for a card
    that never ends. Nested cards (vCard 2.1 AGENT) stay inside their card."""
    lines = text.splitlines()
    start = None
    depth = 0
    for number, line in enumerate(lines, start=1):
        if _BEGIN.match(line):
            if depth == 0:
                start = number
            depth += 1
        elif _END.match(line) and depth:
            depth -= 1
            if depth == 0 and start is not None:
                yield start, "\r\n".join(lines[start - 1 : number]) + "\r\n"
                start = None
    if start is not None:
        yield start, None


def _text(value) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v)
    return str(value or "")


def _card_data(card) -> ContactData:
    data = ContactData()
    contents = card.contents
    full = _text(contents["fn"][0].value) if "fn" in contents else ""
    for prop, attr in ((KOREAN_NAME, "korean_name"), (LATIN_NAME, "latin_name")):
        key = prop.lower()
        if key in contents:
            setattr(data, attr, _text(contents[key][0].value))
    family = given = middle = ""
    if "n" in contents:
        name = contents["n"][0].value
        if isinstance(name, vobject.vcard.Name):
            family, given, middle = _text(name.family), _text(name.given), _text(name.additional)
        else:
            family = _text(name)
    _names(data, full, family, given, middle)
    if "org" in contents:
        data.organization = _text(contents["org"][0].value)
    if "tel" in contents:
        tel = _text(contents["tel"][0].value)
        data.phone = tel[4:] if tel.lower().startswith("tel:") else tel
    if "note" in contents:
        data.notes = "\n".join(_text(n.value) for n in contents["note"])
    for line in contents.get("email", []):
        address = _text(line.value).strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        types = [t.upper() for t in line.params.get("TYPE", [])]
        pref = "PREF" in types or bool(line.params.get("PREF"))
        data.emails.append(EmailData(address, pref))
    for line in contents.get("categories", []):
        value = line.value if isinstance(line.value, list) else [line.value]
        data.group_names.extend(_text(v) for v in value)
    # A preferred address of vCard 4.0 is the lowest PREF=1..100; of 3.0, TYPE=PREF.
    ranked = [
        (int(line.params.get("PREF", ["100"])[0]) if _is_int(line.params.get("PREF")) else 100)
        for line in contents.get("email", [])
    ]
    if ranked and any(r < 100 for r in ranked) and len(ranked) == len(data.emails):
        best = ranked.index(min(ranked))
        for index, email in enumerate(data.emails):
            email.preferred = index == best
    return data


def _is_int(values) -> bool:
    return bool(values) and str(values[0]).isdigit()


def _vcard_entries(text: str) -> Iterator[Entry]:
    for position, (line, card_text) in enumerate(_cards(text), start=1):
        if position > MAX_ENTRIES:
            yield Entry(position, line, problem=_("more cards than can be imported at once"))
            return
        if card_text is None:
            yield Entry(position, line, problem=_("the card has no END:VCARD"))
            continue
        try:
            card = vobject.readOne(card_text, ignoreUnreadable=False)
            data = _card_data(card)
        except Exception as exc:  # noqa: BLE001 - vobject raises many kinds; the card is skipped
            yield Entry(position, line, problem=_problem_text(exc))
            continue
        yield _finish(Entry(position, line, data))


def _problem_text(exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
    return _("the card cannot be read (%(detail)s)") % {"detail": detail}


# --------------------------------------------------------------------------- CSV

# What each column of Gmail's, Outlook's and Naver's exports is, by its normalised header
# (lowercased, spaces collapsed). E-mail and phone columns are recognised by pattern
# (_EMAIL_COLUMN, _PHONE_COLUMN): "E-mail 1 - Value", "E-mail 2 Address", "이메일2" ...
CSV_COLUMNS = {
    # Google Contacts (2023-), Google's older export, Outlook, and their Korean versions.
    "first name": "given",
    "given name": "given",
    "middle name": "middle",
    "additional name": "middle",
    "last name": "family",
    "family name": "family",
    "name": "full",
    "display name": "full",
    "full name": "full",
    "file as": "file_as",
    "성": "family",
    "중간 이름": "middle",
    "표시 이름": "full",
    "전체 이름": "full",
    "organization name": "organization",
    "organization 1 - name": "organization",
    "company": "organization",
    "회사": "organization",
    "회사명": "organization",
    "회사 이름": "organization",
    "notes": "notes",
    "note": "notes",
    "메모": "notes",
    "labels": "groups",
    "group membership": "groups",
    "categories": "groups",
    "그룹": "groups",
    "범주": "groups",
}
_EMAIL_COLUMN = re.compile(
    r"^(e-?mail|이메일|전자 ?메일|메일)(\s*\d+)?(\s*(-\s*value|address|주소))?(\s*\d+\s*주소)?$"
)
_PHONE_COLUMN = re.compile(
    r"^(phone(\s*\d+)?\s*-\s*value|mobile phone|primary phone|business phone|home phone|"
    r"phone|telephone|휴대폰|휴대 전화|휴대전화|전화|전화번호|핸드폰|회사 전화|집 전화)$"
)
_GOOGLE_SYSTEM_LABEL = "* "


def _column_kinds(header: list[str]) -> list[str]:
    names = [" ".join(h.strip().casefold().split()) for h in header]
    kinds = []
    for name in names:
        if name in CSV_COLUMNS:
            kinds.append(CSV_COLUMNS[name])
        elif _EMAIL_COLUMN.match(name):
            kinds.append("email")
        elif _PHONE_COLUMN.match(name):
            kinds.append("phone")
        elif name == "이름":
            # Outlook's Korean export has 성 and 이름 (given); Naver's has 이름 alone.
            kinds.append("given" if "성" in names else "full")
        else:
            kinds.append("")
    return kinds


def _groups(value: str) -> list[str]:
    # Google: "* myContacts ::: Friends"; Outlook: "Friends;Work"; Naver: "친구,회사".
    parts = re.split(r"\s*(?::::|;|,)\s*", value)
    return [p for p in parts if p and not p.startswith(_GOOGLE_SYSTEM_LABEL)]


def _csv_entries(text: str) -> Iterator[Entry]:
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise Unreadable(_("The file is empty.")) from None
    kinds = _column_kinds(header)
    if "email" not in kinds and not {"full", "given", "family"} & set(kinds):
        raise Unreadable(
            _("The file is neither a vCard file nor a CSV file with name or e-mail columns.")
        )
    position = 0
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            position += 1
            yield Entry(position, line, problem=_problem_text(exc))
            continue
        if not any(cell.strip() for cell in row):
            continue
        position += 1
        if position > MAX_ENTRIES:
            yield Entry(position, line, problem=_("more cards than can be imported at once"))
            return
        yield _finish(Entry(position, line, _row_data(kinds, row)))


def _row_data(kinds: list[str], row: list[str]) -> ContactData:
    data = ContactData()
    parts: dict[str, str] = {}
    for kind, cell in zip(kinds, row, strict=False):
        cell = cell.strip()
        if not kind or not cell:
            continue
        if kind == "email":
            # Google puts several addresses in one cell: "a@x ::: b@y".
            for address in re.split(r"\s*:::\s*|\s*;\s*", cell):
                if address:
                    data.emails.append(EmailData(address, not data.emails))
        elif kind == "phone":
            data.phone = data.phone or cell.split(":::")[0].strip()
        elif kind == "groups":
            data.group_names.extend(_groups(cell))
        elif kind == "notes":
            data.notes = f"{data.notes}\n{cell}".strip()
        else:
            parts.setdefault(kind, cell)
    full = parts.get("full") or parts.get("file_as", "")
    family, given, middle = parts.get("family", ""), parts.get("given", ""), parts.get("middle", "")
    if not full and (family or given):
        full = f"{family}{given}" if _HANGUL.search(family + given) else f"{given} {family}"
    _names(data, full.strip(), family, given, middle, guess=True)
    data.organization = parts.get("organization", "")
    return data


# --------------------------------------------------------------------------- plan, apply


@dataclass
class Planned:
    entry: Entry
    action: str  # "new", "merge" or "skip"
    into: str = ""  # the contact (or earlier card) it is merged into


@dataclass
class Plan:
    items: list[Planned] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)

    @property
    def new(self) -> int:
        return self.count("new")

    @property
    def merged(self) -> int:
        return self.count("merge")

    @property
    def skipped(self) -> list[Entry]:
        return [item.entry for item in self.items if item.action == "skip"]


def _existing(owner) -> dict[str, tuple[int, str]]:
    """The owner's address keys → (contact id, contact name): one query."""
    rows = (
        ContactEmail.objects.filter(owner=owner)
        .order_by("contact_id")
        .values_list("address_key", "contact_id", "contact__display_name")
    )
    found: dict[str, tuple[int, str]] = {}
    for key, pk, name in rows:
        found.setdefault(key, (pk, name))
    return found


def plan(owner, entries: list[Entry]) -> Plan:
    """What :func:`apply` would do with each entry, for the preview."""
    existing = _existing(owner)
    in_file: dict[str, str] = {}
    result = Plan()
    for entry in entries:
        if entry.data is None:
            result.items.append(Planned(entry, "skip"))
            continue
        keys = entry.data.keys()
        target = next((existing[k][1] or k for k in keys if k in existing), None)
        if target is None:
            target = next((in_file[k] for k in keys if k in in_file), None)
        label = entry.label
        for key in keys:
            in_file.setdefault(key, label)
        result.items.append(Planned(entry, "merge" if target else "new", target or ""))
    return result


@dataclass
class Summary:
    created: int = 0
    merged: int = 0
    skipped: list[Entry] = field(default_factory=list)


@transaction.atomic
def apply(owner, entries: list[Entry]) -> Summary:
    """Store `entries` for `owner` (see the module's docstring); each entry whole or not
    at all, all of them in one transaction."""
    summary = Summary()
    by_key = {k: pk for k, (pk, _name) in _existing(owner).items()}
    groups = {g.name: g for g in ContactGroup.objects.filter(owner=owner)}
    touched: set[int] = set()
    for entry in entries:
        if entry.data is None:
            summary.skipped.append(entry)
            continue
        data = entry.data
        try:
            with transaction.atomic():
                target_pk = next((by_key[k] for k in data.keys() if k in by_key), None)
                if target_pk is None:
                    contact = save_contact(owner, data, quiet=True)
                    summary.created += 1
                else:
                    contact = Contact.objects.get(pk=target_pk, owner=owner)
                    absorb(contact, data, quiet=True)
                    summary.merged += 1
                wanted = []
                for name in dict.fromkeys(data.group_names):
                    if name not in groups:
                        groups[name] = ContactGroup.objects.create(owner=owner, name=name)
                    wanted.append(groups[name])
                if wanted:
                    contact.groups.add(*wanted)
        except DatabaseError as exc:
            entry.problem = _problem_text(exc)
            summary.skipped.append(entry)
            groups = {g.name: g for g in ContactGroup.objects.filter(owner=owner)}
            continue
        touched.add(contact.pk)
        for key in data.keys():
            by_key.setdefault(key, contact.pk)
    # The contacts were written quietly (editing._write): their suggestion terms in
    # one pass, a few queries per batch instead of a reindex per card.
    suggestions.reindex_contacts(owner, sorted(touched))
    return summary
