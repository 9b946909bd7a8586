"""Send as: an account's extra From addresses, managed in its settings, chosen in the
compose window's From menu, and written as From on the wire (MAIL FROM stays the
account's own address; no Sender field)."""

from email import policy
from email.parser import BytesParser

import pytest
from django.urls import reverse

from accounts.models import SendAs
from mailbox import ingest
from mailbox.models import Outgoing, OutgoingStatus
from testkit import mailfactory as mf
from tests.conftest import make_account


def smtp_account(user, server, **fields):
    user.undo_send_seconds = 0  # delivered at once: this file is about the From
    user.save()
    defaults = {
        "email": f"{user.username}@example.test",
        "display_name": "앨리스 Kim",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": "none",
        "smtp_login": "",
        "smtp_password": "",
    }
    return make_account(user, **{**defaults, **fields})


def compose_data(**data):
    return {"to": "", "cc": "", "bcc": "", "subject": "", "body": "", "action": "send", **data}


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


KIM = "Kim <kim@example.test>"
INJECTED = "Help\r\nBcc: x@example.test"


@pytest.fixture
def alias(alice_account):
    return SendAs.objects.create(
        account=alice_account, email="sales@example.test", display_name="영업팀 Sales"
    )


# Managing the addresses --------------------------------------------------------------------


