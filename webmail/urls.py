from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "Webmail administration"
admin.site.site_title = "Webmail admin"

urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("jsi18n/", views.javascript_catalog, name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("auth/", include("django.contrib.auth.urls")),
    path("settings/accounts/", include("accounts.urls")),
    path("", include("mailbox.urls")),
]
