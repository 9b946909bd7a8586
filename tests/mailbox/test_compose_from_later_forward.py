"""Compose, continued (issue 16): choosing another From brings its signature, Send later
asks about a forgotten attachment as Send does, and a forward carries the original's
inline images in plain text too. The no-JavaScript paths, through the views and a real
SMTP server (aiosmtpd); tests/browser has the same with JavaScript."""

from email import policy
from email.parser import BytesParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import SendAs, Signature, User
from mailbox import ingest
from mailbox.forms import sender_key
from mailbox.models import Outgoing, OutgoingStatus
from testkit import mailfactory as mf
from tests.conftest import make_account
from tests.mailbox.test_send import compose_post, smtp_account

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def draft_from(response) -> Outgoing:
    return Outgoing.objects.get(pk=int(urlsplit(response.url).path.rstrip("/").split("/")[-1]))


# Choosing another From brings its signature ----------------------------------------


@pytest.fixture
def sender_setup(alice, smtp_server):
    """alice's account with a default for new messages, one for replies, and two send-as
    addresses: one with its own signature, one without."""
    account = smtp_account(alice, smtp_server())
    new = Signature.objects.create(
        account=account, name="새 편지", text="앨리스", default_for_new=True
    )
    replies = Signature.objects.create(
        account=account, name="답장", text="앨리스 드림", default_for_replies=True
    )
    sales = Signature.objects.create(account=account, name="영업", text="영업팀 앨리스")
    alias = SendAs.objects.create(
        account=account, email="sales@example.test", display_name="영업팀", signature=sales
    )
    bare = SendAs.objects.create(account=account, email="info@example.test")
    return account, alias, bare, {"new": new, "replies": replies, "sales": sales}


def test_the_page_knows_which_signature_each_from_brings(alice_client, sender_setup):
    account, alias, bare, sig = sender_setup
    page = alice_client.get(reverse("compose"))
    assert page.context["sender_signatures"] == {
        str(account.pk): str(sig["new"].pk),
        sender_key(account, alias): str(sig["sales"].pk),
        sender_key(account, bare): str(sig["new"].pk),  # no signature of its own
    }
    assert page.context["form"].initial["sender_shown"] == str(account.pk)
    html = page.content.decode()
    assert 'id="sender-signatures"' in html and 'name="sender_shown"' in html


def test_without_javascript_choosing_an_alias_brings_its_signature_on_save(
    alice_client, alice, sender_setup
):
    account, alias, _bare, sig = sender_setup
    response = compose_post(
        alice_client,
        {
            "account": sender_key(account, alias),
            "body": "본문\n\n-- \n앨리스",
            "signature": sig["new"].pk,  # the select left as it was
            "signature_shown": sig["new"].pk,
            "sender_shown": str(account.pk),
        },
        action="save",
    )
    draft = Outgoing.objects.get(owner=alice)
    assert response.url == reverse("compose_edit", args=[draft.pk])
    assert draft.send_as == alias
    assert draft.body == "본문\n\n-- \n영업팀 앨리스"
    reopened = alice_client.get(response.url).context["form"]
    assert reopened.initial["signature"] == sig["sales"].pk
    assert reopened.initial["sender_shown"] == sender_key(account, alias)


def test_without_javascript_a_signature_picked_with_the_from_change_stands(
    alice_client, alice, sender_setup
):
    account, alias, _bare, sig = sender_setup
    compose_post(
        alice_client,
        {
            "account": sender_key(account, alias),
            "body": "본문\n\n-- \n앨리스",
            "signature": sig["replies"].pk,  # picked in the select too
            "signature_shown": sig["new"].pk,
            "sender_shown": str(account.pk),
        },
        action="save",
    )
    assert Outgoing.objects.get(owner=alice).body == "본문\n\n-- \n앨리스 드림"


