"""Rules on arrival: the filter mailbox.arrival runs for every polled message.

It runs inside the transaction that stores the message (mailbox.ingest), so the
folder, flags and queued forwards commit together with the message or not at all: a
crash leaves neither a stored-but-unfiltered message nor a forward without its
message, and a retried poll finds the UIDL stored and runs nothing twice.

A forward is queued through the outbox like any send, as an ``after_store`` step (it
needs the stored message). It is refused, and only logged, when the guards of
:func:`mailcore.rules.forward_refusal` say so: mail made by machines
(``Auto-Submitted``), mail that already went through this user's rules (``X-Loop``
with the user's loop token) and mail whose sender is the target.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.utils.crypto import salted_hmac

from accounts.models import MailAccount
from mailbox import outbox, send_limits
from mailbox.arrival import Arrival, per_poll
from mailbox.models import Folder, Message
from mailcore.rules import (
    MessageFacts,
    Outcome,
    Rule,
    RuleError,
    evaluate,
    forward_copy,
    forward_refusal,
    message_facts,
)

from . import destinations
from .models import Rule as RuleRow

if TYPE_CHECKING:
    from mailbox.ingest import Fetched

log = logging.getLogger(__name__)


def loop_token(user_id: int) -> str:
    """This user's X-Loop value: the same for all their accounts, opaque, per installation."""
    digest = salted_hmac("rules.loop-token", str(user_id), algorithm="sha256").hexdigest()
    return f"webmail-rules-{digest[:24]}"


def enabled_rules(user_id: int) -> list[Rule]:
    """The user's enabled rules in order, in one query; a broken row is skipped and logged."""
    rules = []
    for row in RuleRow.objects.filter(owner_id=user_id, enabled=True).order_by("position", "id"):
        try:
            rules.append(row.data)
        except RuleError as exc:
            log.warning("rule %s of user %s is invalid, skipped: %s", row.pk, user_id, exc)
    return rules


def apply_rules(account: MailAccount, fetched: Fetched, arrival: Arrival) -> None:
    """The arrival filter: evaluate the user's rules and apply what they decide."""
    rules = per_poll(("rules", account.user_id), lambda: enabled_rules(account.user_id))
    if not rules:
        return
    facts = message_facts(fetched.raw, account.email, parsed=fetched.parsed)
    outcome = evaluate(rules, facts)
    apply_outcome(account, fetched.raw, facts, outcome, arrival, forwarders(rules, outcome))


def forwarders(rules: list[Rule], outcome: Outcome) -> dict[str, str]:
    """address → the name of the first matching rule that forwards there (the Outbox
    labels a rule's forward with it)."""
    names: dict[str, str] = {}
    for index in outcome.matched:
        for action in rules[index].actions:
            if action.kind == "forward":
                names.setdefault(action.argument or "", rules[index].name)
    return names


def apply_outcome(
    account: MailAccount,
    raw: bytes,
    facts: MessageFacts,
    outcome: Outcome,
    arrival: Arrival,
    rule_names: dict[str, str] | None = None,
) -> None:
    if outcome.folder is not None:
        destination = destinations.resolve(account.user_id, outcome.folder)
        if destination is not None and destination.folder == Folder.USER:
            arrival.move_to_user_folder(destination.user_folder_id)
        elif destination is not None:
            arrival.move_to(destination.folder)
    if outcome.trash:
        arrival.move_to_trash()
    arrival.seen = arrival.seen or outcome.seen
    arrival.flagged = arrival.flagged or outcome.flagged
    token = loop_token(account.user_id)
    for address in outcome.forward_to:
        refusal = forward_refusal(facts, address, token)
        if refusal is not None:
            log.info("rule forward to %s refused (%s)", address, refusal)
            continue
        name = (rule_names or {}).get(address, "")
        arrival.after_store.append(_forward_step(account, raw, address, token, name))


def _forward_step(account: MailAccount, raw: bytes, address: str, token: str, rule_name: str):
    def forward(message: Message) -> None:
        try:
            outbox.queue_redirect(
                account,
                forward_copy(raw, token),
                address,
                subject=message.subject,
                rule_name=rule_name,
            )
        except send_limits.OverLimit as exc:  # counted like mail the user sends
            send_limits.log_refused(
                exc, owner_id=account.user_id, account_id=account.pk, what="forward"
            )

    return forward
