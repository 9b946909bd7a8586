import zoneinfo

from django.conf import settings
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header


class UserTimeZoneMiddleware:
    """Show dates in the logged-in user's time zone (settings.TIME_ZONE otherwise)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = getattr(request.user, "time_zone", "") if hasattr(request, "user") else ""
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


def supported_language(code: str) -> str:
    """`code` if the interface speaks it (or a variant of it), else ""."""
    try:
        return translation.get_supported_language_variant(code) if code else ""
    except LookupError:
        return ""


def browser_language(request) -> str:
    """The language the browser's Accept-Language picks, ignoring the language cookie."""
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        if language := supported_language(code):
            return language
    return supported_language(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE


def set_language_cookie(response, language: str) -> None:
    """Store `language` in the language cookie (Django's set_language does the same), or
    drop the cookie for "" (follow the browser)."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )


class UserLanguageMiddleware:
    """The logged-in user's language preference, over the cookie and the browser.

    LocaleMiddleware (before this) picks the language from the django_language cookie,
    then Accept-Language, then LANGUAGE_CODE; a user who chose a language on the
    preferences page gets that one instead. Placed right after AuthenticationMiddleware,
    so everything from the login-required redirect to the view speaks it. The cookie
    follows the preference, so the login page speaks it too after logging out, on every
    browser the user has logged in with.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        preferred = supported_language(getattr(user, "language", "")) if user else ""
        if preferred:
            translation.activate(preferred)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        if preferred and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != preferred:
            if settings.LANGUAGE_COOKIE_NAME not in response.cookies:  # the view's word wins
                set_language_cookie(response, preferred)
        # The page is in the active language, whichever of the preference (in the
        # session's user), the language cookie or Accept-Language chose it: caches must
        # key on the cookies too (LocaleMiddleware adds Accept-Language), and
        # Content-Language names what was rendered.
        patch_vary_headers(response, ("Cookie",))
        response.headers["Content-Language"] = translation.get_language()
        return response
