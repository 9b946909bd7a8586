"""A browser and system in a few words ("Firefox on Windows") from a User-Agent header.

The Sessions page needs only a coarse summary to tell one's own devices apart, so a
short ordered table of the tokens browsers really send is enough, has no dependency
and no regex file to keep updated (ua-parser's is ~200 KB and answers questions we do
not ask). Order matters: Edge, Opera, Samsung Internet and Whale also say "Chrome",
and Chrome also says "Safari". The header is the client's to write: the result is
only ever shown as text, never trusted.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

# (token in the header, the name shown), checked in this order.
BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Whale/", "Whale"),
    ("YaBrowser/", "Yandex Browser"),
    ("Vivaldi/", "Vivaldi"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("HeadlessChrome/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def _first(header: str, table: tuple[tuple[str, str], ...]) -> str | None:
    return next((name for token, name in table if token in header), None)


def browser_and_system(header: str) -> tuple[str | None, str | None]:
    header = header or ""
    return _first(header, BROWSERS), _first(header, SYSTEMS)


def summarize(header: str) -> str:
    """ "Firefox on Windows", "Safari", "Linux", or "Unknown browser"."""
    browser, system = browser_and_system(header)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")
