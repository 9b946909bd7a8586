"""A signature's image in Chromium: inserted with the editor's Insert image button,
shown under our strict CSP, then in compose under the signature, and sent to the
recipient as the message's own cid: part."""

import re

import pytest

from accounts.models import Signature, SignatureImage
from mailbox.models import Outgoing, OutgoingStatus
from tests.browser.conftest import csp_violations, expect, log_in
from tests.browser.test_rich_compose import EDITOR, RED_PNG, parsed, people  # noqa: F401

pytestmark = pytest.mark.browser

SIGNATURE_EDITOR = "#signature-initial-area"
LOADED = (
    "(selector) => { const img = document.querySelector(selector + ' img');"
    " return img && img.complete && img.naturalWidth === 2; }"
)


def test_an_image_inserted_into_a_signature_goes_out_with_the_message(
    new_page,
    devmail,
    people,  # noqa: F811
):
    alice, _bob = people
    account = alice.mail_accounts.get()
    page = new_page()
    log_in(page, "alice")
    page.goto(f"/settings/accounts/{account.pk}/signatures/")
    editor = page.locator(SIGNATURE_EDITOR)
    expect(editor).to_be_visible()
    expect(page.get_by_label("Add an image")).to_be_hidden()  # the toolbar does it here
    page.get_by_label("Name").fill("회사")
    page.get_by_label("Default for new messages").check()
    editor.click()
    page.keyboard.type("앨리스 드림")
    page.keyboard.press("Enter")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Insert image").click()
    chooser.value.set_files(
        files=[{"name": "로고.png", "mimeType": "image/png", "buffer": RED_PNG}]
    )
    image = editor.locator("img")
    expect(image).to_have_attribute(
        "src", re.compile(rf"^/settings/accounts/{account.pk}/signature-images/\d+/$")
    )
    page.wait_for_function(LOADED, arg=SIGNATURE_EDITOR)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("Added the signature “회사”.")).to_be_visible()
    signature = Signature.objects.get(account=account)
    stored = SignatureImage.objects.get(account=account)
    assert f'<img src="{stored.url()}" alt="로고.png">' in signature.html
    assert signature.text == "앨리스 드림"

    page.goto("/compose/")
    compose = page.locator(EDITOR)
    expect(compose.locator("div.signature img")).to_have_count(1)
    page.wait_for_function(LOADED, arg=EDITOR)
    page.get_by_label("To:", exact=True).fill("bob@example.test")
    page.get_by_label("Subject").fill("서명 이미지")
    compose.click()
    page.keyboard.type("안녕하세요")
    assert csp_violations(page) == []
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()

    outgoing = Outgoing.objects.get(owner=alice)
    assert outgoing.status == OutgoingStatus.SENT
    (attachment,) = outgoing.attachments.all()
    assert attachment.inline and attachment.file.name == stored.file.name
    (raw,) = devmail.messages("bob@example.test")
    message = parsed(raw)
    assert message.get_content_type() == "multipart/related"
    (part,) = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert part["Content-ID"] == f"<{attachment.content_id}>"
    assert part.get_content() == RED_PNG
    html = message.get_body(("html",)).get_content()
    assert f'src="cid:{attachment.content_id}"' in html
