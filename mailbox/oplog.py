"""One structured log line per poll and per delivery attempt, for operators.

Lines go to the `webmail.ops` logger as key=value pairs (logfmt), e.g.

    event=poll account=3 result=ok new=2 bytes=48211 skipped=0 deleted=2 failed_parse=0
        duration_ms=184
    event=delivery outgoing=17 account=3 attempt=1 result=sent recipients=2 accepted=2
        refused=0 deferred=0 bytes=5120 duration_ms=95

(each on one line)
and the same values as a dict on the record (`record.ops`) for a JSON formatter. They
hold ids, counts, sizes, durations, a result word and an error *kind* (mailcore's
failure code, or "reply" for a server's reply): never a password, an address, a subject,
a server's reply or any message content (ENGINEERING.md, "Secrets").
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable

from .models import Outgoing

log = logging.getLogger("webmail.ops")


def line(event: str, **values) -> str:
    """`event=… key=value …`, values with spaces or quotes quoted."""
    parts = [f"event={event}"]
    for key, value in values.items():
        text = str(value)
        if not text or any(c in text for c in ' "=\\'):
            text = json.dumps(text)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def emit(event: str, level: int = logging.INFO, **values) -> None:
    log.log(level, line(event, **values), extra={"ops": {"event": event, **values}})


def error_kind(stored: str) -> str:
    """The kind of a stored POP3/SMTP error (accounts.mail_errors.record), not its text."""
    if not stored:
        return ""
    if stored.startswith("{"):
        try:
            return str(json.loads(stored).get("code", "unknown"))
        except (ValueError, AttributeError):
            return "unknown"
    return "reply"  # a server's reply, which is not logged


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def logged_poll(poll: Callable) -> Callable:
    """Log one line for each call of `ingest.poll_account` (whatever its outcome)."""

    @functools.wraps(poll)
    def wrapper(account_id: int):
        started = time.monotonic()
        try:
            result = poll(account_id)
        except Exception as exc:
            emit(
                "poll",
                logging.ERROR,
                account=account_id,
                result="crashed",
                error=type(exc).__name__,
                duration_ms=_elapsed_ms(started),
            )
            raise
        if result.locked:
            outcome = "locked"  # another poll of the account was running
        else:
            outcome = "error" if result.error else "ok"
        values = {"account": account_id, "result": outcome}
        if result.error:
            values["error"] = error_kind(result.error)
        emit(
            "poll",
            logging.WARNING if result.error else logging.INFO,
            **values,
            new=result.new,
            bytes=result.bytes,
            skipped=result.skipped,
            deleted=result.deleted,
            failed_parse=result.failed_parse,
            duration_ms=_elapsed_ms(started),
        )
        return result

    return wrapper


def logged_delivery(deliver: Callable) -> Callable:
    """Log one line for each delivery attempt of `outbox.deliver` (a call that finds
    nothing to claim is no attempt: DEBUG)."""

    @functools.wraps(deliver)
    def wrapper(outgoing_id: int):
        started = time.monotonic()
        try:
            outcome = deliver(outgoing_id)
        except Exception as exc:
            emit(
                "delivery",
                logging.ERROR,
                outgoing=outgoing_id,
                result="crashed",
                error=type(exc).__name__,
                duration_ms=_elapsed_ms(started),
            )
            raise
        if outcome == "nothing to do":
            emit("delivery", logging.DEBUG, outgoing=outgoing_id, result="not_due")
            return outcome
        row = (
            Outgoing.objects.filter(pk=outgoing_id)
            .values(
                "account_id",
                "status",
                "attempts",
                "size",
                "recipients",
                "recipient_results",
                "last_error",
            )
            .first()
        ) or {}
        results = row.get("recipient_results") or {}
        accepted = sum(1 for r in results.values() if r.get("accepted"))
        permanent = sum(
            1 for r in results.values() if not r.get("accepted") and (r.get("code") or 0) >= 500
        )
        values = {
            "outgoing": outgoing_id,
            "account": row.get("account_id", ""),
            "attempt": row.get("attempts", ""),
            "result": row.get("status", "gone"),
            "recipients": len(row.get("recipients") or []),
            "accepted": accepted,
            "refused": permanent,
            "deferred": len(row.get("recipients") or []) - accepted - permanent,
            "bytes": row.get("size", 0),
        }
        if row.get("status") != "sent" and row.get("last_error"):
            values["error"] = error_kind(row["last_error"])
        emit(
            "delivery",
            logging.INFO if row.get("status") == "sent" else logging.WARNING,
            **values,
            duration_ms=_elapsed_ms(started),
        )
        return outcome

    return wrapper
