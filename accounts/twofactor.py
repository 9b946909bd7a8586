"""Two-factor login: a TOTP device (RFC 6238) and one-time recovery codes, on django-otp.

django-otp keeps the devices (otp_totp, otp_static) and their throttling: after each
wrong code the device refuses to check another one for 1, 2, 4, 8… seconds, and that
state lives on the device row, so logging in again does not reset it.

Recovery codes: django-otp's StaticToken stores its token as given (plaintext, 16
characters at most). We give it a hash instead: a code is 16 random Crockford base32
characters (80 bits, shown as four groups of four), and the stored token is the first
96 bits of its SHA-256, base64url (16 characters). Someone who reads the database
cannot turn the hashes back into codes (80 random bits make guessing hopeless, so no
salt or slow hash is needed), and StaticDevice.verify_token still finds a code by
exact match and deletes it when used, so each code works once.
"""

import base64
import hashlib
import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime

import segno
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

# Session key: whether this session's user has two-factor login on (set at login, kept
# up to date by the pages here), so other pages need no query to know it.
SESSION_KEY = "webmail_two_factor"
# Session key: the recovery codes just issued, until the page that shows them once.
NEW_CODES_SESSION_KEY = "webmail_two_factor_new_codes"

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 16
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o, u
_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def has_device(user) -> bool:
    """Whether `user` has two-factor login on (a confirmed authenticator app)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def session_requires_code(request) -> bool:
    """Whether this session's user has two-factor login on (cached in the session)."""
    required = request.session.get(SESSION_KEY)
    if required is None:
        required = has_device(request.user)
        request.session[SESSION_KEY] = required
    return required


def pending_device(user) -> TOTPDevice:
    """The authenticator app being set up: a new secret, kept until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def secret_groups(device: TOTPDevice) -> list[str]:
    """The secret in base32 (what authenticator apps ask for), in groups of four."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return [secret[i : i + 4] for i in range(0, len(secret), 4)]


def qr_code(device: TOTPDevice) -> tuple[str, int]:
    """The otpauth:// address as a QR code drawn here, dark on white in either theme:
    an SVG data: URI (the CSP's img-src allows data:) and its width in pixels."""
    qr = segno.make(device.config_url, error="m")
    width, _height = qr.symbol_size(scale=4, border=4)
    return qr.svg_data_uri(scale=4, border=4, dark="#000", light="#fff"), width


def normalize(code: str) -> str:
    """What the user typed, without spaces or dashes, lower case, look-alikes mapped."""
    return "".join(code.split()).replace("-", "").lower().translate(_LOOKALIKES)


def hash_recovery_code(code: str) -> str:
    digest = hashlib.sha256(b"webmail recovery code:" + normalize(code).encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode("ascii")


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


@transaction.atomic
def issue_recovery_codes(user) -> list[str]:
    """Ten new recovery codes for `user` (the old ones stop working); only hashes are kept."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=hash_recovery_code(code)) for code in codes
    )
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def confirm_setup(device: TOTPDevice, code: str) -> list[str] | None:
    """Turn two-factor login on if `code` is right for the app being set up.

    Returns the new recovery codes, or None for a wrong code. Setting up happens in a
    logged-in session, so a wrong code does not make the next one wait.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(normalize(code)):
            device.throttle_reset()
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        return issue_recovery_codes(device.user)


@dataclass(frozen=True)
class CodeCheck:
    device: Device | None = None  # the device that accepted the code
    wait_until: datetime | None = None  # too many wrong codes: nothing checked before then

    @property
    def recovery_code_used(self) -> bool:
        return isinstance(self.device, StaticDevice)


def check_code(user, code: str) -> CodeCheck:
    """Check a 6-digit code from the app, or a recovery code (which is then used up)."""
    code = normalize(code)
    if len(code) == RECOVERY_CODE_LENGTH:
        model, token = StaticDevice, hash_recovery_code(code)
    else:
        model, token = TOTPDevice, code
    with transaction.atomic():
        for device in model.objects.filter(user=user, confirmed=True).select_for_update():
            allowed, details = device.verify_is_allowed()
            if not allowed:
                return CodeCheck(wait_until=(details or {}).get("locked_until"))
            if device.verify_token(token):
                return CodeCheck(device=device)
    return CodeCheck()


def remove_devices(user) -> bool:
    """Turn two-factor login off for `user`; whether there was anything to remove."""
    with transaction.atomic():
        was_on = has_device(user)
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    return was_on


def remember_at_login(sender, request, user, **kwargs):
    """user_logged_in: note in the new session whether the code step is needed."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = has_device(user)
