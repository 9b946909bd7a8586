"""Rich-text compose in Chromium: the editor under our strict CSP, an inline image pasted
into the text, the message rendered in the recipient's read page, a reply inside an HTML
message, the forgotten-attachment prompt, and axe with the editor open."""

import base64
import re
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from accounts.models import Signature, User
from mailbox import ingest
from mailbox.models import Outgoing, OutgoingStatus
from tests.browser.conftest import csp_violations, devmail_user, expect, log_in, log_out, shot
from tests.browser.test_accessibility import RUN_AXE, UNLABELLED_CONTROLS, axe_source  # noqa: F401

pytestmark = pytest.mark.browser

EDITOR = "#editor-initial-area"
# A 2×2 red PNG: what the recipient's page must load from the cid: part.
RED_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
PASTE_IMAGE = """([data, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type: "image/png"}));
  const target = document.querySelector("#editor-initial-area");
  target.focus();
  return !target.dispatchEvent(
    new ClipboardEvent("paste", {bubbles: true, cancelable: true, clipboardData: transfer}));
}"""


@pytest.fixture
def people(devmail):
    alice = devmail_user(devmail, "alice", compose_format=User.ComposeFormat.RICH)
    bob = devmail_user(devmail, "bob")
    return alice, bob


def parsed(raw: bytes):
    return message_from_bytes(raw, policy=default_policy)