def test_without_javascript_the_same_from_keeps_the_signature(alice_client, alice, sender_setup):
    account, alias, _bare, sig = sender_setup
    data = {
        "account": sender_key(account, alias),
        "body": "본문\n\n-- \n앨리스",  # the user kept the account's signature
        "signature": sig["new"].pk,
        "signature_shown": sig["new"].pk,
        "sender_shown": sender_key(account, alias),
    }
    compose_post(alice_client, data, action="save")
    assert Outgoing.objects.get(owner=alice).body == "본문\n\n-- \n앨리스"


def test_a_rich_reply_switched_to_another_account_takes_its_default_for_replies(
    alice_client, alice, sender_setup, smtp_server
):
    alice.compose_format = User.ComposeFormat.RICH
    alice.save(update_fields=["compose_format"])
    account, _alias, _bare, sig = sender_setup
    other = make_account(alice, email="alice@work.example", display_name="Alice")
    Signature.objects.create(
        account=other, name="회사 새 편지", text="김 대리", default_for_new=True
    )
    work = Signature.objects.create(
        account=other, name="회사 답장", html="<p><b>김 대리</b> 드림</p>", text="김 대리 드림",
        default_for_replies=True,
    )  # fmt: skip
    original = ingest.store_message(account, mf.plain("질문", "안녕하세요\n"), "u1")
    draft = draft_from(alice_client.post(reverse("reply", args=[original.pk])))
    assert '<div class="signature">-- <br><p>앨리스 드림</p></div>' in draft.html_body
    page = alice_client.get(reverse("compose_edit", args=[draft.pk]))
    assert page.context["sender_signatures"][str(other.pk)] == str(work.pk)
    compose_post(
        alice_client,
        {
            "account": other.pk,
            "to": draft.to,
            "html_body": draft.html_body,
            "signature": sig["replies"].pk,
            "signature_shown": sig["replies"].pk,
            "sender_shown": str(account.pk),
            "version": draft.version,
        },
        url=reverse("compose_edit", args=[draft.pk]),
        action="save",
    )
    draft.refresh_from_db()
    assert draft.account == other
    assert '<div class="signature">-- <br><p><b>김 대리</b> 드림</p></div>' in draft.html_body
    assert "앨리스 드림" not in draft.html_body
    assert "<blockquote" in draft.html_body  # the quote stays


def test_a_forward_counts_as_a_reply_for_the_signature_a_from_brings(
    alice_client, alice, sender_setup
):
    account, _alias, bare, sig = sender_setup
    original = ingest.store_message(account, mf.plain("자료", "보세요\n"), "u1")
    draft = draft_from(alice_client.post(reverse("forward", args=[original.pk])))
    assert draft.is_forward
    page = alice_client.get(reverse("compose_edit", args=[draft.pk]))
    assert page.context["sender_signatures"][sender_key(account, bare)] == str(sig["replies"].pk)
    new_page = alice_client.get(reverse("compose"))
    assert new_page.context["sender_signatures"][sender_key(account, bare)] == str(sig["new"].pk)


def test_another_users_draft_and_address_are_out_of_reach(
    client, alice, bob, sender_setup, smtp_server
):
    account, alias, _bare, sig = sender_setup
    draft = Outgoing.objects.create(owner=alice, account=account, body="x")
    bob_account = smtp_account(bob, smtp_server(), email="bob@example.test")
    client.force_login(bob)
    data = {"account": sender_key(account, alias), "sender_shown": str(bob_account.pk)}
    response = compose_post(client, data, url=reverse("compose_edit", args=[draft.pk]))
    assert response.status_code == 404
    response = compose_post(client, data, action="save")  # alice's alias as bob's From
    assert response.status_code == 200
    assert "account" in response.context["form"].errors
    assert not Outgoing.objects.filter(owner=bob).exists()


# Send later asks about a forgotten attachment too ---------------------------------------


