"""Signature images: uploaded (the editor's Insert image, or "Add an image" without
JavaScript) as the mail account's, shown to their owner only, kept in a signature only
when they are that account's; and a message whose signature shows one carries it as its
own inline image, sent as a multipart/related part referred to by cid."""

from email import policy
from email.parser import BytesParser

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Signature, SignatureImage, User
from mailbox import ingest
from mailbox.models import Outgoing, OutgoingAttachment, OutgoingStatus
from tests.conftest import make_account
from tests.mailbox.test_rich_compose import HTML_MAIL
from tests.mailbox.test_send import compose_post, smtp_account

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
GIF = b"GIF89a" + bytes(range(200))


@pytest.fixture
def bob_client(bob):
    """Bob in his own browser (alice_client is the test's `client`)."""
    other = Client()
    other.force_login(bob)
    return other


@pytest.fixture
def rich_alice(alice):
    alice.compose_format = User.ComposeFormat.RICH
    alice.save(update_fields=["compose_format"])
    return alice


def upload(client, account, data=PNG, name="로고.png", content_type="image/png"):
    return client.post(
        reverse("signature_image_upload", args=[account.pk]),
        {"image": SimpleUploadedFile(name, data, content_type)},
        HTTP_ACCEPT="application/json",
    )


def uploaded(client, account, **kwargs) -> SignatureImage:
    response = upload(client, account, **kwargs)
    assert response.status_code == 201, response.content
    return SignatureImage.objects.get(pk=response.json()["image"]["id"])


def image_html(image: SignatureImage) -> str:
    return f'<img src="{image.url()}" alt="{image.filename}">'


def add_signature(client, account, **fields):
    data = {"name": "회사", "html": "", "text": "", **fields}
    return client.post(reverse("signature_list", args=[account.pk]), data)


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


# Upload and serving -------------------------------------------------------------------


def test_an_uploaded_image_is_the_accounts_and_shown_to_its_owner_only(
    alice_client, alice, bob_client
):
    account = make_account(alice)
    response = upload(alice_client, account)
    assert response.status_code == 201
    answer = response.json()["image"]
    image = SignatureImage.objects.get(account=account)
    assert answer == {"id": image.pk, "src": image.url(), "name": "로고.png"}
    assert image.url() == f"/settings/accounts/{account.pk}/signature-images/{image.pk}/"
    assert (image.content_type, image.size) == ("image/png", len(PNG))
    # Content-addressed: the blob is named by its SHA-256, as mail's attachments are.
    assert image.file.name == ingest.blob_name("attachments", image.sha256)
    with default_storage.open(image.file.name, "rb") as f:
        assert f.read() == PNG

    shown = alice_client.get(image.url())
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert b"".join(shown.streaming_content) == PNG

    assert bob_client.get(image.url()).status_code == 404
    assert upload(bob_client, account).status_code == 404  # nor uploads to her account
    # Under another account's URL of hers, neither.
    other = make_account(alice, email="alice2@example.test")
    wrong = reverse("signature_image", args=[other.pk, image.pk])
    assert alice_client.get(wrong).status_code == 404
    assert alice_client.get(image.url()).status_code == 200
    assert SignatureImage.objects.count() == 1


def test_the_same_bytes_again_are_the_same_image(alice_client, alice):
    account = make_account(alice)
    first = uploaded(alice_client, account)
    second = uploaded(alice_client, account, name="again.png")
    assert first.pk == second.pk
    assert SignatureImage.objects.count() == 1


def test_what_the_bytes_are_decides_the_type_not_the_name_or_the_browser(alice_client, alice):
    account = make_account(alice)
    response = upload(alice_client, account, data=b"%PDF-1.4 not an image", name="x.png")
    assert response.status_code == 400
    assert response.json()["error"] == "Image: “x.png” is not a PNG, JPEG, GIF or WebP image."
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = upload(alice_client, account, data=svg, name="x.svg", content_type="image/svg+xml")
    assert response.status_code == 400
    gif = uploaded(alice_client, account, data=GIF, name="a.png", content_type="image/png")
    assert gif.content_type == "image/gif"
    assert alice_client.get(gif.url())["Content-Type"] == "image/gif"
    assert SignatureImage.objects.count() == 1


def test_an_image_over_1_mb_is_refused_naming_the_field_and_the_limit(alice_client, alice):
    account = make_account(alice)
    big = PNG + b"\0" * (SignatureImage.MAX_BYTES - len(PNG) + 1)
    response = upload(alice_client, account, data=big, name="big.png")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Image: “big.png” is too large: a signature image can be up to 1\xa0MB."
    )
    assert not SignatureImage.objects.exists()
    # Exactly the limit is fine.
    assert upload(alice_client, account, data=big[:-1]).status_code == 201


# The signature form ---------------------------------------------------------------------


