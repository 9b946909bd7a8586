"""Every field's aria-describedby names elements that are on the page: its help text and
its error (Django adds the attribute; our field templates carry the ids it names)."""

import re

import pytest
from django.urls import reverse

from tests.conftest import make_account

DESCRIBED_BY = re.compile(r'aria-describedby="([^"]+)"')


def _dangling(page: str) -> list[str]:
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    return [ref for refs in DESCRIBED_BY.findall(page) for ref in refs.split() if ref not in ids]


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("account_create", {"email": "not an address", "pop3_host": "", "smtp_host": ""}),
        (
            "contacts:contact_create",
            {
                "display_name": "",
                "emails-TOTAL_FORMS": "1",
                "emails-INITIAL_FORMS": "0",
                "emails-0-address": "nope",
            },
        ),
        ("preferences", {"time_zone": "Mars/Olympus", "theme": "nope"}),
    ],
)
def test_fields_with_errors_are_described_by_their_error_and_help(alice_client, url_name, data):
    url = reverse(url_name)
    assert _dangling(alice_client.get(url).content.decode()) == []
    page = alice_client.post(url, data).content.decode()
    assert "_error" in page  # the form did refuse something
    assert DESCRIBED_BY.search(page)
    assert _dangling(page) == []


def test_a_signature_form_with_an_error_describes_its_fields(alice_client, alice):
    account = make_account(alice)
    url = reverse("signature_list", args=[account.pk])
    page = alice_client.post(url, {"name": "Work", "html": "", "text": ""}).content.decode()
    assert "_error" in page
    assert _dangling(page) == []
