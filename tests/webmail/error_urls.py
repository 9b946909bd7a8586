"""The site's URLs plus views that fail on purpose, for tests/webmail/test_error_pages.py."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.urls import path

from webmail.urls import urlpatterns as site_urlpatterns


@login_not_required
def forbidden(request):
    raise PermissionDenied("not yours")


@login_not_required
def crash(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("test-errors/403/", forbidden),
    path("test-errors/500/", crash),
    *site_urlpatterns,
]
