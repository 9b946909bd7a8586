"""Where a newly polled message goes and how it arrives: the account's delivery setting,
blocked senders, then the user's rules (registered by the rules app).

`decide` runs inside the transaction that stores the message (mailbox.ingest), and its
`after_store` steps (a rule's forward, queued through the outbox) run in that same
transaction: a crash leaves neither a stored-but-unfiltered message nor a forward
without its message, and a poll that is retried finds the UIDL stored and decides
nothing again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from accounts.models import MailAccount

from .models import AccountDelivery, BlockedSender, Folder, Message

if TYPE_CHECKING:
    from .ingest import Fetched


@dataclass
class Arrival:
    folder: str = Folder.INBOX
    user_folder_id: int | None = None
    seen: bool = False
    flagged: bool = False
    trashed_from: str = ""  # set when a rule moved it to Trash: where Restore puts it
    blocked: bool = False  # from a blocked sender: in Junk, and no rule runs
    # Run with the stored message, inside the storing transaction.
    after_store: list[Callable[[Message], None]] = field(default_factory=list)

    def move_to_user_folder(self, folder_id: int) -> None:
        self.folder, self.user_folder_id = Folder.USER, folder_id
        self.trashed_from = ""

    def move_to(self, folder: str) -> None:
        self.folder, self.user_folder_id = folder, None
        self.trashed_from = ""

    def move_to_trash(self) -> None:
        """Into Trash from where it was going; an own folder stays set for Restore."""
        if self.folder != Folder.TRASH:
            self.folder, self.trashed_from = Folder.TRASH, self.folder


# (account, fetched message, arrival so far) -> None; may change the arrival.
ArrivalFilter = Callable[[MailAccount, "Fetched", Arrival], None]
_filters: list[ArrivalFilter] = []


_poll_memo: ContextVar[dict | None] = ContextVar("arrival_poll_memo", default=None)


@contextlib.contextmanager
def one_poll() -> Iterator[None]:
    """Within the block (one poll), what each message's arrival reads of its owner's
    settings (delivery, blocked senders, rules, vacation reply) is read once, not once per
    message: a poll stores hundreds. A change made during a poll applies from the next."""
    token = _poll_memo.set({})
    try:
        yield
    finally:
        _poll_memo.reset(token)


def per_poll(key: tuple, load: Callable[[], object]):
    """`load()`, once per poll for `key` (every time outside a poll)."""
    memo = _poll_memo.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]


def register(arrival_filter: ArrivalFilter) -> ArrivalFilter:
    """Add a filter that runs on every polled message (the rules app's AppConfig.ready)."""
    if arrival_filter not in _filters:
        _filters.append(arrival_filter)
    return arrival_filter


def decide(account: MailAccount, fetched: Fetched) -> Arrival:
    arrival = Arrival()
    _apply_delivery(account, arrival)
    if is_blocked(account.user_id, sender_address(fetched)):
        arrival.move_to(Folder.JUNK)
        arrival.blocked = True
        return arrival
    for arrival_filter in _filters:
        arrival_filter(account, fetched, arrival)
    return arrival


def _apply_delivery(account: MailAccount, arrival: Arrival) -> None:
    delivery = per_poll(  # lazily: not a queryset built for every message of the poll
        ("delivery", account.pk), lambda: AccountDelivery.objects.filter(account=account).first()
    )
    if delivery is None:
        return
    if delivery.folder_id is not None:
        arrival.move_to_user_folder(delivery.folder_id)
    arrival.seen = delivery.mark_read


def sender_address(fetched: Fetched) -> str:
    sender = fetched.parsed.from_
    return (sender.address if sender else "").strip().lower()


def is_blocked(owner_id: int, address: str) -> bool:
    """Blocked by its address, or by its domain ("@example.com")."""
    if not address:
        return False
    domain = "@" + address.rpartition("@")[2]
    if _poll_memo.get() is not None:  # in a poll: the owner's list, read once
        blocked = per_poll(
            ("blocked", owner_id),
            lambda: set(
                BlockedSender.objects.filter(owner_id=owner_id).values_list("address", flat=True)
            ),
        )
        return address in blocked or domain in blocked
    return BlockedSender.objects.filter(owner_id=owner_id, address__in=[address, domain]).exists()
