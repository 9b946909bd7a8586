"""Two-factor login: setting it up, the code step after the password, recovery codes,
throttling, turning it off, staff enforcement and the admin's reset."""

from datetime import timedelta

from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from tests.conftest import PASSWORD


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the app shows now (or `steps_ahead` 30-second steps later)."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, drift=steps_ahead)
    return f"{value:0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    right = {code_for(device, offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def turn_on(user) -> tuple[TOTPDevice, list[str]]:
    device = twofactor.pending_device(user)
    codes = twofactor.confirm_setup(device, code_for(device))
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def log_in_with_password(client, username="alice"):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def verify(client, code, next_url=""):
    return client.post(reverse("two_factor_verify"), {"code": code, "next": next_url})


# --- setting it up ---------------------------------------------------------------------


def test_settings_link_to_two_factor_page(alice_client):
    html = alice_client.get(reverse("account_list")).content.decode()
    assert reverse("two_factor") in html
    page = alice_client.get(reverse("two_factor")).content.decode()
    assert "Two-factor authentication is off" in page
    assert reverse("two_factor_enrol") in page


def test_setup_page_shows_a_qr_code_drawn_here_and_the_secret_in_groups(alice_client, alice):
    response = alice_client.get(reverse("two_factor_enrol"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'src="data:image/svg+xml' in html  # drawn by us, no other origin
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    groups = twofactor.secret_groups(device)
    assert all(len(group) == 4 for group in groups[:-1])
    assert " ".join(f"<span>{g}</span>" for g in groups) in html
    # Reloading keeps the same secret (the app may already have it).
    alice_client.get(reverse("two_factor_enrol"))
    assert TOTPDevice.objects.filter(user=alice).count() == 1


def test_setup_refuses_a_wrong_code_and_accepts_the_right_one(alice_client, alice):
    alice_client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=alice)
    wrong = alice_client.post(
        reverse("two_factor_enrol"), {"password": PASSWORD, "code": wrong_code_for(device)}
    )
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    assert not twofactor.has_device(alice)

    right = alice_client.post(
        reverse("two_factor_enrol"), {"password": PASSWORD, "code": code_for(device)}
    )
    assert right.status_code == 302
    assert right.url == reverse("two_factor_codes")
    assert twofactor.has_device(alice)
    # This session gave the code: it stays fully logged in.
    assert alice_client.get(reverse("home")).status_code == 200


def test_setup_needs_the_password_and_ends_the_users_other_sessions(client, alice):
    other = client.__class__()
    other.force_login(alice)  # say, someone who learned the password
    client.force_login(alice)
    client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=alice)
    no_password = client.post(
        reverse("two_factor_enrol"), {"password": "guess", "code": code_for(device)}
    )
    assert no_password.status_code == 400
    assert "That password is not right" in no_password.content.decode()
    assert not twofactor.has_device(alice)

    client.post(reverse("two_factor_enrol"), {"password": PASSWORD, "code": code_for(device)})
    assert twofactor.has_device(alice)
    assert client.get(reverse("home")).status_code == 200
    assert other.get(reverse("home")).url.startswith(reverse("login"))
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)  # the same password


def test_recovery_codes_are_shown_once_and_stored_only_as_hashes(alice_client, alice):
    alice_client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=alice)
    alice_client.post(reverse("two_factor_enrol"), {"password": PASSWORD, "code": code_for(device)})

    page = alice_client.get(reverse("two_factor_codes"))
    assert page.status_code == 200
    codes = page.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    html = page.content.decode()
    assert all(code in html for code in codes)
    assert 'download="webmail-recovery-codes.txt"' in html

    again = alice_client.get(reverse("two_factor_codes"))
    assert again.status_code == 302  # shown once
    assert not any(
        code in alice_client.get(reverse("two_factor")).content.decode() for code in codes
    )

    stored = set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    assert len(stored) == 10
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
        assert twofactor.hash_recovery_code(code) in stored


def test_setup_page_of_a_user_who_has_it_on_goes_back_to_settings(alice_client, alice):
    turn_on(alice)
    response = alice_client.get(reverse("two_factor_enrol"))
    assert response.status_code == 302 and response.url == reverse("two_factor")


