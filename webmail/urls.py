from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from . import views

admin.site.site_header = _("Webmail administration")
admin.site.site_title = _("Webmail administration")

urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("jsi18n/", views.javascript_catalog, name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("auth/", include("django.contrib.auth.urls")),
    # Django's set_language (what include("django.conf.urls.i18n") adds), open to
    # visitors who are not logged in: the login page's language switch posts here.
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("settings/accounts/", include("accounts.urls")),
    path("settings/rules/", include("rules.urls")),
    path("contacts/", include("contacts.urls")),
    path("", include("mailbox.urls")),
]