def test_a_formatted_message_with_an_inline_image_is_rendered_in_the_recipients_read_page(
    new_page, devmail, people
):
    alice, bob = people
    page = new_page()
    log_in(page, "alice")
    page.goto("/compose/")
    editor = page.locator(EDITOR)
    expect(editor).to_be_visible()
    expect(page.locator("#id_body")).to_be_hidden()
    page.get_by_label("To:", exact=True).fill("bob@example.test")
    page.get_by_label("Subject").fill("서식 있는 편지")
    editor.click()
    page.keyboard.type("안녕하세요 ")
    page.keyboard.press("Control+b")
    page.keyboard.type("굵게")
    bold = page.get_by_role("button", name="Bold")
    expect(bold).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Control+b")
    page.keyboard.type(" 그리고 ")
    expect(bold).to_have_attribute("aria-pressed", "false")
    # Text colour under style-src 'self': <font color>, which the CSP does not govern.
    page.locator("[data-colour]").evaluate(
        "(input) => { input.value = '#c62828'; input.dispatchEvent(new Event('change')); }"
    )
    page.keyboard.type("빨강")
    red = editor.locator("font[color]")
    expect(red).to_have_text("빨강")
    assert red.evaluate("(el) => getComputedStyle(el).color") == "rgb(198, 40, 40)"
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Bulleted list").click()
    page.keyboard.type("하나")
    assert page.evaluate(PASTE_IMAGE, [base64.b64encode(RED_PNG).decode(), "빨간 점.png"])
    image = editor.locator("img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("src", re.compile(r"^/compose/\d+/inline/\d+/$"))
    page.wait_for_function(  # shown from our origin: the draft's own image URL
        "() => { const img = document.querySelector('#editor-initial-area img');"
        " return img && img.complete && img.naturalWidth === 2; }"
    )
    assert csp_violations(page) == []
    shot(page, "rich-compose")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()

    outgoing = Outgoing.objects.get(owner=alice)
    assert outgoing.status == OutgoingStatus.SENT
    assert "<b>굵게</b>" in outgoing.html_body and "cid:" in outgoing.html_body
    (raw,) = devmail.messages("bob@example.test")
    message = parsed(raw)
    assert message.get_content_type() == "multipart/related"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == "안녕하세요 굵게 그리고 빨강\n\n- 하나 [빨간 점.png]\n"
    (part,) = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert part.get_content() == RED_PNG
    log_out(page)

    # Bob reads it: the HTML in the sandboxed frame, the image from its cid: part.
    assert ingest.poll_account(bob.mail_accounts.get().pk).new == 1
    log_in(page, "bob")
    page.get_by_role("link", name=re.compile("서식 있는 편지")).click()
    frame = page.frame_locator("iframe")
    expect(frame.locator("b")).to_have_text("굵게")
    expect(frame.locator("font[color]").first).to_have_text("빨강")
    expect(frame.locator("li")).to_have_text("하나")
    shown = frame.locator("img")
    expect(shown).to_have_count(1)
    for _ in range(50):  # the sandboxed frame is another origin: ask its image itself
        if shown.evaluate("(img) => img.complete && img.naturalWidth") == 2:
            break
        page.wait_for_timeout(100)
    assert shown.evaluate("(img) => img.naturalWidth") == 2
    shot(page, "rich-read")
    assert csp_violations(page) == []


HTML_ORIGINAL = (
    "From: =?utf-8?b?6rmA7KeA7ZiE?= <kim@example.kr>\r\n"
    "To: alice@example.test\r\n"
    "Subject: HTML original\r\n"
    "Date: Fri, 08 Mar 2024 15:20:00 +0900\r\n"
    "Message-ID: <html-original@example.kr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    '<p>원본의 <b>굵은</b> 글씨<img src="https://tracker.example/open.gif"></p>\r\n'
).encode()


def test_a_reply_to_an_html_message_quotes_it_inside_the_editor(new_page, devmail, people):
    alice, bob = people
    original = ingest.store_message(alice.mail_accounts.get(), HTML_ORIGINAL, "html-1")
    page = new_page()
    log_in(page, "alice")
    page.goto(f"/mail/{original.pk}/")
    page.get_by_role("button", name="Reply", exact=True).click()
    expect(page.get_by_role("heading", name="Edit message")).to_be_visible()
    editor = page.locator(EDITOR)
    quote = editor.locator("blockquote")
    expect(quote.locator("b")).to_have_text("굵은")
    expect(editor).to_contain_text("김지현 <kim@example.kr> wrote:")
    assert "tracker" not in editor.inner_html()
    editor.locator("div").first.click()
    page.keyboard.type("네, 확인했습니다.")
    page.get_by_label("To:", exact=True).fill("bob@example.test")  # devmail delivers locally
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    (raw,) = devmail.messages("bob@example.test")
    message = parsed(raw)
    html = message.get_body(("html",)).get_content()
    assert '<blockquote type="cite">' in html and "<b>굵은</b>" in html
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("네, 확인했습니다.")
    assert "> 원본의 굵은 글씨" in text
    assert csp_violations(page) == []


def test_send_asks_first_when_the_text_mentions_a_missing_attachment(new_page, devmail, people):
    page = new_page()
    log_in(page, "alice")
    page.goto("/compose/")
    page.get_by_label("To:", exact=True).fill("bob@example.test")
    page.get_by_label("Subject").fill("자료")
    page.locator(EDITOR).click()
    page.keyboard.type("첨부파일 확인 부탁드립니다.")
    page.get_by_role("button", name="Send", exact=True).click()
    dialog = page.get_by_role("dialog", name="Send without an attachment?")
    expect(dialog).to_be_visible()
    shot(page, "forgotten-attachment")
    assert devmail.messages("bob@example.test") == []
    dialog.get_by_role("button", name="Attach a file").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Send anyway").click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    assert len(devmail.messages("bob@example.test")) == 1


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_with_the_editor_open(new_page, devmail, people, axe_source, scheme):  # noqa: F811
    alice, _bob = people
    Signature.objects.create(
        account=alice.mail_accounts.get(), name="회사", html="<p><b>앨리스</b></p>", text="앨리스",
        default_for_new=True,
    )  # fmt: skip
    page = new_page(color_scheme=scheme)
    page.context.add_init_script(path=str(axe_source))
    log_in(page, "alice")
    page.goto("/compose/")
    expect(page.locator(EDITOR)).to_be_visible()
    expect(page.locator(EDITOR).locator("div.signature b")).to_have_text("앨리스")
    page.locator(EDITOR).click()
    page.keyboard.type("안녕하세요")
    page.get_by_role("button", name="Bold").focus()
    assert page.evaluate(RUN_AXE) == []
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    page.goto(f"/settings/accounts/{alice.mail_accounts.get().pk}/signatures/")
    expect(page.locator("#signature-initial-area")).to_be_visible()
    assert page.evaluate(RUN_AXE) == []
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    assert csp_violations(page) == []


def test_a_plain_text_user_writes_plain_and_can_switch_one_message_to_rich(
    new_page, devmail, people
):
    page = new_page()
    log_in(page, "bob")  # compose_format "plain"
    page.goto("/compose/")
    switch = page.get_by_role("button", name="Plain text")
    expect(switch).to_have_attribute("aria-pressed", "true")
    expect(page.locator(EDITOR)).to_be_hidden()
    body = page.get_by_role("textbox", name="Body")
    body.fill("첫 줄\n둘째 줄")
    switch.click()
    expect(switch).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#id_body")).to_be_hidden()
    editor = page.locator(EDITOR)
    expect(editor).to_contain_text("둘째 줄")
    editor.locator("div").first.click()
    page.keyboard.press("End")
    page.keyboard.press("Control+i")
    page.keyboard.type(" 기울임")
    page.get_by_label("To:", exact=True).fill("alice@example.test")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("heading", name="Sent")).to_be_visible()
    (raw,) = devmail.messages("alice@example.test")
    message = parsed(raw)
    assert "<i> 기울임</i>" in message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == "첫 줄 기울임\n둘째 줄\n"
    assert csp_violations(page) == []
