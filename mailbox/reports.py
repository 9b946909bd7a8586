"""Delivery reports (DSN, RFC 3464) and read receipts (MDN, RFC 8098) coming back.

The poller hands every received report here; it is matched to the message the
user sent by Original-Message-ID, ENVID, or the report's In-Reply-To, and the
outcome is shown on that sent message.
"""

import logging

from mailcore.reports import parse_report

from .models import Outgoing

log = logging.getLogger(__name__)


def looks_like_report(raw: bytes) -> bool:
    end = raw.find(b"\r\n\r\n")
    head = raw[: end if end >= 0 else 65536].lower()
    return b"multipart/report" in head


def record_report(owner_id: int, raw: bytes) -> Outgoing | None:
    report = parse_report(raw)
    if report is None:
        return None
    candidates = Outgoing.objects.filter(owner_id=owner_id).exclude(message_id="")
    outgoing = None
    if report.original_message_id:
        outgoing = candidates.filter(message_id=report.original_message_id).first()
    if outgoing is None and report.original_envelope_id:
        outgoing = candidates.filter(message_id__startswith=report.original_envelope_id).first()
    if outgoing is None:
        log.info("a %s report matched no sent message of user %s", report.kind, owner_id)
        return None
    entries = [
        {
            "kind": report.kind,
            "recipient": r.recipient,
            "action": r.action,
            "status": r.status,
            "diagnostic": r.diagnostic,
            "when": r.when.isoformat() if r.when else None,
        }
        for r in report.recipients
    ]
    outgoing.reports = [*outgoing.reports, *entries]
    outgoing.save(update_fields=["reports", "updated_at"])
    return outgoing