def test_one_users_setup_is_not_anothers(client, alice, bob):
    turn_on(alice)
    client.force_login(bob)
    assert "Two-factor authentication is off" in client.get(reverse("two_factor")).content.decode()
    assert client.get(reverse("home")).status_code == 200  # bob has no code step


# --- logging in ------------------------------------------------------------------------


def test_login_asks_for_the_code_after_the_password_then_opens_the_mailbox(client, alice):
    device, _codes = turn_on(alice)
    response = log_in_with_password(client)
    step = client.get(response.url)
    assert step.status_code == 302
    assert step.url.startswith(reverse("two_factor_verify"))
    page = client.get(step.url)
    assert page.status_code == 200
    assert "Two-step verification" in page.content.decode()

    done = verify(client, code_for(device, 1), next_url=reverse("account_list"))
    assert done.status_code == 302 and done.url == reverse("account_list")
    assert client.get(reverse("home")).status_code == 200


def test_without_the_code_no_page_opens(client, alice):
    turn_on(alice)
    log_in_with_password(client)
    for url in (
        reverse("home"),
        reverse("account_list"),
        reverse("password_change"),
        reverse("two_factor"),
        reverse("contacts:contact_list"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("two_factor_verify")), url
    # A wrong code does not open it either.
    device = TOTPDevice.objects.get(user=alice)
    assert verify(client, wrong_code_for(device)).status_code == 400
    assert client.get(reverse("home")).status_code == 302
    # Logging out works from the code step.
    client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session


def test_staff_without_the_code_do_not_reach_the_admin(client, charlie):
    turn_on(charlie)
    log_in_with_password(client, "charlie")
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_verify"))
    # Nor through the admin's own login form.
    client.post(reverse("logout"))
    client.post(reverse("admin:login"), {"username": "charlie", "password": PASSWORD})
    assert client.get(reverse("admin:accounts_user_changelist")).url.startswith(
        reverse("two_factor_verify")
    )


def test_the_code_step_refuses_to_send_the_user_to_another_site(client, alice):
    device, _codes = turn_on(alice)
    log_in_with_password(client)
    response = verify(client, code_for(device, 1), next_url="https://evil.example/")
    assert response.status_code == 302 and response.url == reverse("home")


def test_a_code_cannot_be_used_twice(client, alice):
    device, _codes = turn_on(alice)
    code = code_for(device, 1)
    log_in_with_password(client)
    assert verify(client, code).status_code == 302
    client.post(reverse("logout"))
    log_in_with_password(client)
    assert verify(client, code).status_code == 400


def test_a_recovery_code_logs_in_once(client, alice):
    _device, codes = turn_on(alice)
    log_in_with_password(client)
    response = verify(client, codes[3].upper().replace("-", " "))  # as typed from paper
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert twofactor.recovery_codes_left(alice) == 9
    client.post(reverse("logout"))

    StaticDevice.objects.filter(user=alice).update(throttling_failure_count=0)
    log_in_with_password(client)
    again = verify(client, codes[3])
    assert again.status_code == 400
    assert "That code is not right" in again.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_wrong_codes_make_the_next_one_wait(client, alice):
    device, _codes = turn_on(alice)
    log_in_with_password(client)
    assert verify(client, wrong_code_for(device)).status_code == 400
    right_too_soon = verify(client, code_for(device, 1))
    assert right_too_soon.status_code == 400
    assert "Too many wrong codes. Wait 1 second, then try again." in right_too_soon.content.decode()
    assert client.get(reverse("home")).status_code == 302

    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=5)
    )
    assert verify(client, code_for(device, 1)).status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_the_wait_survives_logging_in_again(client, alice):
    device, _codes = turn_on(alice)
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=5, throttling_failure_timestamp=timezone.now()
    )
    log_in_with_password(client)
    response = verify(client, code_for(device, 1))
    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()


def test_repeated_wrong_codes_lock_the_login_like_wrong_passwords(client, alice, settings):
    device, _codes = turn_on(alice)
    log_in_with_password(client)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert verify(client, wrong_code_for(device)).status_code == 400
    locked = verify(client, wrong_code_for(device))
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    again = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert again.status_code == 429


