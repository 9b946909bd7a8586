"""The admin's System status page: is mail flowing, and if not, where does it stop?

Staff with permission to view mail accounts see, on one page: the `/healthz` checks;
each Celery worker that answers Celery's own `inspect stats` broadcast (within
WEBMAIL_STATUS_INSPECT_TIMEOUT seconds, so the page renders quickly when none does, and
says so); when beat last sent each periodic task (mailbox.models.BeatDispatch, written
by the beat process); the outbox by state and the age of the oldest message waiting;
and each mail account's last check, last error and back-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import MailAccount
from mailbox.models import BeatDispatch, Outgoing, OutgoingStatus

from . import health
from .celery import app

ACCOUNTS_PER_PAGE = 50
WAITING = [OutgoingStatus.QUEUED, OutgoingStatus.SENDING, OutgoingStatus.RETRYING]
STUCK = [OutgoingStatus.FAILED, OutgoingStatus.UNKNOWN]  # waiting for their owner
# Beat sends its tasks every minute; later than this, it has probably stopped.
BEAT_LATE_AFTER = timedelta(minutes=3)
PERMISSION = "accounts.view_mailaccount"
CHECK_LABELS = {
    "database": _("Database"),
    "broker": _("Celery broker"),
    "storage": _("Media storage"),
}


@dataclass
class Worker:
    name: str
    answered_at: datetime
    started_at: datetime | None
    processed: int
    concurrency: int | None
    pid: int | None


def answering_workers(timeout: float, celery_app=app) -> list[Worker]:
    """The workers that answer Celery's `inspect stats` broadcast within `timeout`."""
    replies = celery_app.control.inspect(timeout=timeout).stats() or {}
    now = timezone.now()
    workers = []
    for name, stats in sorted(replies.items()):
        uptime = stats.get("uptime")
        workers.append(
            Worker(
                name=name,
                answered_at=now,
                started_at=now - timedelta(seconds=uptime)
                if isinstance(uptime, int | float)
                else None,
                processed=sum((stats.get("total") or {}).values()),
                concurrency=(stats.get("pool") or {}).get("max-concurrency"),
                pid=stats.get("pid"),
            )
        )
    return workers


def outbox_summary(now: datetime) -> dict:
    counts = dict(
        Outgoing.objects.filter(status__in=[*WAITING, *STUCK])
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    due = Q(send_after__isnull=True) | Q(send_after__lte=now)
    oldest = (
        Outgoing.objects.filter(due, status__in=WAITING)
        .annotate(due_since=Coalesce("send_after", "queued_at", "created_at"))
        .order_by("due_since")
        .values_list("due_since", flat=True)
        .first()
    )
    return {
        "states": [
            (label, counts.get(value, 0))
            for value, label in OutgoingStatus.choices
            if value in (*WAITING, *STUCK)
        ],
        "scheduled": Outgoing.objects.filter(
            status=OutgoingStatus.QUEUED, send_after__gt=now
        ).count(),
        "oldest_due_since": oldest,
        "oldest_age": now - oldest if oldest else None,
    }


def accounts_page(request, now: datetime):
    accounts = (
        MailAccount.objects.select_related("user")
        .annotate(
            trouble=Case(
                When(~Q(last_poll_error="") | Q(auth_failures__gt=0), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("trouble", "email", "id")
    )
    page = Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    for account in page:
        account.backing_off = account.auth_failures > 0 and bool(
            account.next_poll_at and account.next_poll_at > now
        )
        account.checking = bool(account.poll_lock_until and account.poll_lock_until > now)
    return page


def system_status(request):
    """The page (admin.site.admin_view makes it staff-only)."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    now = timezone.now()
    checks = health.run_checks()
    timeout = settings.WEBMAIL_STATUS_INSPECT_TIMEOUT
    workers = answering_workers(timeout) if checks["broker"] == "ok" else []
    dispatches = list(BeatDispatch.objects.all())
    last_dispatch = max((d.dispatched_at for d in dispatches), default=None)
    summary = {
        "accounts": MailAccount.objects.count(),
        "accounts_failing": MailAccount.objects.exclude(last_poll_error="").count(),
    }
    context = {
        **admin.site.each_context(request),
        "title": _("System status"),
        "now": now,
        "checks": [(CHECK_LABELS[name], value == "ok", value) for name, value in checks.items()],
        "broker_ok": checks["broker"] == "ok",
        "workers": workers,
        "inspect_timeout": timeout,
        "dispatches": dispatches,
        "last_dispatch": last_dispatch,
        "beat_late": last_dispatch is None or now - last_dispatch > BEAT_LATE_AFTER,
        "outbox": outbox_summary(now),
        "accounts": accounts_page(request, now),
        "summary": summary,
    }
    return TemplateResponse(request, "admin/system_status.html", context)
