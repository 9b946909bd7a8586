"""Signal receivers: login, failed login, logout, and a changed password."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save

from . import history, sessions
from .middleware import current_request

REMEMBER_FIELD = "remember"


def logged_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    # Before this login is recorded: the failures since the previous one.
    history.tell_about_failures(request, user)
    remember = request.method == "POST" and bool(request.POST.get(REMEMBER_FIELD))
    sessions.start(request, user, remember=remember)
    history.record_success(request, user)


def login_failed(sender, credentials, request=None, **kwargs):
    history.record_failure(sender, request, credentials)


def logged_out(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        sessions.forget(request.session.session_key)


def password_saved(sender, instance, created, raw=False, **kwargs):
    """A new password (set_password, then save) ends the user's other sessions: all of
    them, unless the change was made in one of the user's own sessions, which stays."""
    if created or raw or getattr(instance, "_password", None) is None:
        return
    request = current_request()
    keep = None
    if request is not None and hasattr(request, "session"):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.pk == instance.pk:
            keep = request.session.session_key
    sessions.end_all(instance, except_key=keep)


def connect() -> None:
    user_logged_in.connect(logged_in, dispatch_uid="security-logged-in")
    user_login_failed.connect(login_failed, dispatch_uid="security-login-failed")
    user_logged_out.connect(logged_out, dispatch_uid="security-logged-out")
    post_save.connect(password_saved, sender=get_user_model(), dispatch_uid="security-password")
