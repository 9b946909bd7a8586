"""Two-factor login pages: the code step after the password, and its settings."""

import logging

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import twofactor
from .forms_twofactor import CodeCheckForm, SetupForm, TurnOffForm

logger = logging.getLogger(__name__)


def _next_url(request) -> str:
    url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("code")
@never_cache
@login_required
def verify(request):
    """The second step of logging in: a code from the app, or a recovery code."""
    if not twofactor.has_device(request.user):  # turned off or reset meanwhile
        request.session[twofactor.SESSION_KEY] = False
        return redirect(_next_url(request))
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = CodeCheckForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            request.session.cycle_key()  # a new session id for the fully logged-in session
            django_otp.login(request, form.check.device)
            if form.check.recovery_code_used:
                left = twofactor.recovery_codes_left(request.user)
                messages.warning(
                    request,
                    ngettext(
                        "You used a recovery code. %(count)d is left.",
                        "You used a recovery code. %(count)d are left.",
                        left,
                    )
                    % {"count": left},
                )
            return redirect(_next_url(request))
        # Counted like a wrong password: past AXES_FAILURE_LIMIT, django-axes locks this
        # user and address out, and the half-done login ends.
        username = request.user.get_username()
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        if getattr(request, "axes_locked_out", False):
            logout(request)
            return redirect("login")  # AxesMiddleware answers with the lockout page
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )


@login_required
def settings_page(request):
    return render(request, "accounts/two_factor.html", _settings_context(request))


def _settings_context(request, turn_off_form=None) -> dict:
    enabled = twofactor.has_device(request.user)
    return {
        "enabled": enabled,
        "codes_left": twofactor.recovery_codes_left(request.user) if enabled else 0,
        "turn_off_form": turn_off_form or TurnOffForm(user=request.user),
    }


@sensitive_post_parameters("password", "code")
@never_cache
@login_required
def enrol(request):
    """Set up an authenticator app: its QR code and secret, then one code to confirm."""
    if twofactor.has_device(request.user):
        return redirect("two_factor")
    device = twofactor.pending_device(request.user)
    form = SetupForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        # The same password, hashed anew: every other session of this user (perhaps
        # someone else's, logged in without a code) ends; this one goes on.
        request.user.set_password(form.cleaned_data["password"])
        request.user.save(update_fields=["password"])
        update_session_auth_hash(request, request.user)
        django_otp.login(request, device)  # this session has just shown a code
        request.session[twofactor.SESSION_KEY] = True
        request.session[twofactor.NEW_CODES_SESSION_KEY] = form.recovery_codes
        messages.success(request, _("Two-factor authentication is on."))
        return redirect("two_factor_codes")
    qr_code, qr_size = twofactor.qr_code(device)
    context = {
        "form": form,
        "qr_code": qr_code,
        "qr_size": qr_size,
        "secret_groups": twofactor.secret_groups(device),
    }
    return render(
        request, "accounts/two_factor_enrol.html", context, status=400 if form.errors else 200
    )


@never_cache
@login_required
def recovery_codes(request):
    """The recovery codes just issued, shown this once (then only their hashes exist)."""
    codes = request.session.pop(twofactor.NEW_CODES_SESSION_KEY, None)
    if not codes:
        return redirect("two_factor")
    text = "\n".join(codes) + "\n"
    return render(request, "accounts/two_factor_codes.html", {"codes": codes, "codes_text": text})


@require_POST
@login_required
def new_recovery_codes(request):
    if not twofactor.has_device(request.user):
        return redirect("two_factor")
    codes = twofactor.issue_recovery_codes(request.user)
    request.session[twofactor.NEW_CODES_SESSION_KEY] = codes
    messages.success(request, _("New recovery codes made. The old ones no longer work."))
    return redirect("two_factor_codes")


@sensitive_post_parameters("password", "code")
@require_POST
@login_required
def turn_off(request):
    """Turn two-factor login off, with the password and a code (or a recovery code)."""
    form = TurnOffForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(
            request, "accounts/two_factor.html", _settings_context(request, form), status=400
        )
    twofactor.remove_devices(request.user)
    request.session[twofactor.SESSION_KEY] = False
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    logger.info("two-factor authentication turned off user_id=%s", request.user.pk)
    messages.success(request, _("Two-factor authentication is off."))
    return redirect("two_factor")
