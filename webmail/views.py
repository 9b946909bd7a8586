"""Project-level pages that belong to no app: the web app manifest."""

import json

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import conditional_page, require_GET
from django.views.i18n import JavaScriptCatalog

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


@require_GET
@login_not_required
def manifest(request):
    """The web app manifest, so phones can add the webmail to the home screen."""
    data = {
        "name": "Webmail",
        "short_name": "Webmail",
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
    response["Cache-Control"] = "public, max-age=86400"
    return response
