from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Webmail administration"
admin.site.site_title = "Webmail admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("django.contrib.auth.urls")),
    path("settings/accounts/", include("accounts.urls")),
    path("", include("mailbox.urls")),
]
