"""The second step of logging in, enforced for every page.

After the password, a user with two-factor login on is logged in but not verified
(django-otp's OTPMiddleware: ``request.user.is_verified()``). Until the code is given,
every page that needs a login sends them to the code page instead, the admin
included (its views are not under LoginRequiredMiddleware). Pages open to everyone
(login, language switch, JavaScript catalog) stay open, and so does logging out.

With ``WEBMAIL_REQUIRE_2FA_FOR_STAFF``, staff without two-factor login are sent to set
it up before any admin page opens.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from . import twofactor

OPEN_VIEWS = frozenset({"two_factor_verify", "logout", "admin:logout"})


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or not getattr(view_func, "login_required", True):
            return None
        match = request.resolver_match
        view_name = match.view_name if match else ""
        if view_name in OPEN_VIEWS:
            return None
        if twofactor.session_requires_code(request):
            if user.is_verified():
                return None
            return redirect_to_login(request.get_full_path(), "two_factor_verify")
        if (
            settings.WEBMAIL_REQUIRE_2FA_FOR_STAFF
            and user.is_staff
            and match is not None
            and match.namespace == "admin"
        ):
            messages.warning(
                request,
                _("Turn on two-factor authentication before using the administration pages."),
            )
            return redirect("two_factor_enrol")
        return None