def test_users_without_two_factor_log_in_with_the_password_alone(client, alice):
    log_in_with_password(client)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("two_factor_verify")).status_code == 302  # nothing to ask


# --- turning it off --------------------------------------------------------------------


def test_turning_off_needs_the_password_and_a_code(alice_client, alice):
    device, _codes = turn_on(alice)
    url = reverse("two_factor_turn_off")
    wrong_password = alice_client.post(url, {"password": "nope", "code": code_for(device, 1)})
    assert wrong_password.status_code == 400
    assert "That password is not right" in wrong_password.content.decode()
    assert twofactor.has_device(alice)

    wrong_code = alice_client.post(url, {"password": PASSWORD, "code": wrong_code_for(device)})
    assert wrong_code.status_code == 400
    assert twofactor.has_device(alice)

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    done = alice_client.post(url, {"password": PASSWORD, "code": code_for(device, 1)})
    assert done.status_code == 302
    assert not twofactor.has_device(alice)
    assert not StaticToken.objects.filter(device__user=alice).exists()


def test_turning_off_with_a_recovery_code_then_logging_in_with_the_password_alone(client, alice):
    _device, codes = turn_on(alice)
    log_in_with_password(client)
    verify(client, codes[0])
    response = client.post(reverse("two_factor_turn_off"), {"password": PASSWORD, "code": codes[1]})
    assert response.status_code == 302
    client.post(reverse("logout"))
    log_in_with_password(client)
    assert client.get(reverse("home")).status_code == 200


def test_new_recovery_codes_replace_the_old_ones(alice_client, alice):
    _device, old = turn_on(alice)
    response = alice_client.post(reverse("two_factor_new_codes"))
    assert response.url == reverse("two_factor_codes")
    new = alice_client.get(reverse("two_factor_codes")).context["codes"]
    assert not set(old) & set(new)
    assert twofactor.check_code(alice, new[0]).recovery_code_used
    assert twofactor.check_code(alice, old[0]).device is None


# --- staff and the admin ---------------------------------------------------------------


def test_staff_must_set_it_up_before_the_admin_when_required(client, charlie, settings):
    settings.WEBMAIL_REQUIRE_2FA_FOR_STAFF = True
    client.force_login(charlie)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response.url == reverse("two_factor_enrol")
    assert client.get(reverse("home")).status_code == 200  # the mailbox stays open

    client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=charlie)
    client.post(reverse("two_factor_enrol"), {"password": PASSWORD, "code": code_for(device)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_reach_the_admin_without_it_when_not_required(client, charlie, settings):
    settings.WEBMAIL_REQUIRE_2FA_FOR_STAFF = False
    client.force_login(charlie)
    assert client.get(reverse("admin:index")).status_code == 200


def test_admin_resets_a_users_second_factor_and_it_is_logged(client, charlie, alice):
    turn_on(alice)
    alice_client = client.__class__()
    log_in_with_password(alice_client)  # alice, stuck at the code step (lost phone)
    client.force_login(charlie)
    changelist = reverse("admin:accounts_user_changelist")
    listing = client.get(changelist)
    assert "Reset two-factor authentication" in listing.content.decode()
    response = client.post(
        changelist,
        {"action": "reset_two_factor", "_selected_action": [alice.pk]},
    )
    assert response.status_code == 302
    assert not twofactor.has_device(alice)
    assert not StaticDevice.objects.filter(user=alice).exists()
    entry = LogEntry.objects.get(object_id=str(alice.pk))
    assert entry.user == charlie
    assert "two-factor" in entry.change_message
    # Her waiting session goes on with the password alone.
    assert alice_client.get(reverse("two_factor_verify")).status_code == 302
    assert alice_client.get(reverse("home")).status_code == 200


def test_korean_two_factor_pages(client, alice):
    alice.language = "ko"
    alice.save()
    client.force_login(alice)
    assert "2단계 인증" in client.get(reverse("two_factor")).content.decode()
    turn_on(alice)
    client.post(reverse("logout"))
    log_in_with_password(client)
    page = client.get(reverse("two_factor_verify")).content.decode()
    assert 'lang="ko"' in page
    assert "인증" in page
