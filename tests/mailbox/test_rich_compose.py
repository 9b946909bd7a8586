"""Rich-text compose through the views and a real SMTP server (aiosmtpd): the server
sanitizes the editor's HTML, derives the text part, sends cid: images as related parts,
quotes HTML in replies, inserts and switches signatures, and asks about a forgotten
attachment."""

from email import policy
from email.parser import BytesParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Signature, User
from mailbox import ingest
from mailbox.models import Outgoing, OutgoingAttachment, OutgoingStatus
from tests.mailbox.test_send import compose_post, smtp_account

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def crlf_free(text: str) -> str:
    return text.replace("\r\n", "\n")


@pytest.fixture
def rich_alice(alice):
    alice.compose_format = User.ComposeFormat.RICH
    alice.save(update_fields=["compose_format"])
    return alice


def draft_with_image(client, account, name="사진 1.png"):
    """Upload an image the way editor.js does for a paste: inline, starting a draft."""
    response = client.post(
        reverse("upload_attachment"),
        {
            "account": account.pk,
            "inline": "1",
            "file": SimpleUploadedFile(name, PNG, "image/png"),
            "size": len(PNG),
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    return Outgoing.objects.get(pk=answer["draft"]), answer["attachment"]


HOSTILE = (
    '<div onmouseover="steal()">안녕하세요 <b>민수</b>님<script>steal()</script></div>'
    '<div><a href="javascript:steal()">click</a> <a href="https://example.kr/r">report</a></div>'
    '<div><img src="https://tracker.example/p.gif"><img src="data:image/png;base64,AAAA">'
    '<span style="color: red; background: url(https://t.example/x)">red</span>'
    '<span style="width: expression(alert(1))">x</span></div>'
    "<style>body { display: none }</style>"
)


def test_a_hostile_paste_arrives_inert_and_the_text_part_is_derived(
    alice_client, rich_alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(rich_alice, server)
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {
                "account": account.pk,
                "to": "bob@example.test",
                "subject": "서식",
                "body": "what the browser says the text is (ignored)",
                "html_body": HOSTILE,
            },
        )
    assert response.status_code == 302
    outgoing = Outgoing.objects.get(owner=rich_alice)
    assert outgoing.status == OutgoingStatus.SENT
    [received] = server.messages
    msg = parse(received.data)
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",)).get_content()
    for inert in (
        "steal",
        "script",
        "javascript",
        "tracker",
        "data:",
        "expression",
        "url(",
        "<style",
    ):
        assert inert not in html, inert
    assert "<b>민수</b>" in html
    assert '<span style="color: red">red</span>' in html
    assert 'href="https://example.kr/r"' in html
    text = crlf_free(msg.get_body(("plain",)).get_content())
    assert text == "안녕하세요 민수님\nclick report [https://example.kr/r]\nredx\n"
    assert outgoing.body == text


def test_a_pasted_image_goes_as_a_related_part_byte_exact_with_its_korean_name(
    alice_client, rich_alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(rich_alice, server)
    draft, image = draft_with_image(alice_client, account)
    attachment = OutgoingAttachment.objects.get(pk=image["id"])
    assert attachment.inline and attachment.content_id.endswith("@example.test")
    # The editor shows it from our origin; someone else's image URL is dropped.
    assert image["src"] == f"/compose/{draft.pk}/inline/{attachment.pk}/"
    shown = alice_client.get(image["src"])
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert b"".join(shown.streaming_content) == PNG
    html = (
        f'<div>사진을 보내요</div><div><img src="{image["src"]}" alt="사진 1.png"></div>'
        f'<div><img src="/compose/{draft.pk + 1}/inline/{attachment.pk}/"></div>'
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {
                "account": account.pk,
                "to": "김민수 <bob@example.test>",
                "subject": "사진 🖼",
                "html_body": html,
                "version": draft.version,
            },
            url=reverse("compose_edit", args=[draft.pk]),
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.html_body.count("<img") == 1
    assert f'src="cid:{attachment.content_id}"' in draft.html_body
    [received] = server.messages
    assert received.data.isascii()
    msg = parse(received.data)
    assert msg.get_content_type() == "multipart/related"
    assert msg["Subject"] == "사진 🖼"
    assert msg["To"].addresses[0].display_name == "김민수"
    alternative, part = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert part["Content-ID"] == f"<{attachment.content_id}>"
    assert part.get_content_disposition() == "inline"
    assert part.get_filename() == "사진 1.png"
    assert part.get_content() == PNG
    text = crlf_free(msg.get_body(("plain",)).get_content())
    assert text == "사진을 보내요\n[사진 1.png]\n"
    # The copy in Sent shows the image from its own cid part.
    stored = draft.sent_message
    assert stored.attachments.get().content_id == attachment.content_id


def test_an_inline_image_is_not_served_to_another_user(client, bob, rich_alice, smtp_server):
    account = smtp_account(rich_alice, smtp_server())
    client.force_login(rich_alice)
    _draft, image = draft_with_image(client, account)
    client.force_login(bob)
    assert client.get(image["src"]).status_code == 404


def test_only_images_may_be_inline(alice_client, rich_alice, smtp_server):
    account = smtp_account(rich_alice, smtp_server())
    response = alice_client.post(
        reverse("upload_attachment"),
        {
            "account": account.pk,
            "inline": "1",
            "file": SimpleUploadedFile("x.html", b"<script>", "text/html"),
            "size": 8,
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert not OutgoingAttachment.objects.exists()


def test_without_javascript_the_plain_body_is_sent_as_plain_text(
    alice_client, rich_alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(rich_alice, server)
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {"account": account.pk, "to": "bob@example.test", "body": "평문입니다\n"},
        )
    msg = parse(server.messages[0].data)
    assert msg.get_content_type() == "text/plain"
    assert crlf_free(msg.get_content()) == "평문입니다\n"


HTML_MAIL = (
    "From: =?utf-8?b?6rmA7KeA7ZiE?= <kim@example.kr>\r\n"
    "To: alice@example.test\r\n"
    "Subject: =?utf-8?b?7ZqM7J2Y?=\r\n"
    "Date: Fri, 08 Mar 2024 15:20:00 +0900\r\n"
    "Message-ID: <html-original@example.kr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    '<p onclick="x()">회의는 <b>3시</b>입니다<img src="https://tracker.example/o.gif"></p>\r\n'
).encode()


def test_a_reply_to_an_html_message_quotes_its_sanitized_html_under_the_signature(
    alice_client, rich_alice, smtp_server
):
    account = smtp_account(rich_alice, smtp_server())
    Signature.objects.create(
        account=account, name="회사", html="<p><b>앨리스</b> 드림</p>", text="앨리스 드림",
        default_for_replies=True,
    )  # fmt: skip
    original = ingest.store_message(account, HTML_MAIL, "u1")
    response = alice_client.post(reverse("reply", args=[original.pk]))
    draft = Outgoing.objects.get(owner=rich_alice)
    assert response.url == reverse("compose_edit", args=[draft.pk])
    html = draft.html_body
    signature = html.index('<div class="signature">-- <br><p><b>앨리스</b> 드림</p></div>')
    attribution = html.index("김지현 &lt;kim@example.kr&gt; wrote:</p>")
    quote = html.index('<blockquote type="cite"><p>회의는 <b>3시</b>입니다</p>')
    assert signature < attribution < quote
    assert "onclick" not in html and "tracker" not in html
    assert crlf_free(draft.body).endswith("wrote:\n\n> 회의는 3시입니다\n")
    assert draft.body.startswith("-- \n앨리스 드림\n\nOn ")
    # The editor starts from the same HTML (json_script, never marked safe).
    page = alice_client.get(response.url)
    assert page.context["editor_html"] == html


def test_a_plain_text_user_replies_with_a_quote_and_the_signature_delimiter(
    alice_client, alice, smtp_server
):
    account = smtp_account(alice, smtp_server())
    Signature.objects.create(account=account, name="s", text="Alice", default_for_replies=True)
    original = ingest.store_message(account, HTML_MAIL, "u1")
    alice_client.post(reverse("reply", args=[original.pk]))
    draft = Outgoing.objects.get(owner=alice)
    assert draft.html_body == ""
    assert draft.body.startswith("\n\n-- \nAlice\n\nOn ")
    assert "김지현 <kim@example.kr> wrote:\n> 회의는 3시입니다\n" in draft.body
    assert "> 회의는 3시입니다" in draft.body


def test_a_new_message_starts_with_the_default_signature_and_the_select_switches_it(
    alice_client, alice, smtp_server
):
    account = smtp_account(alice, smtp_server())
    work = Signature.objects.create(
        account=account, name="회사", text="김 대리", default_for_new=True
    )
    home = Signature.objects.create(account=account, name="개인", text="앨리스")
    page = alice_client.get(reverse("compose"))
    form = page.context["form"]
    assert form.initial["body"] == "\n\n-- \n김 대리"
    assert form.initial["signature"] == work.pk
    # Without JavaScript the select applies on Save draft.
    response = compose_post(
        alice_client,
        {
            "account": account.pk,
            "body": "본문\n\n-- \n김 대리",
            "signature": home.pk,
            "signature_shown": work.pk,
        },
        action="save",
    )
    draft = Outgoing.objects.get(owner=alice)
    assert response.url == reverse("compose_edit", args=[draft.pk])
    assert draft.body == "본문\n\n-- \n앨리스"
    reopened = alice_client.get(response.url).context["form"]
    assert reopened.initial["signature"] == home.pk


def test_the_select_switches_a_rich_signature_block(alice_client, rich_alice, smtp_server):
    account = smtp_account(rich_alice, smtp_server())
    work = Signature.objects.create(account=account, name="w", html="<p>Work</p>", text="Work")
    home = Signature.objects.create(
        account=account, name="h", html="<p><i>Home</i></p>", text="Home"
    )
    compose_post(
        alice_client,
        {
            "account": account.pk,
            "html_body": '<div>Hi</div><div class="signature">-- <br><p>Work</p></div>',
            "signature": home.pk,
            "signature_shown": work.pk,
        },
        action="save",
    )
    draft = Outgoing.objects.get(owner=rich_alice)
    assert draft.html_body == '<div>Hi</div><div class="signature">-- <br><p><i>Home</i></p></div>'
    assert draft.body == "Hi\n-- \nHome\n"


def test_a_reopened_rich_draft_knows_its_signature_whatever_the_editor_made_of_its_markup(
    alice_client, rich_alice, smtp_server
):
    account = smtp_account(rich_alice, smtp_server())
    Signature.objects.create(account=account, name="w", html="<p>Work</p>", text="Work")
    home = Signature.objects.create(
        account=account, name="h", html="<p><i>Home</i></p>", text="Home"
    )
    # The editor writes the "-- " line as a block of its own.
    edited = '<div>Hi</div><div class="signature"><div>--&nbsp;</div><p><i>Home</i></p></div>'
    response = compose_post(
        alice_client,
        {
            "account": account.pk,
            "html_body": edited,
            "signature": home.pk,
            "signature_shown": home.pk,
        },
        action="save",
    )
    reopened = alice_client.get(response.url).context["form"]
    assert reopened.initial["signature"] == home.pk


def test_send_asks_first_when_the_text_mentions_an_attachment_and_none_is_attached(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    data = {
        "account": account.pk,
        "to": "bob@example.test",
        "body": "첨부파일 확인 부탁드립니다.\n",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(alice_client, data)
    draft = Outgoing.objects.get(owner=alice)
    assert draft.status == OutgoingStatus.DRAFT  # saved, not sent
    assert server.messages == []
    assert response.url == reverse("compose_edit", args=[draft.pk]) + "?attachment_check=1"
    page = alice_client.get(response.url)
    assert page.context["attachment_check"]
    assert 'name="send_anyway"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {**data, "send_anyway": "1", "version": draft.version},
            url=reverse("compose_edit", args=[draft.pk]),
            action="",
        )
    assert response.status_code == 302
    assert len(server.messages) == 1


def test_quoted_mentions_and_attached_files_do_not_ask(
    alice_client, alice, smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    account = smtp_account(alice, server)
    with django_capture_on_commit_callbacks(execute=True):
        compose_post(
            alice_client,
            {
                "account": account.pk,
                "to": "bob@example.test",
                "body": "Thanks!\n\nOn Monday, Kim wrote:\n> see the attachment\n",
            },
        )
        compose_post(
            alice_client,
            {"account": account.pk, "to": "bob@example.test", "body": "보고서를 첨부합니다."},
            files=[SimpleUploadedFile("보고서.pdf", b"%PDF", "application/pdf")],
        )
    assert len(server.messages) == 2


def test_the_preferences_page_sets_the_compose_format(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("preferences"),
        {"language": "", "theme": "system", "list_density": "comfortable",
         "compose_format": "plain", "time_zone": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.compose_format == "plain"
