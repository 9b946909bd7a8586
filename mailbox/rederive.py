"""Re-derive stored mail from its original bytes, with the parser of today.

Everything but the raw message is derived from it (ENGINEERING.md: "byte-exact
originals"), so when the parser learns to read mail better - parts sliced from the
raw bytes instead of re-serialised, a named inline text part shown as the body, the
text parts' charset for raw 8-bit headers, a local-part-only sender kept as an
address, files inside winmail.dat and uuencoded blocks, signature parts no longer
listed as attachments, undeclared Russian and Japanese headers, the senders and
subjects of attached messages for search - mail already stored
is brought up to date here: its attachment rows and the header and body fields the
parser fills. What the user did to a message (folder, flags, snooze, thread) is left
alone.

Safe to run twice: a message whose derived values already match is not written, so
a second run reports no changes. New attachment files are written (content-addressed,
durable) before the transaction that points rows at them; files no longer referenced
are left for the blob garbage collection.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.db import transaction

from mailcore import mime
from mailcore.addresses import Address

from .ingest import MAX_BODY_CHARS, attachment_row, store_blob
from .models import Attachment, Message
from .search import attached_text, name_initials, search_vector

log = logging.getLogger(__name__)

# The Message fields the parser derives (and the poll stores), compared one by one.
DERIVED_FIELDS = (
    "subject",
    "from_name",
    "from_address",
    "to",
    "cc",
    "reply_to",
    "snippet",
    "text_body",
    "html_body",
    "has_attachments",
    "protection",
    "signer",
    "defects",
    "name_initials",
    "attached_text",
)
_SEARCHED = frozenset(
    {"subject", "from_name", "from_address", "to", "cc", "text_body", "attached_text"}
)


@dataclass
class Summary:
    checked: int = 0
    changed: int = 0
    missing_raw: int = 0
    failed: int = 0
    # How many messages changed in each field ("attachments" for the attachment rows).
    fields: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [
            f"checked {self.checked} messages, changed {self.changed}",
            *(f"  {name}: {count}" for name, count in sorted(self.fields.items())),
        ]
        if self.missing_raw:
            out.append(f"original missing or unreadable: {self.missing_raw} (left as they are)")
        if self.failed:
            out.append(f"could not be re-derived: {self.failed} (left as they are)")
        return out


def _addresses(addresses: list[Address]) -> str:
    # The same text the poll stores (mailbox.ingest).
    return ", ".join(
        f"{a.name} <{a.address}>" if a.name and a.address else (a.address or a.name)
        for a in addresses
    )


def _derived(parsed: mime.ParsedMessage) -> dict[str, object]:
    from_ = parsed.from_ or Address("", "")
    return {
        "subject": parsed.subject,
        "from_name": from_.name[:255],
        "from_address": from_.address[:320],
        "to": _addresses(parsed.to),
        "cc": _addresses(parsed.cc),
        "reply_to": _addresses(parsed.reply_to),
        "snippet": parsed.snippet(160),
        "text_body": parsed.text_body,
        "html_body": parsed.html_body,
        "has_attachments": parsed.has_attachments,
        "protection": parsed.protection,
        "signer": parsed.signer[:320],
        "defects": parsed.defects[:50],
        "name_initials": name_initials(a.name for a in [from_, *parsed.to, *parsed.cc]),
        "attached_text": attached_text(parsed.attached),
    }


def _row_key(filename: str, safe_name: str, ctype: str, size: int, sha: str, cid: str, *flags):
    return (filename[:1000], safe_name, ctype[:255], size, sha, cid[:998], *map(bool, flags))


def rederive_message(message: Message, *, dry_run: bool = False) -> list[str] | None:
    """Bring one stored message up to date; the names of what changed (empty if
    nothing did), or None if its original could not be read."""
    try:
        with default_storage.open(message.raw_file.name, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    parsed = mime.parse_message(raw, message.received_at)
    derived = _derived(parsed)
    changed = [name for name in DERIVED_FIELDS if getattr(message, name) != derived[name]]
    digests = [hashlib.sha256(part.payload).hexdigest() for part in parsed.attachments]
    wanted = [
        _row_key(
            p.filename,
            p.safe_name,
            p.content_type,
            len(p.payload),
            d,
            p.content_id,
            p.inline,
            p.derived,
        )
        for p, d in zip(parsed.attachments, digests, strict=True)
    ]
    stored = [
        _row_key(
            a.filename,
            a.safe_name,
            a.content_type,
            a.size,
            a.sha256,
            a.content_id,
            a.inline,
            a.derived,
        )
        for a in message.attachments.order_by("id")
    ]
    if wanted != stored:
        changed.append("attachments")
    if dry_run or not changed:
        return changed
    rows = []
    if "attachments" in changed:
        for part in parsed.attachments:
            name, digest = store_blob("attachments", part.payload)  # durable before the commit
            rows.append(attachment_row(part, name, digest, message=message))
    for name in DERIVED_FIELDS:
        setattr(message, name, derived[name])
    update_fields = [name for name in changed if name != "attachments"]
    if _SEARCHED.intersection(update_fields):
        vector = search_vector(
            message, parsed.text_body or mime.html_to_text(parsed.html_body, MAX_BODY_CHARS)
        )
        if vector is not None:
            message.search_vector = vector
            update_fields.append("search_vector")
    with transaction.atomic():
        if update_fields:
            message.save(update_fields=update_fields)
        if "attachments" in changed:
            message.attachments.all().delete()
            Attachment.objects.bulk_create(rows)
    return changed


def rederive(messages: Iterable[Message], *, dry_run: bool = False) -> Summary:
    """Re-derive each message (see :func:`rederive_message`); one bad one never stops
    the rest."""
    summary = Summary()
    for message in messages:
        summary.checked += 1
        try:
            changed = rederive_message(message, dry_run=dry_run)
        except Exception:  # noqa: BLE001 - report it, keep the row as it is, go on
            log.exception("re-deriving message %s failed", message.pk)
            summary.failed += 1
            continue
        if changed is None:
            summary.missing_raw += 1
        elif changed:
            summary.changed += 1
            summary.fields.update(changed)
    return summary
