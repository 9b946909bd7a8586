import zoneinfo

from django.utils import timezone


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
