"""A forwarded message opens in the reading pane (issue 24): the pane's fragment for
htmx, the whole mail page with it in the pane otherwise (no JavaScript, a new tab, a
history restore), and every link between them aimed at the pane."""

import itertools
import re

import pytest
from django.urls import reverse

from mailbox import ingest
from mailbox.models import Message
from testkit import mailfactory as mf

_uidls = itertools.count(1)
CHART = b"\x89PNG\r\n\x1a\n chart"
TITLE = re.compile(r"<title>(\(\d+\) )?분기 보고서 · Attached message · Webmail\s*</title>")
PANE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reading-pane"}


def forwarded_message() -> bytes:
    inner = mf.message(
        mf.multipart(
            "mixed",
            mf.text_part("Figures inside.\n"),
            mf.attachment_part(CHART, "chart.png", "image/png"),
            mf.header_block([("Content-Type", "message/rfc822")])
            + b"\r\n"
            + mf.plain("Deepest", "the bottom\n"),
        ),
        subject=mf.encoded_word("분기 보고서"),
        from_="Kim Minsoo <minsoo@example.kr>",
    )
    return mf.forwarded(inner)


@pytest.fixture
def forwarded(alice_account) -> tuple[Message, str]:
    message = ingest.store_message(alice_account, forwarded_message(), f"pane-{next(_uidls)}")
    attached = message.attachments.get(content_type="message/rfc822")
    return message, reverse("attached_message", args=[message.pk, attached.pk])


def pane_link(url: str) -> str:
    return f'href="{url}" hx-get="{url}" hx-target="#reading-pane" hx-push-url="true"'


def test_the_open_link_of_a_forwarded_message_aims_at_the_reading_pane(alice_client, forwarded):
    message, url = forwarded
    page = alice_client.get(reverse("read_message", args=[message.pk]), **PANE)
    assert pane_link(url) in page.content.decode()


def test_htmx_gets_the_reading_pane_fragment(alice_client, forwarded):
    message, url = forwarded
    html = alice_client.get(url, **PANE).content.decode()
    assert "<html" not in html and 'id="list-pane"' not in html
    assert TITLE.search(html)
    assert f'data-message-id="{message.pk}"' in html  # its message's row stays current
    assert "분기 보고서" in html and "minsoo@example.kr" in html and "Figures inside." in html
    assert pane_link(reverse("read_message", args=[message.pk])) in html  # Back to the message
    assert pane_link(f"{url}?in=2") in html  # the message attached to it, in the pane too
    attached = message.attachments.get(content_type="message/rfc822")
    chart = reverse("attached_message_file", args=[message.pk, attached.pk, 1])
    assert f'href="{chart}" download' in html
    assert alice_client.get(chart).content == CHART
    eml = reverse("download_attachment", args=[message.pk, attached.pk])
    assert f'href="{eml}" download' in html  # Download .eml


def test_a_nested_message_in_the_pane_goes_back_to_the_one_it_is_attached_to(
    alice_client, forwarded
):
    message, url = forwarded
    html = alice_client.get(url, {"in": "2"}, **PANE).content.decode()
    assert "Deepest" in html and "the bottom" in html
    assert pane_link(url) in html  # Back to the enclosing message
    assert pane_link(reverse("read_message", args=[message.pk])) in html


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}],
    ids=["no-javascript", "history-restore"],
)
def test_without_htmx_it_is_the_mail_page_with_it_in_the_reading_pane(
    alice_client, forwarded, headers
):
    message, url = forwarded
    html = alice_client.get(url, **headers).content.decode()
    assert "<html" in html
    assert 'id="list-pane"' in html and 'id="reading-pane"' in html
    assert "Fwd: inner" in html  # its message in the list
    pane = html.split('id="reading-pane"', 1)[1]
    assert "분기 보고서" in pane and "Figures inside." in pane
    assert TITLE.search(html)


def test_another_user_gets_404_in_the_pane_too(client, forwarded, bob):
    _message, url = forwarded
    client.force_login(bob)
    assert client.get(url, **PANE).status_code == 404
    assert client.get(url).status_code == 404


def test_the_pane_in_korean(client, alice, forwarded):
    alice.language = "ko"
    alice.save()
    client.force_login(alice)
    _message, url = forwarded
    html = client.get(url, **PANE).content.decode()
    assert "메일로 돌아가기" in html
    assert "첨부된 메일" in html
