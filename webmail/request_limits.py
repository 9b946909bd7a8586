"""How much a request may carry, and the page that says so when it carries more.

Django holds a request's text fields in memory up to DATA_UPLOAD_MAX_MEMORY_SIZE, which
is set to WEBMAIL_MAX_MESSAGE_BYTES so that compose (and its autosave) takes a message
text as long as a message may be. Everything else is held to WEBMAIL_MAX_FORM_BYTES
(2.5 MB, Django's own default) by `RequestLimitMiddleware`, judged by Content-Length
before the body is read: every request from a visitor who is not logged in, and every
signed-in request but compose's that is not a file upload. File parts stream to disk as
before (FILE_UPLOAD_MAX_MEMORY_SIZE).

A request beyond a limit (its size, DATA_UPLOAD_MAX_NUMBER_FIELDS or
DATA_UPLOAD_MAX_NUMBER_FILES) gets `413.html` (status 413) in the app's layout, naming the
limit and its value; other bad requests get `400.html` (`bad_request`, handler400).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse
from django.template import loader
from django.urls import Resolver404, resolve
from django.views import defaults

from accounts.formatting import file_size

# The views that take a whole message text: compose, and its autosave.
LARGE_TEXT_VIEWS = frozenset({"compose", "compose_edit", "autosave_draft", "autosave_draft_to"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _takes_large_text(request) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.url_name in LARGE_TEXT_VIEWS


class RequestLimitMiddleware:
    """After AuthenticationMiddleware: the small limit for all but compose's text."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in _BODY_METHODS and self.too_big(request):
            raise RequestDataTooBig("The request is larger than WEBMAIL_MAX_FORM_BYTES.")
        return self.get_response(request)

    @staticmethod
    def too_big(request) -> bool:
        limit = settings.WEBMAIL_MAX_FORM_BYTES
        if limit is None or _content_length(request) <= limit:
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True  # nothing a visitor sends (the login form) is anywhere near
        if request.content_type == "multipart/form-data":
            return False  # files stream to disk; Django counts the text fields
        return not _takes_large_text(request)


def limit_context(exception) -> dict:
    """What the 413 page says: which limit, and its value."""
    if isinstance(exception, TooManyFieldsSent):
        return {"limit": "fields", "count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    if isinstance(exception, TooManyFilesSent):
        return {"limit": "files", "count": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if "WEBMAIL_MAX_FORM_BYTES" in str(exception):
        limit = settings.WEBMAIL_MAX_FORM_BYTES
    return {"limit": "size", "size": file_size(limit)}


def bad_request(request, exception=None):
    """handler400: a request beyond a limit is a 413 page naming it; others are Django's
    400 page (our 400.html). Rendered without the request, as Django renders 400: a
    request that failed may fail again in a context processor (a forbidden Host)."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        html = loader.render_to_string("413.html", limit_context(exception))
        return HttpResponse(html, status=413)
    return defaults.bad_request(request, exception)
