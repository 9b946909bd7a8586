"""Password reset by mail, served only when the site can send mail (EMAIL_URL set).

Without system mail (`WEBMAIL_SYSTEM_MAIL` false) every reset page answers 404 and the
login page does not link to them: administrators reset passwords in the admin. With
it, Django's views, throttled: per client address (`WEBMAIL_PASSWORD_RESET_PER_CLIENT`
requests an hour, then a 429 page) and per address asked for
(`WEBMAIL_PASSWORD_RESET_PER_ADDRESS` an hour, then nothing is sent but the answer is
the same, so it tells nothing about whether the address exists). Links are valid for
PASSWORD_RESET_TIMEOUT (at most an hour).
"""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.sites.shortcuts import get_current_site
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation

from . import tasks
from .client_ip import client_ip

WINDOW_SECONDS = 3600


def context(request) -> dict:
    """Template context processor: whether pages may link to the reset page."""
    return {"password_reset_enabled": settings.WEBMAIL_SYSTEM_MAIL}


def take(key: str, limit: int, window: int = WINDOW_SECONDS) -> bool:
    """Count one request under `key`; False once more than `limit` came in the window."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count <= limit


def _system_mail_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.WEBMAIL_SYSTEM_MAIL:
            raise Http404
        return view(request, *args, **kwargs)

    return login_not_required(wrapped)


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's form, but the mail goes out from a worker after the request: the answer
    takes as long whether or not the address has an account."""

    def save(self, request=None, use_https=False, **kwargs):
        ids = [user.pk for user in self.get_users(self.cleaned_data["email"])]
        if not ids:
            return
        domain = get_current_site(request).domain
        language = translation.get_language()
        transaction.on_commit(
            lambda: tasks.send_password_reset.delay(ids, domain, use_https, language)
        )


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm

    def post(self, request, *args, **kwargs):
        if not take(f"password-reset:client:{client_ip(request)}", self.per_client()):
            return render(request, "429.html", status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        digest = hashlib.sha256(email.encode()).hexdigest()
        if not take(f"password-reset:address:{digest}", self.per_address()):
            return HttpResponseRedirect(self.get_success_url())  # the same answer, no mail
        return super().form_valid(form)

    @staticmethod
    def per_client() -> int:
        return settings.WEBMAIL_PASSWORD_RESET_PER_CLIENT

    @staticmethod
    def per_address() -> int:
        return settings.WEBMAIL_PASSWORD_RESET_PER_ADDRESS


password_reset = _system_mail_only(ThrottledPasswordResetView.as_view())
password_reset_done = _system_mail_only(auth_views.PasswordResetDoneView.as_view())
password_reset_confirm = _system_mail_only(auth_views.PasswordResetConfirmView.as_view())
password_reset_complete = _system_mail_only(auth_views.PasswordResetCompleteView.as_view())
