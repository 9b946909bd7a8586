"""Login throttling: django-axes' database handler with two separate budgets.

Failures are counted against the username (from whichever client sends them) and
against the client's address (accounts.client_ip), each within the cool-off window:
`AXES_FAILURE_LIMIT` (default 5) per username and `WEBMAIL_LOGIN_FAILURES_PER_CLIENT`
(default 20) per address. Reaching either locks that username or that address out until
the window has passed. A username is counted whether or not such a user exists, so a
locked name answers the same way either way.

A successful login forgets only the failures of that username from that client: one
account's success never wipes the failures recorded against another account (which is
what axes' own reset does with a lock keyed on the address).

Growing delays: each lock-out of a username within WEBMAIL_LOGIN_COOLOFF_MAX doubles the
next one's cool-off (15 minutes, 30, 60… up to that maximum); `cool_off` is
AXES_COOLOFF_TIME. Failures during a lock-out are not counted (nor do they extend it).

Axes' failure log (AXES_ENABLE_ACCESS_FAILURE_LOG) keeps the lock-outs that the growing
delays count. The user hears of failed attempts at the next login from the login
history instead (security/history.py), which records the code step's failures too.
"""

from __future__ import annotations

from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def _recent_lockouts():
    since = timezone.now() - settings.WEBMAIL_LOGIN_COOLOFF_MAX
    return AccessFailureLog.objects.filter(locked_out=True, attempt_time__gte=since)


def cool_off_for(username: str | None) -> timedelta:
    """The base cool-off, doubled for each recent lock-out of this username."""
    base = settings.WEBMAIL_LOGIN_COOLOFF
    if not username:
        return base
    lockouts = _recent_lockouts().filter(username=username).count()
    return min(base * 2 ** min(max(lockouts - 1, 0), 16), settings.WEBMAIL_LOGIN_COOLOFF_MAX)


def cool_off(request=None) -> timedelta:
    """AXES_COOLOFF_TIME: the cool-off of the username this request is about."""
    return cool_off_for(get_client_username(request) if request is not None else None)


def _sum(queryset) -> int:
    return queryset.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LoginThrottleHandler(AxesDatabaseHandler):
    def failure_counts(self, request, credentials=None) -> tuple[int, int]:
        """(failures against this username, failures from this client) in the window."""
        attempts = AccessAttempt.objects.all()
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        by_username = _sum(attempts.filter(username=username)) if username else 0
        ip_address = getattr(request, "axes_ip_address", None)
        by_client = _sum(attempts.filter(ip_address=ip_address)) if ip_address else 0
        return by_username, by_client

    def get_failures(self, request, credentials=None) -> int:
        """The larger of the two counts, the client's scaled to the per-username limit.

        Axes compares one number with AXES_FAILURE_LIMIT; the client's count reaches that
        limit exactly when it reaches its own (floor(n * a / c) >= a iff n >= c).
        """
        by_username, by_client = self.failure_counts(request, credentials)
        per_username = settings.AXES_FAILURE_LIMIT
        per_client = max(1, settings.WEBMAIL_LOGIN_FAILURES_PER_CLIENT)
        return max(by_username, by_client * per_username // per_client)

    def clean_expired_user_attempts(self, request=None, credentials=None) -> int:
        """Forget each username's attempts older than that username's cool-off (not this
        request's: another username may be in a longer one). Axes adds to a record's
        count while it exists, so an expired record must go before the next failure."""
        now = timezone.now()
        stale = AccessAttempt.objects.filter(attempt_time__lte=now - settings.WEBMAIL_LOGIN_COOLOFF)
        longer = set(_recent_lockouts().values_list("username", flat=True).distinct())
        count, _ = stale.exclude(username__in=longer).delete()
        for username in longer:
            threshold = now - cool_off_for(username)
            deleted, _ = stale.filter(username=username, attempt_time__lte=threshold).delete()
            count += deleted
        return count

    def reset_user_attempts(self, request, credentials=None) -> int:
        """Forget this username's failures from this client, and nothing else."""
        username = get_client_username(request, credentials)
        ip_address = getattr(request, "axes_ip_address", None)
        if not username or not ip_address:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=ip_address).delete()
        return count
