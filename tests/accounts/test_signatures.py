"""Settings › Signatures: several per account, rich text sanitized, plain text derived,
one default of each kind, and nobody else's."""

import pytest
from django.urls import reverse

from accounts.models import Signature
from tests.conftest import make_account


@pytest.fixture
def account(alice):
    return make_account(alice)


def add(client, account, **fields):
    data = {"name": "회사", "html": "", "text": "", **fields}
    return client.post(reverse("signature_list", args=[account.pk]), data)


def test_a_rich_signature_is_sanitized_and_its_plain_text_derived(alice_client, account):
    response = add(
        alice_client,
        account,
        html='<p onclick="x()"><b>김지현</b> <img src="https://t.example/p.gif">팀장</p>'
        '<script>steal()</script><p><a href="https://example.kr">example.kr</a></p>',
        default_for_new="on",
    )
    assert response.status_code == 302
    signature = Signature.objects.get(account=account)
    assert signature.html == (
        '<p><b>김지현</b> 팀장</p><p><a href="https://example.kr" rel="noopener noreferrer">'
        "example.kr</a></p>"
    )
    assert signature.text == "김지현 팀장\n\nexample.kr [https://example.kr]"
    assert signature.default_for_new and not signature.default_for_replies


def test_without_javascript_the_plain_text_is_the_signature(alice_client, account):
    add(alice_client, account, text="Alice <alice@example.test>")
    signature = Signature.objects.get(account=account)
    assert signature.html == "<p>Alice &lt;alice@example.test&gt;</p>"


def test_a_new_default_takes_over_from_the_old_one(alice_client, account):
    add(alice_client, account, name="one", text="1", default_for_new="on", default_for_replies="on")
    add(alice_client, account, name="two", text="2", default_for_new="on")
    one, two = Signature.objects.order_by("pk")
    assert (one.default_for_new, one.default_for_replies) == (False, True)
    assert two.default_for_new


def test_an_empty_signature_is_refused(alice_client, account):
    response = add(alice_client, account, html="<p> </p>")
    assert response.status_code == 400
    assert not Signature.objects.exists()


def test_another_users_account_and_signatures_are_404(client, bob, account):
    signature = Signature.objects.create(account=account, name="s", text="s")
    client.force_login(bob)
    assert client.get(reverse("signature_list", args=[account.pk])).status_code == 404
    edit = reverse("signature_edit", args=[account.pk, signature.pk])
    assert client.post(edit, {"name": "x", "text": "x"}).status_code == 404
    delete = reverse("signature_delete", args=[account.pk, signature.pk])
    assert client.post(delete).status_code == 404
    assert Signature.objects.get().name == "s"


def test_edit_and_delete(alice_client, account):
    signature = Signature.objects.create(account=account, name="s", text="old")
    edit = reverse("signature_edit", args=[account.pk, signature.pk])
    assert alice_client.get(edit).status_code == 200
    alice_client.post(edit, {"name": "s2", "text": "new", "html": ""})
    signature.refresh_from_db()
    assert (signature.name, signature.text, signature.html) == ("s2", "new", "<p>new</p>")
    alice_client.post(reverse("signature_delete", args=[account.pk, signature.pk]))
    assert not Signature.objects.exists()
