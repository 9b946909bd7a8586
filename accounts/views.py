from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import connection
from .forms import MailAccountForm, PreferencesForm
from .middleware import browser_language, set_language_cookie
from .models import MailAccount
from .tasks import verify_connection


def _own_account(request, pk: int) -> MailAccount:
    return get_object_or_404(MailAccount, pk=pk, user=request.user)


@login_required
def account_list(request):
    accounts = request.user.mail_accounts.all()
    preferences = PreferencesForm(instance=request.user)
    return render(
        request, "accounts/account_list.html", {"accounts": accounts, "preferences": preferences}
    )


@require_POST
@login_required
def preferences(request):
    form = PreferencesForm(request.POST, instance=request.user)
    if form.is_valid():
        user = form.save()
        # The next page is in the language just chosen: say "saved" in it too.
        translation.activate(user.language or browser_language(request))
        messages.success(request, _("Preferences saved."))
        response = redirect("account_list")
        # The login page after logging out speaks the chosen language; "follow the
        # browser" drops the cookie, so the browser really decides.
        set_language_cookie(response, user.language)
        return response
    accounts = request.user.mail_accounts.all()
    return render(
        request,
        "accounts/account_list.html",
        {"accounts": accounts, "preferences": form},
        status=400,
    )


@sensitive_post_parameters("pop3_password", "smtp_password")
@login_required
def account_create(request):
    form = MailAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        account = form.save()
        messages.success(request, _("Added %(email)s.") % {"email": account.email})
        return redirect("account_list")
    return render(request, "accounts/account_form.html", {"form": form})


@sensitive_post_parameters("pop3_password", "smtp_password")
@login_required
def account_edit(request, pk: int):
    account = _own_account(request, pk)
    form = MailAccountForm(request.POST or None, instance=account, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved %(email)s.") % {"email": account.email})
        return redirect("account_list")
    return render(request, "accounts/account_form.html", {"form": form, "account": account})


@login_required
def account_delete(request, pk: int):
    account = _own_account(request, pk)
    if request.method == "POST":
        account.delete()
        messages.success(
            request,
            _("Removed %(email)s. Its cached mail was deleted too.") % {"email": account.email},
        )
        return redirect("account_list")
    return render(request, "accounts/account_confirm_delete.html", {"account": account})


@require_POST
@login_required
def account_test(request, pk: int):
    account = _own_account(request, pk)
    if not connection.start_test(request.user):
        limit = settings.WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES
        messages.error(
            request,
            ngettext(
                "You can test connections %(count)s time in 10 minutes. "
                "Try again in a few minutes.",
                "You can test connections %(count)s times in 10 minutes. "
                "Try again in a few minutes.",
                limit,
            )
            % {"count": limit},
        )
        return redirect("account_list")
    verify_connection.delay_on_commit(account.pk)
    messages.info(
        request,
        _("Testing the connection to the servers of %(email)s…") % {"email": account.email},
    )
    return redirect("account_list")
