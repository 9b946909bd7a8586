import ipaddress
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from mailcore import destinations

# RFC 1123 host names, or an IPv4/IPv6 literal.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}\.?$")


def validate_hostname(value: str) -> None:
    try:
        ipaddress.ip_address(value.strip("[]"))
        return
    except ValueError:
        pass
    if len(value) > 253 or not _HOSTNAME_RE.match(value):
        raise ValidationError(
            _("Enter a valid host name such as mail.example.com, or an IP address."),
            code="invalid",
        )


def validate_destination_exceptions(value: str) -> None:
    """Host names, *.patterns, addresses or CIDRs (mailcore.destinations.parse_patterns)."""
    try:
        destinations.parse_patterns(value)
    except ValueError:
        raise ValidationError(
            _(
                "Enter host names (mail.example.com), patterns (*.example.com), addresses "
                "or networks (10.0.0.0/24), separated by commas or spaces."
            ),
            code="invalid",
        ) from None


def validate_time_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("Enter a time zone such as Asia/Seoul or Europe/Berlin."), code="invalid"
        )