def test_send_later_asks_first_without_javascript_then_schedules_anyway(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    data = {"account": account.pk, "to": "bob@example.test", "body": "보고서를 첨부합니다.\n"}
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(alice_client, {**data, "send_later": "tomorrow"}, action="")
    draft = Outgoing.objects.get(owner=alice)
    assert (draft.status, draft.scheduled) == (OutgoingStatus.DRAFT, False)  # saved only
    assert response.url == (
        reverse("compose_edit", args=[draft.pk]) + "?attachment_check=1&send_later=tomorrow"
    )
    page = alice_client.get(response.url)
    html = page.content.decode()
    assert page.context["attachment_check"]
    assert "or schedule it as it is" in html
    assert '<button type="submit" name="send_later" value="tomorrow" class="btn">' in html
    assert '<input type="hidden" name="send_anyway" value="1">' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {**data, "send_later": "tomorrow", "send_anyway": "1", "version": draft.version},
            url=reverse("compose_edit", args=[draft.pk]),
            action="",
        )
    assert response.url == reverse("folder", args=["sent"])
    draft.refresh_from_db()
    assert (draft.status, draft.scheduled) == (OutgoingStatus.QUEUED, True)
    assert server.messages == []  # scheduled, not sent now


def test_a_custom_time_is_repeated_by_the_notice(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    account = smtp_account(alice, smtp_server())
    data = {"account": account.pk, "to": "bob@example.test", "body": "Attached is the report.\n"}
    post = {**data, "send_later": "custom", "send_at": "2099-03-02T09:30"}
    response = compose_post(alice_client, post, action="")
    draft = Outgoing.objects.get(owner=alice)
    assert draft.status == OutgoingStatus.DRAFT
    query = parse_qs(urlsplit(response.url).query)
    assert query == {
        "attachment_check": ["1"], "send_later": ["custom"], "send_at": ["2099-03-02T09:30"]
    }  # fmt: skip
    html = alice_client.get(response.url).content.decode()
    assert 'name="send_at" min="' in html and 'value="2099-03-02T09:30"' in html
    assert 'name="send_later" value="custom" class="btn">' in html
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {**post, "send_anyway": "1", "version": draft.version},
            url=reverse("compose_edit", args=[draft.pk]),
            action="",
        )
    draft.refresh_from_db()
    assert draft.scheduled and draft.send_after.isoformat().startswith("2099-03-02T09:30")


def test_a_bad_time_in_the_notices_address_is_not_shown(alice_client, alice, smtp_server):
    account = smtp_account(alice, smtp_server())
    draft = Outgoing.objects.create(owner=alice, account=account, body="첨부 참고", to="b@x.test")
    url = reverse("compose_edit", args=[draft.pk])
    html = alice_client.get(
        url + '?attachment_check=1&send_later=custom&send_at="><b>x'
    ).content.decode()
    assert "&quot;&gt;&lt;b&gt;x" not in html and '"><b>x' not in html
    assert 'name="send_later" value="custom" class="btn">' in html
    other = alice_client.get(url + "?attachment_check=1&send_later=never").content.decode()
    assert "or send it as it is" in other  # not a Send later choice: the Send notice


