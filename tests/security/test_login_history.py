"""Login history: successes, refusals (with the address from a trusted proxy only), the
code step, what the user sees and is told, and the admin's read-only view."""

from django.test import Client
from django.urls import reverse

from security.models import LoginEvent
from tests.accounts.test_two_factor import code_for, turn_on, wrong_code_for
from tests.conftest import PASSWORD

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
HOME = "198.51.100.20"
ATTACKER = "203.0.113.66"
PROXY = "10.0.0.5"


def attempt(password, username="alice", ip=HOME, client=None, **extra):
    client = client or Client()
    response = client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=CHROME_LINUX,
        **extra,
    )
    return client, response


def test_a_login_is_recorded_with_its_address_and_browser(alice):
    attempt(PASSWORD)
    event = LoginEvent.objects.get()
    assert (event.user, event.username, event.ip) == (alice, "alice", HOME)
    assert event.result == LoginEvent.Result.SUCCESS
    assert event.two_factor == LoginEvent.TwoFactor.NOT_USED
    assert event.summary == "Chrome on Linux"


def test_a_wrong_password_is_recorded_as_refused(alice):
    attempt("guess", ip=ATTACKER)
    event = LoginEvent.objects.get()
    assert (event.user, event.ip, event.result) == (alice, ATTACKER, "password_refused")
    assert not event.locked_out


def test_a_username_nobody_has_is_recorded_for_the_admin_only(alice):
    attempt("guess", username="nobody")
    event = LoginEvent.objects.get()
    assert event.user is None and event.username == "nobody"


def test_the_address_comes_from_a_proxy_header_only_when_the_proxy_is_trusted(alice, settings):
    attempt("guess", ip=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert LoginEvent.objects.get().ip == PROXY  # the header is anyone's to write

    LoginEvent.objects.all().delete()
    settings.WEBMAIL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    attempt("guess", ip=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {ATTACKER}")
    attempt(PASSWORD, ip=PROXY, HTTP_X_FORWARDED_FOR=HOME)
    assert list(LoginEvent.objects.order_by("pk").values_list("ip", "result")) == [
        (ATTACKER, "password_refused"),
        (HOME, "success"),
    ]


def test_attempts_past_the_limit_are_recorded_as_locked_out(alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("guess", ip=ATTACKER)
    _client, response = attempt(PASSWORD, ip=ATTACKER)
    assert response.status_code == 429
    last = LoginEvent.objects.order_by("-pk").first()
    assert (last.result, last.locked_out) == ("password_refused", True)


def test_the_code_step_is_recorded_on_the_login(alice):
    device, _codes = turn_on(alice)
    client, _response = attempt(PASSWORD)
    event = LoginEvent.objects.get()
    assert event.two_factor == LoginEvent.TwoFactor.PENDING  # the password alone

    client.post(reverse("two_factor_verify"), {"code": wrong_code_for(device)})
    refused = LoginEvent.objects.order_by("-pk").first()
    assert (refused.user, refused.result) == (alice, "code_refused")

    device.refresh_from_db()
    device.throttle_reset()  # a wrong code makes the next one wait a second
    client.post(reverse("two_factor_verify"), {"code": code_for(device, 1)})
    event.refresh_from_db()
    assert (event.result, event.two_factor) == ("success", LoginEvent.TwoFactor.CODE)


def test_a_recovery_code_is_recorded_as_such(alice):
    _device, codes = turn_on(alice)
    client, _response = attempt(PASSWORD)
    client.post(reverse("two_factor_verify"), {"code": codes[0]})
    event = LoginEvent.objects.get()
    assert event.two_factor == LoginEvent.TwoFactor.RECOVERY_CODE


def test_the_user_sees_their_own_history_and_nobody_elses(alice, bob):
    attempt("guess", ip=ATTACKER)
    attempt("guess", username="bob", ip="192.0.2.77")
    client, _response = attempt(PASSWORD)
    page = client.get(reverse("security:sessions")).content.decode()
    assert "Login history" in page
    assert "Password not accepted" in page and ATTACKER in page
    assert "Logged in" in page and HOME in page
    assert "192.0.2.77" not in page


def test_failures_since_the_last_login_are_told_once(alice):
    attempt(PASSWORD)
    for _ in range(2):
        attempt("guess", ip=ATTACKER)
    client, response = attempt(PASSWORD)
    page = client.get(response.url, follow=True).content.decode()
    assert page.count("There were 2 failed attempts to log in to your account") == 1
    client.post(reverse("logout"))
    client, response = attempt(PASSWORD, client=client)
    assert "failed attempt" not in client.get(response.url, follow=True).content.decode()


def test_the_admin_shows_the_history_read_only(admin_client, alice):
    attempt("guess", ip=ATTACKER)
    event = LoginEvent.objects.get(username="alice")
    listing = admin_client.get(reverse("admin:security_loginevent_changelist"))
    assert listing.status_code == 200
    assert ATTACKER in listing.content.decode()
    change_url = reverse("admin:security_loginevent_change", args=[event.pk])
    detail = admin_client.get(change_url)
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert admin_client.post(change_url, {"ip": HOME}).status_code == 403
    assert admin_client.get(reverse("admin:security_loginevent_add")).status_code == 403
    delete_url = reverse("admin:security_loginevent_delete", args=[event.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.ip == ATTACKER
