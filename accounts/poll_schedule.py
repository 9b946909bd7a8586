"""When an account's mail is checked next: its own interval, stretched while no mail comes.

Adaptive polling (issue 19), like Gmail's fetcher, which checked between every few
minutes and every hour:

- an account that received new mail in the last day is checked every `poll_interval`
  minutes (what the user chose);
- each further whole day without new mail doubles the wait, up to BACKOFF_CEILING (60
  minutes), or the account's own interval when the user chose a longer one. With the
  default 5 minutes: 10 min after one idle day, 20 after two, 40 after three, 60 from
  the fourth on; a 1-minute account reaches the hour after six idle days;
- new mail (a poll that stores a message) starts it again at the account's interval;
- "Check mail now" and the local fast path (mailbox.polling) poll at once whatever
  the schedule says.

"Idle since" is the last poll that stored new mail (MailAccount.last_mail_at), or the
account's creation when it never received any. Pure functions: no database here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

IDLE_DAY = timedelta(days=1)
BACKOFF_CEILING = timedelta(minutes=60)
_MAX_DOUBLINGS = 16  # far past any ceiling; keeps 2**n small


def poll_interval(minutes: int, idle_since: datetime | None, now: datetime) -> timedelta:
    """The wait between two scheduled polls of an account checked every `minutes`
    minutes that has had no new mail since `idle_since`."""
    base = timedelta(minutes=minutes)
    ceiling = max(base, BACKOFF_CEILING)
    if idle_since is None or now <= idle_since:
        return base
    idle_days = (now - idle_since) // IDLE_DAY
    if idle_days <= 0:
        return base
    return min(base * 2 ** min(idle_days, _MAX_DOUBLINGS), ceiling)
