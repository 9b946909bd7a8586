"""Settings › Sessions and activity: every session of the user, signing them out for real,
a new password ending the others, and sessions that end after a time without use."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from security import sessions, tasks
from security.models import LoginEvent, UserSession
from tests.accounts.test_two_factor import code_for, turn_on
from tests.conftest import PASSWORD

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
HOME_IP = "198.51.100.20"
PHONE_IP = "203.0.113.7"
NEW_PASSWORD = "a quite different horse 8412"


def logged_in(username="alice", ip=HOME_IP, agent=FIREFOX_WINDOWS, remember=False) -> Client:
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    data = {"username": username, "password": PASSWORD}
    if remember:
        data["remember"] = "1"
    response = client.post(reverse("login"), data)
    assert response.status_code == 302, response.content.decode()[:500]
    client.last_login_response = response
    return client


def is_logged_out(client) -> bool:
    response = client.get(reverse("security:sessions"))
    return response.status_code == 302 and response.url.startswith(reverse("login"))


def row_of(client) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


def test_settings_link_to_the_sessions_page(alice_client):
    page = alice_client.get(reverse("account_list")).content.decode()
    assert f'href="{reverse("security:sessions")}"' in page


def test_the_page_lists_both_sessions_of_a_user_logged_in_from_two_clients(alice, bob):
    laptop = logged_in()
    phone = logged_in(ip=PHONE_IP, agent=SAFARI_IPHONE)
    logged_in("bob", ip="192.0.2.99")

    page = laptop.get(reverse("security:sessions")).content.decode()
    assert "Firefox on Windows" in page
    assert "Safari on iOS" in page
    assert HOME_IP in page and PHONE_IP in page
    assert "192.0.2.99" not in page  # bob's session is his
    assert page.count("This session") == 1
    assert page.index("This session") < page.index("Safari on iOS")  # this one comes first
    # The phone's row has a sign-out button; this session's does not.
    assert reverse("security:sign_out", args=[row_of(phone).pk]) in page
    assert reverse("security:sign_out", args=[row_of(laptop).pk]) not in page
    assert client_session_key_not_in(page, laptop, phone)


def client_session_key_not_in(page, *clients) -> bool:
    """Session keys are secrets: the page names sessions by row, never by key."""
    return all(client.session.session_key not in page for client in clients)


def test_signing_out_the_other_session_logs_that_client_out(alice):
    laptop = logged_in()
    phone = logged_in(ip=PHONE_IP, agent=SAFARI_IPHONE)
    phone_key = phone.session.session_key
    assert not is_logged_out(phone)

    response = laptop.post(reverse("security:sign_out", args=[row_of(phone).pk]), follow=True)
    assert "The session is signed out." in response.content.decode()
    assert not Session.objects.filter(session_key=phone_key).exists()  # gone from the store
    assert not UserSession.objects.filter(session_key=phone_key).exists()
    assert is_logged_out(phone)
    assert not is_logged_out(laptop)


def test_sign_out_all_other_sessions(alice, bob):
    laptop = logged_in()
    others = [logged_in(ip=PHONE_IP, agent=SAFARI_IPHONE), logged_in(ip="192.0.2.5")]
    bobs = logged_in("bob")

    response = laptop.post(reverse("security:sign_out_others"), follow=True)
    assert "2 other sessions signed out." in response.content.decode()
    assert all(is_logged_out(client) for client in others)
    assert not is_logged_out(laptop)
    assert not is_logged_out(bobs)  # only alice's own sessions
    assert "You are not logged in anywhere else." in response.content.decode()


def test_another_users_session_cannot_be_signed_out(alice, bob):
    alices = logged_in()
    bobs = logged_in("bob")
    response = bobs.post(reverse("security:sign_out", args=[row_of(alices).pk]))
    assert response.status_code == 404
    assert not is_logged_out(alices)


def test_signing_out_this_session_logs_out(alice):
    laptop = logged_in()
    response = laptop.post(reverse("security:sign_out", args=[row_of(laptop).pk]))
    assert response.status_code == 302 and response.url == reverse("login")
    assert is_logged_out(laptop)
    assert not UserSession.objects.exists()


def test_signing_out_needs_a_post(alice):
    laptop = logged_in()
    assert laptop.get(reverse("security:sign_out", args=[row_of(laptop).pk])).status_code == 405
    assert laptop.get(reverse("security:sign_out_others")).status_code == 405


def test_logging_out_forgets_the_session(alice):
    laptop = logged_in()
    laptop.post(reverse("logout"))
    assert not UserSession.objects.exists()


def test_a_password_change_signs_out_the_other_sessions(alice):
    laptop = logged_in()
    phone = logged_in(ip=PHONE_IP, agent=SAFARI_IPHONE)
    phone_key = phone.session.session_key
    response = laptop.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=phone_key).exists()
    assert is_logged_out(phone)
    assert not is_logged_out(laptop)
    # This session's key was cycled by the change: its row followed it.
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [
        laptop.session.session_key
    ]


def test_a_password_set_by_an_administrator_signs_out_every_session(alice):
    laptop, phone = logged_in(), logged_in(ip=PHONE_IP)
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert is_logged_out(laptop) and is_logged_out(phone)
    assert not UserSession.objects.exists()


def test_saving_a_user_without_a_new_password_ends_nothing(alice):
    laptop = logged_in()
    alice.first_name = "Alice"
    alice.save()
    assert not is_logged_out(laptop)


def test_the_code_step_cycles_the_key_and_the_row_follows(alice):
    device, _codes = turn_on(alice)
    client = logged_in()
    before = client.session.session_key
    response = client.post(reverse("two_factor_verify"), {"code": code_for(device, 1)})
    assert response.status_code == 302
    after = client.session.session_key
    assert after != before
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [after]


# --- last seen, at a constant cost -------------------------------------------------------


def test_activity_is_written_at_most_every_few_minutes(alice, settings):
    laptop = logged_in()
    row = row_of(laptop)
    with CaptureQueriesContext(connection) as queries:
        assert laptop.get(reverse("security:sessions")).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert writes == []  # neither our row nor the session
    row.refresh_from_db()
    first_seen = row.last_seen

    later = timezone.now() + timedelta(minutes=settings.WEBMAIL_SESSION_SEEN_MINUTES + 1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        laptop.get(reverse("security:sessions"), REMOTE_ADDR=PHONE_IP)
    row.refresh_from_db()
    assert row.last_seen == later > first_seen
    assert row.ip == PHONE_IP
    session = Session.objects.get(session_key=laptop.session.session_key)
    idle = timedelta(days=settings.WEBMAIL_SESSION_IDLE_DAYS)
    assert abs(session.expire_date - (later + idle)) < timedelta(seconds=5)  # pushed forward


def test_a_session_from_before_tracking_is_adopted_at_its_next_request(alice):
    laptop = logged_in()
    UserSession.objects.all().delete()
    session = laptop.session
    del session[sessions.SEEN_KEY]
    session.save()
    laptop.get(reverse("home"))
    assert row_of(laptop).user == alice


# --- ending after a time without use ----------------------------------------------------


@pytest.mark.parametrize("remember", [True, False])
def test_a_session_ends_after_the_idle_days_without_use(alice, settings, remember):
    assert settings.WEBMAIL_SESSION_IDLE_DAYS == 14  # the default
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600  # the server's idle limit
    client = logged_in(remember=remember)
    cookie = client.last_login_response.cookies[settings.SESSION_COOKIE_NAME]
    if remember:
        assert cookie["max-age"] == 14 * 24 * 3600  # outlives the browser
    else:
        assert cookie["max-age"] == "" and cookie["expires"] == ""  # a browser session

    start = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(days=13)):
        assert not is_logged_out(client)  # used on day 13: the 14 days start again
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(days=26)):
        assert not is_logged_out(client)
    with mock.patch("django.utils.timezone.now", return_value=start + timedelta(days=41)):
        assert is_logged_out(client)  # 15 days without use


def test_the_remember_me_box_is_on_the_login_page(client):
    page = client.get(reverse("login")).content.decode()
    assert 'type="checkbox" name="remember"' in page
    assert '<label for="id_remember">Remember me</label>' in page


def test_the_page_in_korean(alice_client):
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    page = alice_client.get(reverse("security:sessions")).content.decode()
    assert "세션 및 활동" in page
    assert "로그인 기록" in page
    assert "이 세션" in page


def test_the_daily_prune_removes_expired_sessions_and_old_history(alice, settings):
    laptop, phone = logged_in(), logged_in(ip=PHONE_IP)
    phone_key = phone.session.session_key
    expired = timezone.now() - timedelta(seconds=1)
    Session.objects.filter(session_key=phone_key).update(expire_date=expired)
    too_old = timezone.now() - timedelta(days=settings.WEBMAIL_LOGIN_HISTORY_DAYS + 1)
    old = LoginEvent.objects.create(user=alice, username="alice", result="success", time=too_old)

    assert tasks.prune() == "sessions=1 login_events=1"
    assert not Session.objects.filter(session_key=phone_key).exists()
    keys = list(UserSession.objects.values_list("session_key", flat=True))
    assert keys == [laptop.session.session_key]
    assert not LoginEvent.objects.filter(pk=old.pk).exists()
    assert LoginEvent.objects.count() == 2  # this year's two logins stay
    [entry] = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "security.tasks.prune"
    ]
    assert entry["schedule"] == 24 * 3600  # beat runs it daily
