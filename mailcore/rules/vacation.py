"""Whether a vacation (out-of-office) reply may answer a message, and to whom.

The safeguards of RFC 3834 (automatic responses) and Sieve's vacation extension
(RFC 5230 §4.5-§4.7, §5), Django-free so they are tested with bytes alone:

* never to mail made by machines: ``Auto-Submitted`` with any value but ``no``, or the
  de-facto ``X-Auto-Response-Suppress`` (OOF/All) and ``X-Autoreply`` markers;
* never to mailing lists or bulk mail: any ``List-*`` field of RFC 2369/2919, or
  ``Precedence: list``, ``bulk`` or ``junk``;
* never to an empty envelope sender (``Return-Path: <>``: bounces and reports), nor to
  the addresses RFC 5230 §4.6 names (``MAILER-DAEMON``, ``owner-*``, ``*-request``,
  ``LISTSERV``, ``majordomo``) and the usual ``postmaster``/``noreply`` senders;
* never to the user's own addresses (the author or the reply target);
* only when one of the account's addresses is visibly in To or Cc (RFC 5230 §4.5): a
  message that reached the user as a Bcc or through a list is not answered.

Where the reply goes (RFC 3834 §4, RFC 5230 §4.5): to the envelope sender, which the
delivering server records as ``Return-Path`` (the topmost one: the last delivery); only a
message with no ``Return-Path`` at all (mail not written by an MTA's final delivery, as
in tests and some local setups) falls back to its From. Reply-To is never used: it often
names a list or a third party, and an automatic answer must reach only the sender.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from .facts import MessageFacts

__all__ = ["AUTO_REPLIED", "Refusal", "reply_target", "vacation_refusal"]

AUTO_REPLIED = "auto-replied"

Refusal = Literal[
    "auto-submitted", "list", "bulk", "null-sender", "machine", "own-address", "not-addressed"
]

LIST_FIELDS = (
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
    "list-unsubscribe-post",
)
BULK_PRECEDENCE = frozenset({"list", "bulk", "junk"})
# Local parts that are never a person (RFC 5230 §4.6 names the first ones).
_MACHINE_LOCAL = re.compile(
    r"""^(
        mailer-daemon | postmaster | listserv | majordomo | mailman
        | owner-.* | .*-request | .*-owner
        | (.*[-+._])?bounces?([-+._].*)?
        | no[-_.]?reply([-+._].*)? | do[-_.]?not[-_.]?reply([-+._].*)?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def _key(address: str) -> str:
    return address.strip().strip("<>").casefold()


def reply_target(facts: MessageFacts) -> str | None:
    """The address an automatic reply goes to; None when there is none (``<>``)."""
    if facts.header("return-path"):
        found = facts.addresses.get("return-path", [])
        return found[0].strip() if found else None
    found = facts.addresses.get("from", [])
    return found[0].strip() if found else None


def _automatic(facts: MessageFacts) -> bool:
    for value in facts.header("auto-submitted"):
        if value.split(";", 1)[0].strip().lower() != "no":
            return True
    for value in facts.header("x-auto-response-suppress"):
        if {v.strip().lower() for v in value.split(",")} & {"oof", "all"}:
            return True
    return bool(facts.header("x-autoreply") or facts.header("x-autorespond"))


def is_machine_address(address: str) -> bool:
    return bool(_MACHINE_LOCAL.match(address.rpartition("@")[0].strip()))


def vacation_refusal(
    facts: MessageFacts, *, account_addresses: Iterable[str], own_addresses: Iterable[str]
) -> Refusal | None:
    """Why no vacation reply may answer ``facts`` (None: it may).

    ``account_addresses``: the receiving account's address and its send-as aliases (one
    of them must be in To or Cc); ``own_addresses``: every address of the user, which is
    never answered.
    """
    if _automatic(facts):
        return "auto-submitted"
    if any(facts.header(name) for name in LIST_FIELDS):
        return "list"
    if any(v.strip().lower() in BULK_PRECEDENCE for v in facts.header("precedence")):
        return "bulk"
    target = reply_target(facts)
    if not target:
        return "null-sender"
    if is_machine_address(target) or any(is_machine_address(a) for a in facts.addrs(["from"])):
        return "machine"
    own = {_key(a) for a in own_addresses}
    if _key(target) in own or any(_key(a) in own for a in facts.addrs(["from", "sender"])):
        return "own-address"
    mine = {_key(a) for a in account_addresses}
    if not any(_key(a) in mine for a in facts.addrs(["to", "cc"])):
        return "not-addressed"
    return None


def addressed_alias(facts: MessageFacts, addresses: Iterable[str]) -> str | None:
    """The first of ``addresses`` found in To or Cc, as it is spelled in ``addresses``
    (RFC 5230 erratum 2035: the reply comes from the address the sender wrote to)."""
    by_key = {_key(a): a for a in addresses}
    for found in facts.addrs(["to", "cc"]):
        if _key(found) in by_key:
            return by_key[_key(found)]
    return None
