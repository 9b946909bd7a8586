"""Every response carries the security headers, whatever answers it: a sweep over every
URL pattern of the project, logged in and not, and the production cookie names."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.webmail.test_settings import PROD_ENV, run_django

SAMPLE = {"int": "1", "str": "inbox", "slug": "inbox", "path": "x"}


def _urls(patterns=None, prefix: str = "") -> list[str]:
    """Every route of the URL configuration, with sample values in its converters."""
    urls = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(entry.pattern)
        if route.startswith("^") or "(?P" in route:  # a regex route: the admin's own
            route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route).strip("^$").replace("\\", "")
        route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "1"), route)
        if isinstance(entry, URLResolver):
            urls += _urls(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            urls.append("/" + prefix + route)
    return sorted(set(urls))


def _check(response, url: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") in {"same-origin", "no-referrer"}, url
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", url
    policy = headers.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in policy, url
    csp = headers.get("Content-Security-Policy", "")
    # Our own frames (the message body, previews) may be framed by us, nothing else.
    assert re.search(r"frame-ancestors '(none|self)'", csp), (url, csp)


def test_the_sweep_reaches_every_part_of_the_site():
    urls = _urls()
    assert len(urls) > 100
    for expected in (
        "/mail/1/",
        "/contacts/",
        "/settings/rules/",
        "/admin/",
        "/settings/accounts/",
    ):
        assert any(u.startswith(expected) for u in urls), expected


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_every_response_carries_the_security_headers(client, alice, logged_in):
    if logged_in:
        client.force_login(alice)
    for url in _urls():
        _check(client.get(url), url)


def test_production_cookies_are_host_only_secure_and_lax():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, "
        "s.CSRF_COOKIE_SAMESITE, s.SESSION_COOKIE_DOMAIN, s.CSRF_COOKIE_DOMAIN)"
    )
    result = run_django(PROD_ENV, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "True",
        "Lax",
        "Lax",
        "None",
        "None",
    ]
