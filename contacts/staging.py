"""The uploaded file between the import's preview and its confirmation.

Kept in the default storage under contacts-import/<user id>/<random token>, the token
in the user's session: only the session that uploaded it can confirm (or cancel) it, a
second upload replaces the first, and files older than STALE_AFTER left by a preview
never confirmed are removed on the user's next upload. Storage rather than the session
itself because a file may be up to forms.MAX_IMPORT_BYTES (sessions live in the
database), and rather than re-uploading because what is confirmed must be exactly what
was previewed.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

SESSION_KEY = "contacts_import"
STALE_AFTER = dt.timedelta(hours=6)


def _folder(user) -> str:
    return f"contacts-import/{user.pk}"


def _remove_stale(user) -> None:
    folder = _folder(user)
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    now = timezone.now()
    for name in files:
        path = f"{folder}/{name}"
        try:
            if now - default_storage.get_modified_time(path) > STALE_AFTER:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue


def stage(request, raw: bytes, filename: str) -> str:
    """Keep `raw` for this user's session; returns its token."""
    discard(request)
    _remove_stale(request.user)
    token = secrets.token_urlsafe(16)
    path = default_storage.save(f"{_folder(request.user)}/{token}", ContentFile(raw))
    request.session[SESSION_KEY] = {"token": token, "path": path, "name": filename[:200]}
    return token


def staged(request, token: str) -> tuple[bytes, str] | None:
    """The bytes and file name staged under `token` by this session, or None."""
    kept = request.session.get(SESSION_KEY) or {}
    if not token or not secrets.compare_digest(str(kept.get("token", "")), token):
        return None
    try:
        with default_storage.open(kept["path"], "rb") as f:
            return f.read(), kept.get("name", "")
    except (FileNotFoundError, KeyError):
        return None


def discard(request) -> None:
    kept = request.session.pop(SESSION_KEY, None) or {}
    path = kept.get("path", "")
    if path.startswith(_folder(request.user) + "/") and default_storage.exists(path):
        default_storage.delete(path)
