from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import password_reset

from . import health_status, views

# A request beyond a size or count limit: our 413 page (webmail/request_limits.py).
handler400 = "webmail.request_limits.bad_request"

admin.site.site_header = _("Webmail administration")
admin.site.site_title = _("Webmail administration")

urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("jsi18n/", views.javascript_catalog, name="javascript-catalog"),
    # Before the admin's own URLs; admin_view makes it staff-only.
    path(
        "admin/status/",
        admin.site.admin_view(health_status.system_status),
        name="system-status",
    ),
    path("admin/", admin.site.urls),
    # Before auth/ and the mailbox's catch-alls: the code step and the two-factor settings.
    path("", include("accounts.urls_twofactor")),
    # Before django.contrib.auth's own: password reset only with system mail (else 404).
    path("auth/password_reset/", password_reset.password_reset, name="password_reset"),
    path(
        "auth/password_reset/done/",
        password_reset.password_reset_done,
        name="password_reset_done",
    ),
    path(
        "auth/reset/<uidb64>/<token>/",
        password_reset.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "auth/reset/done/",
        password_reset.password_reset_complete,
        name="password_reset_complete",
    ),
    path("auth/", include("django.contrib.auth.urls")),
    # Django's set_language (what include("django.conf.urls.i18n") adds), open to
    # visitors who are not logged in: the login page's language switch posts here.
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("settings/accounts/", include("accounts.urls")),
    path("settings/rules/", include("rules.urls")),
    path("settings/security/", include("security.urls")),
    path("contacts/", include("contacts.urls")),
    path("", include("mailbox.urls")),
]