def test_without_javascript_add_an_image_puts_it_at_the_end_of_the_rich_text(alice_client, alice):
    account = make_account(alice)
    page = alice_client.get(reverse("signature_list", args=[account.pk]))
    assert b'enctype="multipart/form-data"' in page.content
    assert b'name="image"' in page.content and b"Add an image" in page.content
    response = add_signature(
        alice_client,
        account,
        text="김지현 드림",
        image=SimpleUploadedFile("logo.png", PNG, "image/png"),
    )
    assert response.status_code == 302
    signature = Signature.objects.get(account=account)
    image = SignatureImage.objects.get(account=account)
    assert signature.html == f"<p>김지현 드림</p><p>{image_html(image)}</p>"
    assert signature.text == "김지현 드림"  # plain text: the words only, no image

    # Saved again without JavaScript (the rich text follows the plain text): it stays.
    edit = reverse("signature_edit", args=[account.pk, signature.pk])
    alice_client.post(edit, {"name": "회사", "html": "", "text": "김지현"})
    signature.refresh_from_db()
    assert signature.html == f"<p>김지현</p><p>{image_html(image)}</p>"


def test_a_wrong_image_in_the_form_is_an_error_naming_the_field(alice_client, alice):
    account = make_account(alice)
    response = add_signature(
        alice_client,
        account,
        text="김지현",
        image=SimpleUploadedFile("notes.png", b"plain text", "image/png"),
    )
    assert response.status_code == 400
    assert "Add an image: “notes.png” is not a PNG, JPEG, GIF or WebP image." in (
        response.content.decode()
    )
    assert not Signature.objects.exists() and not SignatureImage.objects.exists()


def test_the_signature_keeps_its_accounts_images_and_drops_every_other(
    alice_client, alice, bob, bob_client
):
    account = make_account(alice)
    own = uploaded(alice_client, account)
    other_account = make_account(alice, email="alice2@example.test")
    elsewhere = uploaded(alice_client, other_account, data=GIF, name="other.gif")
    bobs = uploaded(bob_client, make_account(bob), data=GIF + b"bob", name="bob.gif")
    html = (
        f"<p>김지현</p><p>{image_html(own)}</p>"
        f'<p><img src="{bobs.url()}"><img src="{elsewhere.url()}">'
        '<img src="https://tracker.example/p.gif"><img src="data:image/png;base64,AAAA">'
        f'<img src="//evil.example{own.url()}"><img src="{own.url()}?x=1"></p>'
    )
    assert add_signature(alice_client, account, html=html).status_code == 302
    signature = Signature.objects.get(account=account)
    assert signature.html == f"<p>김지현</p><p>{image_html(own)}</p><p></p>"
    assert signature.text == "김지현"


def test_an_image_alone_is_a_signature(alice_client, alice):
    account = make_account(alice)
    image = uploaded(alice_client, account)
    response = add_signature(alice_client, account, html=f"<div>{image_html(image)}</div>")
    assert response.status_code == 302
    signature = Signature.objects.get(account=account)
    assert signature.html == f"<div>{image_html(image)}</div>"
    assert signature.text == ""


def test_the_editor_offers_insert_image_for_the_account(alice_client, alice):
    account = make_account(alice)
    page = alice_client.get(reverse("signature_list", args=[account.pk]))
    url = reverse("signature_image_upload", args=[account.pk])
    assert f'data-image-upload-url="{url}"'.encode() in page.content
    assert b'data-command="image"' in page.content


# Compose --------------------------------------------------------------------------------


@pytest.fixture
def image_signature(rich_alice, smtp_server, alice_client):
    server = smtp_server()
    account = smtp_account(rich_alice, server)
    image = uploaded(alice_client, account)
    signature = Signature.objects.create(
        account=account,
        name="회사",
        html=f"<p><b>김지현</b></p><p>{image_html(image)}</p>",
        text="김지현",
        default_for_new=True,
        default_for_replies=True,
    )
    return server, account, image, signature


