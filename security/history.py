"""Login history: every attempt to log in, with its address and the second step.

The password step records an event at once: a success (its second step "pending" when
the user has two-factor login on, until the code page is passed) or a refusal, from
Django's user_login_failed (which the code page sends too for a wrong code). The user is
told at login how many attempts failed since their last completed login: the same
rows the Sessions page lists.
"""

from __future__ import annotations

from datetime import timedelta

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from accounts import twofactor, views_twofactor
from accounts.client_ip import client_ip

from .models import LoginEvent
from .sessions import user_agent

# Session key: the login event whose code step is still to come.
PENDING_EVENT_KEY = "security_login_event"
HISTORY_LENGTH = 30


def _completed_logins():
    return LoginEvent.objects.filter(result=LoginEvent.Result.SUCCESS).exclude(
        two_factor=LoginEvent.TwoFactor.PENDING
    )


def failures_since_last_login(user) -> int:
    last = _completed_logins().filter(user=user).order_by("-time", "-pk").first()
    failures = LoginEvent.objects.filter(user=user).exclude(result=LoginEvent.Result.SUCCESS)
    if last is not None:
        failures = failures.filter(Q(time__gt=last.time) | Q(time=last.time, pk__gt=last.pk))
    return failures.count()


def tell_about_failures(request, user) -> None:
    count = failures_since_last_login(user)
    if count and hasattr(request, "_messages"):
        messages.warning(
            request,
            ngettext(
                "There was %(count)d failed attempt to log in to your account since "
                "your last login.",
                "There were %(count)d failed attempts to log in to your account since "
                "your last login.",
                count,
            )
            % {"count": count},
        )


def record_success(request, user) -> LoginEvent:
    """The password step passed (the code step, if any, is pending)."""
    needs_code = request.session.get(twofactor.SESSION_KEY)
    if needs_code is None:
        needs_code = twofactor.has_device(user)
    event = LoginEvent.objects.create(
        user=user,
        username=user.get_username()[:150],
        ip=client_ip(request),
        user_agent=user_agent(request),
        result=LoginEvent.Result.SUCCESS,
        two_factor=LoginEvent.TwoFactor.PENDING if needs_code else LoginEvent.TwoFactor.NOT_USED,
    )
    if needs_code:
        request.session[PENDING_EVENT_KEY] = event.pk
    else:
        request.session.pop(PENDING_EVENT_KEY, None)
    return event


def record_failure(sender, request, credentials: dict) -> LoginEvent | None:
    if request is None:
        return None
    username = str((credentials or {}).get("username") or "")[:150]
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    code_step = sender == views_twofactor.__name__
    return LoginEvent.objects.create(
        user=user,
        username=username,
        ip=client_ip(request),
        user_agent=user_agent(request),
        result=LoginEvent.Result.CODE_REFUSED if code_step else LoginEvent.Result.PASSWORD_REFUSED,
        locked_out=bool(getattr(request, "axes_locked_out", False)),
    )


def note_second_step(request) -> None:
    """After a request: if this session has just passed the code step, say so on its
    login event (and whether an app code or a recovery code did it)."""
    event_pk = request.session.get(PENDING_EVENT_KEY)
    if event_pk is None:
        return
    device_id = request.session.get(django_otp.DEVICE_ID_SESSION_KEY)
    if not device_id:
        return
    used = (
        LoginEvent.TwoFactor.RECOVERY_CODE
        if str(device_id).startswith("otp_static.")
        else LoginEvent.TwoFactor.CODE
    )
    LoginEvent.objects.filter(pk=event_pk, two_factor=LoginEvent.TwoFactor.PENDING).update(
        two_factor=used
    )
    del request.session[PENDING_EVENT_KEY]


def recent(user) -> list[LoginEvent]:
    return list(LoginEvent.objects.filter(user=user).order_by("-time", "-pk")[:HISTORY_LENGTH])


def prune(now=None) -> int:
    """Daily: login attempts older than WEBMAIL_LOGIN_HISTORY_DAYS go; how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBMAIL_LOGIN_HISTORY_DAYS)
    count, _ = LoginEvent.objects.filter(time__lt=cutoff).delete()
    return count
