"""Signed-in sessions: tracked at login, kept up to date cheaply, ended for real.

- At login (`record_login`) a UserSession row is made for the session's key, and the
  session's lifetime is set: with "Remember me" a cookie that lasts
  WEBMAIL_SESSION_IDLE_DAYS past the last activity, otherwise a browser-session cookie.
  Either way the server forgets the session after WEBMAIL_SESSION_IDLE_DAYS without
  activity (SESSION_COOKIE_AGE).
- `touch` runs on every signed-in request but writes only when the session's own
  timestamp is older than WEBMAIL_SESSION_SEEN_MINUTES: then it updates the row (last
  seen, address) and marks the session modified, which saves it and so pushes its
  expiry (and a remembered cookie's) forward. Other requests cost no query.
- A cycled key (the code step after the password, a password change) moves the row
  along (`follow_key`); logging out deletes it.
- Ending a session deletes it from the session store, so its cookie no longer opens
  anything; a password change ends every session of the user but the one that made it.
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from accounts.client_ip import client_ip

from .models import USER_AGENT_LENGTH, UserSession

# Session keys of ours: when this session's activity was last recorded (epoch seconds).
SEEN_KEY = "security_seen"


def session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def user_agent(request) -> str:
    return (request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_LENGTH]


def _ensure_key(request) -> str:
    if request.session.session_key is None:
        request.session.save()  # login() after a flush: the key comes with the first save
    return request.session.session_key


def start(request, user, remember: bool) -> UserSession:
    """A new signed-in session: its row, its lifetime, its activity stamp."""
    if not remember:
        request.session.set_expiry(0)  # the cookie ends with the browser session
    now = timezone.now()
    request.session[SEEN_KEY] = int(now.timestamp())
    key = _ensure_key(request)
    row, _created = UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "created": now,
            "last_seen": now,
            "ip": client_ip(request),
            "user_agent": user_agent(request),
        },
    )
    return row


def touch(request, now: datetime | None = None) -> bool:
    """Record activity if the last record is older than WEBMAIL_SESSION_SEEN_MINUTES."""
    now = now or timezone.now()
    seen = request.session.get(SEEN_KEY)
    every = settings.WEBMAIL_SESSION_SEEN_MINUTES * 60
    if isinstance(seen, int) and now.timestamp() - seen < every:
        return False
    key = request.session.session_key
    if key is None:
        return False
    ip = client_ip(request)
    updated = UserSession.objects.filter(session_key=key, user=request.user).update(
        last_seen=now, ip=ip
    )
    if not updated:  # a session from before tracking, or whose row was lost: adopt it
        UserSession.objects.update_or_create(
            session_key=key,
            defaults={
                "user": request.user,
                "created": now,
                "last_seen": now,
                "ip": ip,
                "user_agent": user_agent(request),
            },
        )
    request.session[SEEN_KEY] = int(now.timestamp())  # saved: the expiry moves forward
    return True


def follow_key(old_key: str, new_key: str | None) -> None:
    """The session's key changed during a request (cycled, flushed, another login)."""
    if new_key is None or UserSession.objects.filter(session_key=new_key).exists():
        UserSession.objects.filter(session_key=old_key).delete()
    else:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def forget(session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def live_sessions(user) -> list[UserSession]:
    """The user's sessions that the store still has, newest activity first; rows of
    sessions that expired meanwhile are dropped."""
    rows = list(UserSession.objects.filter(user=user).order_by("-last_seen", "-pk"))
    keys = [row.session_key for row in rows]
    store = session_store()
    if issubclass(store, DatabaseSessionStore):  # db and cached_db: one query
        live = set(
            store.get_model_class()
            .objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
            .values_list("session_key", flat=True)
        )
    else:
        live = {key for key in keys if store().exists(key)}
    gone = [row.pk for row in rows if row.session_key not in live]
    if gone:
        UserSession.objects.filter(pk__in=gone).delete()
    return [row for row in rows if row.session_key in live]


def end(row: UserSession) -> None:
    """Sign that session out: gone from the store, its cookie opens nothing."""
    session_store()().delete(row.session_key)
    row.delete()


def end_all(user, except_key: str | None = None) -> int:
    """Sign out every live session of `user` but `except_key`'s; how many there were."""
    rows = [row for row in live_sessions(user) if row.session_key != except_key]
    for row in rows:
        end(row)
    return len(rows)


def prune() -> int:
    """Daily: expired sessions out of the store (Django's clearsessions), and the rows of
    sessions the store no longer has; how many rows went."""
    store = session_store()
    store.clear_expired()
    if issubclass(store, DatabaseSessionStore):
        live = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
        stale = UserSession.objects.exclude(session_key__in=live.values("session_key"))
    else:
        rows = UserSession.objects.only("pk", "session_key")
        gone = [row.pk for row in rows if not store().exists(row.session_key)]
        stale = UserSession.objects.filter(pk__in=gone)
    count, _ = stale.delete()
    return count