def test_save_with_the_notice_on_the_page_saves_and_sends_nothing(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    data = {"account": account.pk, "to": "bob@example.test", "body": "첨부파일 확인\n"}
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(alice_client, {**data, "send_anyway": "1"}, action="save")
    draft = Outgoing.objects.get(owner=alice)
    assert response.url == reverse("compose_edit", args=[draft.pk])
    assert draft.status == OutgoingStatus.DRAFT
    assert server.messages == []


def test_the_notice_is_not_shown_to_another_user(client, alice, bob, smtp_server):
    account = smtp_account(alice, smtp_server())
    draft = Outgoing.objects.create(owner=alice, account=account, body="첨부 참고")
    client.force_login(bob)
    url = reverse("compose_edit", args=[draft.pk]) + "?attachment_check=1&send_later=tomorrow"
    assert client.get(url).status_code == 404


# Forward carries inline images in plain text too -----------------------------------------


def original_with_images() -> bytes:
    """HTML with a cid: image, an inline image without a Content-ID, and a PDF."""
    related = mf.multipart(
        "related",
        mf.text_part('<p>로고: <img src="cid:logo@example.kr"></p>', "html"),
        mf.attachment_part(PNG, "로고.png", "image/png", disposition="inline",
                           content_id="logo@example.kr"),
    )  # fmt: skip
    body = mf.multipart("alternative", mf.text_part("로고 첨부\n"), related)
    loose = mf.attachment_part(PNG[:300], "사진.png", "image/png", disposition="inline")
    pdf = mf.attachment_part(PDF, "견적서.pdf", "application/pdf")
    return mf.message(mf.multipart("mixed", body, loose, pdf), subject="견적")


def send_draft(client, draft, capture):
    with capture(execute=True):
        response = compose_post(
            client,
            {"account": draft.account_id, "to": "bob@example.test", "body": draft.body,
             "html_body": draft.html_body, "version": draft.version},
            url=reverse("compose_edit", args=[draft.pk]),
        )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_plain_text_forward_carries_inline_images_as_ordinary_attachments(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    original = ingest.store_message(account, original_with_images(), "u1")
    draft = draft_from(alice_client.post(reverse("forward", args=[original.pk])))
    assert draft.html_body == ""
    attached = [(a.filename, a.inline, a.content_id) for a in draft.attachments.all()]
    assert attached == [("로고.png", False, ""), ("사진.png", False, ""), ("견적서.pdf", False, "")]
    page = alice_client.get(reverse("compose_edit", args=[draft.pk]))
    assert [a.filename for a in page.context["attachments"]] == [
        "로고.png",
        "사진.png",
        "견적서.pdf",
    ]
    send_draft(alice_client, draft, django_capture_on_commit_callbacks)
    msg = parse(server.messages[0].data)
    assert not any(p.get_content_type() == "multipart/related" for p in msg.walk())
    parts = {p.get_filename(): p for p in msg.iter_attachments()}
    assert set(parts) == {"로고.png", "사진.png", "견적서.pdf"}
    assert parts["로고.png"].get_content() == PNG  # byte-exact
    assert parts["사진.png"].get_content() == PNG[:300]
    assert parts["로고.png"]["Content-ID"] is None


def test_a_rich_forward_sends_cid_images_inline_and_the_rest_as_attachments(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    alice.compose_format = User.ComposeFormat.RICH
    alice.save(update_fields=["compose_format"])
    server = smtp_server()
    account = smtp_account(alice, server)
    original = ingest.store_message(account, original_with_images(), "u1")
    draft = draft_from(alice_client.post(reverse("forward", args=[original.pk])))
    attached = [(a.filename, a.inline, a.content_id) for a in draft.attachments.all()]
    assert attached == [
        ("로고.png", True, "logo@example.kr"), ("사진.png", False, ""), ("견적서.pdf", False, "")
    ]  # fmt: skip
    assert 'src="cid:logo@example.kr"' in draft.html_body
    send_draft(alice_client, draft, django_capture_on_commit_callbacks)
    msg = parse(server.messages[0].data)
    [related] = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    [image] = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<logo@example.kr>" and image.get_content() == PNG
    assert {p.get_filename() for p in msg.iter_attachments()} == {"사진.png", "견적서.pdf"}


def test_forward_as_attachment_carries_everything_inside_the_eml_only(
    alice_client, alice, smtp_server
):
    account = smtp_account(alice, smtp_server())
    original = ingest.store_message(account, original_with_images(), "u1")
    response = alice_client.post(reverse("forward", args=[original.pk]), {"as": "attachment"})
    draft = draft_from(response)
    assert [a.content_type for a in draft.attachments.all()] == ["message/rfc822"]
