"""Project-level pages that belong to no app: the web app manifest, the JavaScript
catalog and the language switch."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.middleware import csrf
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import conditional_page, require_GET, require_POST
from django.views.i18n import JavaScriptCatalog
from django.views.i18n import set_language as django_set_language

# The translations our scripts use (gettext, ngettext, interpolate), from our origin.
# Its address names no language or version, so a browser may keep it but must ask
# again before each use (no-cache): the ETag is a hash of the catalog in the active
# language, so an unchanged catalog costs a 304 without a body, and a new language
# or a deploy with new translations is fetched at once. A long max-age would need
# the language and a version in the URL (see README "Performance").
# Only our own strings (LOCALE_PATHS, where makemessages puts what static/js asks
# for, and our apps): every installed app would add the admin's calendar strings,
# 5 KB of Korean on every first load. The admin has a catalog of its own.
javascript_catalog = login_not_required(
    cache_control(private=True, no_cache=True)(
        conditional_page(JavaScriptCatalog.as_view(packages=["accounts", "mailbox"]))
    )
)

# The login page's language switch: Django's view, which stores the choice in the
# language cookie and redirects to `next` (on this site only). Open to visitors who are
# not logged in; a wrapper, so Django's own function is not marked.
set_language = login_not_required(require_POST(django_set_language))


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: Django's own view gives a 403_csrf.html template no reason, and
    the reader can fix two of them (cookies or the Referer header blocked)."""
    context = {
        "no_cookie": reason == csrf.REASON_NO_CSRF_COOKIE,
        "no_referer": reason == csrf.REASON_NO_REFERER,
        "reason": reason if settings.DEBUG else "",  # Django's words, for developers
    }
    return render(request, "403_csrf.html", context, status=403)


@require_GET
@login_not_required
def manifest(request):
    """The web app manifest, so phones can add the webmail to the home screen.

    Its name is in the visitor's language (which the home screen shows under the icon).
    """
    name = gettext("Webmail")
    data = {
        "name": name,
        "short_name": name,
        "lang": get_language(),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": "#0b57d0",
        "icons": [
            {"src": static("icons/app.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": static("icons/app-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/app-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("icons/app-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = HttpResponse(json.dumps(data), content_type="application/manifest+json")
    # The language comes from the user's preference, the language cookie or the browser:
    # a shared cache could hand one visitor's language to another.
    response["Cache-Control"] = "private, max-age=86400"
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response
