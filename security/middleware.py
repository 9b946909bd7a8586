"""Signed-in sessions kept up to date at a constant cost (security/sessions.py).

Placed after AuthenticationMiddleware and django-otp's OTPMiddleware. For a signed-in
request it records activity at most every WEBMAIL_SESSION_SEEN_MINUTES (no query on
the others); afterwards it moves the session's row along if the key was cycled, and
notes a passed code step on the login event. The request is also what a password
change made during it needs to know which session to keep (`current_request`).
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings

from . import history, sessions

_request: ContextVar = ContextVar("security_request", default=None)


def current_request():
    """The request being handled in this thread or task, if any."""
    return _request.get()


class SessionActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            key = None
            user = getattr(request, "user", None)
            # Without a session cookie nobody is logged in: no need to load the session.
            has_cookie = settings.SESSION_COOKIE_NAME in request.COOKIES
            if has_cookie and user is not None and user.is_authenticated:
                key = request.session.session_key
                sessions.touch(request)
            response = self.get_response(request)
            if key is not None:
                if request.session.session_key != key:
                    sessions.follow_key(key, request.session.session_key)
                history.note_second_step(request)
            return response
        finally:
            _request.reset(token)
