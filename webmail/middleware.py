"""Response headers Django's SecurityMiddleware does not set itself."""

from django.conf import settings


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` on every response: a webmail never needs the camera, the
    microphone or the location, so no page (nor anything a message could smuggle into
    one) may ask for them."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.value = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DENY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response