def test_add_an_address(alice_client, alice_account):
    url = reverse("send_as_list", args=[alice_account.pk])
    response = alice_client.post(url, {"email": "Help@Example.test", "display_name": "고객지원"})
    assert response.status_code == 302
    alias = SendAs.objects.get(account=alice_account)
    assert (alias.email, alias.display_name) == ("Help@example.test", "고객지원")
    assert "고객지원" in alice_client.get(url).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"email": "help@example.test", "display_name": INJECTED},
            "display_name",
        ),
        ({"email": "help@example.test\r\nBcc: x@example.test", "display_name": ""}, "email"),
        ({"email": "not an address", "display_name": ""}, "email"),
        ({"email": "alice@example.test", "display_name": ""}, "email"),  # the account's own
        ({"email": "SALES@example.test", "display_name": ""}, "email"),  # already there
    ],
)
def test_invalid_addresses_are_form_errors(alice_client, alice_account, alias, data, field):
    response = alice_client.post(reverse("send_as_list", args=[alice_account.pk]), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert SendAs.objects.count() == 1


def test_edit_and_remove(alice_client, alice_account, alias):
    edit = reverse("send_as_edit", args=[alice_account.pk, alias.pk])
    response = alice_client.post(edit, {"email": alias.email, "display_name": "Sales team"})
    assert response.status_code == 302
    alias.refresh_from_db()
    assert alias.display_name == "Sales team"
    delete = reverse("send_as_delete", args=[alice_account.pk, alias.pk])
    assert alice_client.post(delete).status_code == 302
    assert not SendAs.objects.exists()


def test_linked_from_the_account_list(alice_client, alice_account):
    page = alice_client.get(reverse("account_list")).content.decode()
    assert reverse("send_as_list", args=[alice_account.pk]) in page


def test_another_users_addresses_are_404(client, bob, alice_account, alias):
    client.force_login(bob)
    urls = [
        reverse("send_as_list", args=[alice_account.pk]),
        reverse("send_as_edit", args=[alice_account.pk, alias.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, {"email": "x@example.test"}).status_code == 404
    delete = reverse("send_as_delete", args=[alice_account.pk, alias.pk])
    assert client.post(delete).status_code == 404
    assert SendAs.objects.filter(pk=alias.pk, display_name="영업팀 Sales").exists()


def test_an_alias_of_another_account_is_404_through_mine(client, bob, alice_account, alias):
    client.force_login(bob)
    bob_account = make_account(bob)
    url = reverse("send_as_edit", args=[bob_account.pk, alias.pk])
    assert client.get(url).status_code == 404


# Compose --------------------------------------------------------------------------------


def test_from_menu_lists_accounts_and_their_aliases(alice_client, alice_account, alias):
    form = alice_client.get(reverse("compose")).context["form"]
    choices = [(value, str(label)) for value, label in form.fields["account"].choices]
    assert choices == [
        (str(alice_account.pk), "alice@example.test"),
        (f"{alice_account.pk}:{alias.pk}", "영업팀 Sales <sales@example.test>"),
    ]


def test_sending_as_an_alias_puts_it_in_from(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    alias = SendAs.objects.create(
        account=account, email="sales@example.test", display_name="영업팀"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("compose"),
            compose_data(account=f"{account.pk}:{alias.pk}", to="bob@example.test", subject="견적"),
        )
    assert response.status_code == 302
    outgoing = Outgoing.objects.get()
    assert outgoing.send_as == alias
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingStatus.SENT
    [received] = server.messages
    msg = parse(received.data)
    sender = msg["From"].addresses[0]
    assert (sender.addr_spec, sender.display_name) == ("sales@example.test", "영업팀")
    assert "Sender" not in msg
    # The envelope stays the account's: what the provider accepts, and where bounces go.
    assert received.mail_from == "alice@example.test"
    # The Sent copy is the same bytes.
    with outgoing.sent_message.raw_file.open("rb") as f:
        assert f.read() == received.data


def test_the_account_itself_is_still_the_default_from(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    SendAs.objects.create(account=account, email="sales@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("compose"), compose_data(account=account.pk, to="b@example.test"))
    [received] = server.messages
    assert parse(received.data)["From"].addresses[0].addr_spec == "alice@example.test"
    assert Outgoing.objects.get().send_as is None


def test_a_saved_draft_keeps_its_from(alice_client, alice_account, alias):
    response = alice_client.post(
        reverse("compose"),
        compose_data(account=f"{alice_account.pk}:{alias.pk}", subject="draft", action="save"),
    )
    draft = Outgoing.objects.get()
    assert draft.send_as == alias
    page = alice_client.get(response.url)
    assert page.context["form"]["account"].value() == f"{alice_account.pk}:{alias.pk}"
    assert f'value="{alice_account.pk}:{alias.pk}" selected' in page.content.decode()


def test_another_users_alias_cannot_be_chosen(client, bob, alice_account, alias):
    client.force_login(bob)
    bob_account = make_account(bob)
    for value in (f"{alice_account.pk}:{alias.pk}", f"{bob_account.pk}:{alias.pk}"):
        response = client.post(
            reverse("compose"), compose_data(account=value, to="x@example.test", action="save")
        )
        assert response.status_code == 200
        assert "account" in response.context["form"].errors
    assert not Outgoing.objects.exists()


def test_background_upload_accepts_an_alias_in_from(alice_client, alice_account, alias):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = alice_client.post(
        reverse("upload_attachment"),
        {
            "file": SimpleUploadedFile("a.txt", b"hello", "text/plain"),
            "size": 5,
            "account": f"{alice_account.pk}:{alias.pk}",
        },
    )
    assert response.status_code == 201, response.content
    assert Outgoing.objects.get().account == alice_account


def test_reply_to_mail_sent_to_an_alias_comes_from_it(alice_client, alice_account, alias):
    raw = mf.plain("문의", "안녕하세요", from_=KIM, to="Sales <SALES@example.test>")
    message = ingest.store_message(alice_account, raw, "u1")
    response = alice_client.post(reverse("reply", args=[message.pk]), {"all": "1"})
    draft = Outgoing.objects.get(pk=response.url.rstrip("/").split("/")[-1])
    assert draft.send_as == alias
    assert "sales@example.test" not in draft.to.lower() + draft.cc.lower()
    page = alice_client.get(response.url)
    assert page.context["form"]["account"].value() == f"{alice_account.pk}:{alias.pk}"


def test_reply_to_mail_sent_to_the_account_comes_from_the_account(
    alice_client, alice_account, alias
):
    raw = mf.plain("문의", "안녕하세요", from_=KIM, to="alice@example.test")
    message = ingest.store_message(alice_account, raw, "u2")
    response = alice_client.post(reverse("reply", args=[message.pk]))
    assert Outgoing.objects.get().send_as is None
    assert response.status_code == 302
