"""Header-bound fields refuse control characters, also hidden in (nested) encoded words,
in every form and in model validation (the admin and management commands call it)."""

import base64

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.forms import MailAccountForm
from accounts.forms_send_as import SendAsForm
from accounts.forms_signatures import SignatureForm
from accounts.header_fields import MESSAGE, validate_header_text
from accounts.models import MailAccount, SendAs, Signature
from mailbox import folders
from mailbox.forms import ComposeForm
from mailbox.models import Outgoing, UserFolder
from rules.forms_vacation import VacationForm
from rules.models import VacationReply
from tests.conftest import make_account, make_user

CONTROLS = ["\r", "\n", "\r\n", "\x00", "\x08", "\x1b", "\x7f", "\x85", "\x9b", "\u2028"]
PLAIN = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), max_codepoint=0xD7FF),
    max_size=5,
)


def encoded_word(text: str, encoding: str) -> str:
    data = text.encode("utf-8")
    if encoding == "b":
        return f"=?utf-8?b?{base64.b64encode(data).decode()}?="
    payload = "".join(chr(b) if chr(b).isalnum() and b < 128 else f"={b:02X}" for b in data)
    return f"=?utf-8?q?{payload}?="


@st.composite
def hostile(draw) -> str:
    # The control inside the text: at its ends, forms strip CR and LF away like spaces.
    value = "Eve" + draw(PLAIN) + draw(st.sampled_from(CONTROLS)) + "Bcc: x@y" + draw(PLAIN)
    for encoding in draw(st.lists(st.sampled_from("bq"), max_size=3)):
        value = draw(PLAIN) + encoded_word(value, encoding) + draw(PLAIN)
    return value


def assert_refused(errors, field, value, max_length):
    assert field in errors, (field, value)
    if len(value) <= max_length:
        assert str(MESSAGE) in [str(e) for e in errors[field]] or any(
            "line break" in str(e) for e in errors[field]
        ), (field, value, errors[field])


PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def owner(db):
    return make_user("hedwig")


@pytest.fixture
def account(owner):
    return make_account(owner)


@given(value=hostile())
def test_the_validator_refuses_every_hostile_value(value):
    with pytest.raises(ValidationError):
        validate_header_text(value)


@pytest.mark.parametrize(
    "value",
    [
        "Alice Kim",
        "김영희",
        "=?utf-8?b?6rmA7JiB7Z2s?=",  # 김영희
        "=?euc-kr?b?sejA/sjx?=",
        "Re: =?utf-8?q?caf=C3=A9?= menu\tplan",
        "=?utf-8?q?a=C3?= =?utf-8?q?=A9?=",  # one character split across two words
    ],
)
def test_ordinary_and_korean_values_pass(value):
    validate_header_text(value)


def test_a_control_split_across_two_words_is_found():
    with pytest.raises(ValidationError):
        validate_header_text("=?utf-8?q?Eve=C2?= =?utf-8?q?=85Bcc=3A_x?=")


@PROPERTY
@given(value=hostile())
def test_models_refuse_hostile_header_values(account, owner, value):
    cases = [
        (MailAccount(user=owner, display_name=value), "display_name", 200),
        (
            SendAs(account=account, email="alias@example.test", display_name=value),
            "display_name",
            200,
        ),
        (Signature(account=account, name=value), "name", 100),
        (VacationReply(account=account, subject=value), "subject", 998),
        (UserFolder(owner=owner, name=value), "name", 100),
        (Outgoing(owner=owner, account=account, subject=value), "subject", 10**9),
    ]
    for instance, field, max_length in cases:
        with pytest.raises(ValidationError) as caught:
            instance.full_clean()
        assert_refused(caught.value.message_dict, field, value, max_length)


@PROPERTY
@given(value=hostile())
def test_forms_refuse_hostile_header_values(account, owner, value):
    forms = [
        (ComposeForm(data={"subject": value, "to": "bob@example.test"}, user=owner), "subject"),
        (VacationForm(data={"subject": value, "interval_days": 7}), "subject"),
        (
            SendAsForm(
                data={"email": "alias@example.test", "display_name": value}, account=account
            ),
            "display_name",
        ),
        (SignatureForm(data={"name": value, "text": "x"}, account=account), "name"),
        (MailAccountForm(data={"display_name": value}, instance=account), "display_name"),
    ]
    for form, field in forms:
        assert not form.is_valid()
        assert field in form.errors, (field, value, form.errors)
    with pytest.raises(ValidationError) as caught:
        folders.create(owner, value)
    assert "name" in caught.value.message_dict
    assert not UserFolder.objects.filter(owner=owner).exists()


def test_the_account_page_refuses_a_display_name_with_a_line_break(client, account, owner):
    from django.urls import reverse

    client.force_login(owner)
    page = client.get(reverse("account_edit", args=[account.pk]))
    form = page.context["form"]
    data = {
        name: ("" if value is None else value)
        for name, value in ((f.name, form[f.name].value()) for f in form)
        if not isinstance(value, bool) or value
    }
    data["display_name"] = "Eve\r\nBcc: leak@example.test"
    response = client.post(reverse("account_edit", args=[account.pk]), data)
    assert response.status_code in (200, 400)
    assert str(MESSAGE) in response.content.decode()
    account.refresh_from_db()
    assert account.display_name == ""


def test_another_users_account_is_not_found(client, account):
    from django.urls import reverse

    other = make_user("intruder")
    client.force_login(other)
    response = client.post(
        reverse("account_edit", args=[account.pk]), {"display_name": "Eve\r\nBcc: x"}
    )
    assert response.status_code == 404