def test_a_new_message_with_an_image_signature_sends_the_image_as_a_related_part(
    alice_client, rich_alice, image_signature, django_capture_on_commit_callbacks
):
    server, account, image, signature = image_signature
    page = alice_client.get(reverse("compose"))
    editor_html = page.context["editor_html"]
    # No draft yet: the editor shows the signature's image by its own URL.
    assert f'<img src="{image.url()}" alt="로고.png">' in editor_html
    assert page.context["form"].initial["signature"] == signature.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = compose_post(
            alice_client,
            {
                "account": account.pk,
                "to": "bob@example.test",
                "subject": "서명",
                "html_body": "<div>안녕하세요</div>" + editor_html,
                "signature": signature.pk,
                "signature_shown": signature.pk,
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = Outgoing.objects.get(owner=rich_alice)
    assert draft.status == OutgoingStatus.SENT
    [attachment] = draft.attachments.all()
    assert attachment.inline and attachment.file.name == image.file.name  # no copy
    assert attachment.content_id.endswith("@example.test")
    assert (attachment.filename, attachment.content_type) == ("로고.png", "image/png")
    assert f'<img src="cid:{attachment.content_id}" alt="로고.png">' in draft.html_body
    assert image.url() not in draft.html_body

    [received] = server.messages
    msg = parse(received.data)
    assert msg.get_content_type() == "multipart/related"
    alternative, part = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert part["Content-ID"] == f"<{attachment.content_id}>"
    assert part.get_content_type() == "image/png"
    assert part.get_content() == PNG  # byte-exact
    html = msg.get_body(("html",)).get_content()
    assert f'src="cid:{attachment.content_id}"' in html


def test_a_reply_carries_the_signatures_image_as_its_own(alice_client, rich_alice, image_signature):
    _server, account, image, signature = image_signature
    original = ingest.store_message(account, HTML_MAIL, "u1")
    alice_client.post(reverse("reply", args=[original.pk]))
    draft = Outgoing.objects.get(owner=rich_alice)
    [attachment] = draft.attachments.all()
    assert attachment.inline and attachment.file.name == image.file.name
    assert f'src="cid:{attachment.content_id}"' in draft.html_body
    # Reopened, the editor shows it as the draft's image and knows the signature.
    page = alice_client.get(reverse("compose_edit", args=[draft.pk]))
    src = reverse("compose_inline_image", args=[draft.pk, attachment.pk])
    assert f'src="{src}"' in page.context["editor_html"]
    assert page.context["form"].initial["signature"] == signature.pk
    # Saved as the editor posts it (the draft's URL): still one image.
    compose_post(
        alice_client,
        {
            "account": account.pk,
            "html_body": page.context["editor_html"],
            "signature": signature.pk,
            "signature_shown": signature.pk,
            "version": draft.version,
        },
        url=reverse("compose_edit", args=[draft.pk]),
        action="save",
    )
    assert draft.attachments.count() == 1


def test_autosaving_the_signatures_image_attaches_it_once(
    alice_client, rich_alice, image_signature
):
    _server, account, image, signature = image_signature
    html = f'<div>hi</div><div class="signature">-- <br>{image_html(image)}</div>'
    data = {"account": account.pk, "to": "", "cc": "", "bcc": "", "subject": "", "body": ""}
    first = alice_client.post(reverse("autosave_draft"), {**data, "html_body": html})
    assert first.status_code == 200, first.content
    answer = first.json()
    # The page keeps the signature's URL (it was not reloaded): the same image again.
    second = alice_client.post(
        answer["autosave_url"], {**data, "html_body": html, "version": answer["version"]}
    )
    assert second.status_code == 200, second.content
    draft = Outgoing.objects.get(pk=answer["draft"])
    [attachment] = draft.attachments.all()
    assert draft.html_body.count(f'src="cid:{attachment.content_id}"') == 1


def test_without_javascript_switching_to_an_image_signature_brings_its_image(
    alice_client, rich_alice, image_signature
):
    _server, account, image, signature = image_signature
    plain = Signature.objects.create(
        account=account, name="개인", html="<p>앨리스</p>", text="앨리스"
    )
    compose_post(
        alice_client,
        {
            "account": account.pk,
            "html_body": '<div>Hi</div><div class="signature">-- <br><p>앨리스</p></div>',
            "signature": signature.pk,
            "signature_shown": plain.pk,
        },
        action="save",
    )
    draft = Outgoing.objects.get(owner=rich_alice)
    [attachment] = draft.attachments.all()
    assert attachment.file.name == image.file.name
    assert draft.html_body == (
        '<div>Hi</div><div class="signature">-- <br><p><b>김지현</b></p>'
        f'<p><img src="cid:{attachment.content_id}" alt="로고.png"></p></div>'
    )


def test_another_users_signature_image_is_dropped_from_a_draft(
    alice_client, rich_alice, image_signature, bob, bob_client
):
    _server, account, _image, _signature = image_signature
    bobs = uploaded(bob_client, make_account(bob), data=GIF, name="bob.gif")
    compose_post(
        alice_client,
        {"account": account.pk, "html_body": f"<div>Hi {image_html(bobs)}</div>"},
        action="save",
    )
    draft = Outgoing.objects.get(owner=rich_alice)
    assert "<img" not in draft.html_body
    assert not OutgoingAttachment.objects.filter(outgoing=draft).exists()


def test_in_plain_text_the_signature_is_its_text_only(alice_client, alice, smtp_server):
    account = smtp_account(alice, smtp_server())
    image = uploaded(alice_client, account)
    Signature.objects.create(
        account=account,
        name="회사",
        html=f"<p>김지현</p><p>{image_html(image)}</p>",
        text="김지현",
        default_for_replies=True,
    )
    original = ingest.store_message(account, HTML_MAIL, "u1")
    alice_client.post(reverse("reply", args=[original.pk]))
    draft = Outgoing.objects.get(owner=alice)
    assert draft.html_body == ""
    assert draft.body.startswith("\n\n-- \n김지현\n\nOn ")
    assert not draft.attachments.exists()
