"""Small builders for the address book's tests."""

from django.utils import timezone

from contacts.editing import ContactData, EmailData, save_contact
from mailbox.models import Message


def add_contact(owner, name="", *addresses, **fields):
    data = ContactData(
        display_name=name,
        emails=[EmailData(a, i == 0) for i, a in enumerate(addresses)],
        **fields,
    )
    return save_contact(owner, data)


def add_message(account, **fields) -> Message:
    defaults = {
        "subject": "Hello",
        "from_name": "",
        "from_address": "s@example.test",
        "date": timezone.now(),
        "size": 10,
        "raw_file": "raw/x.eml",
        "raw_sha256": "0" * 64,
    }
    return Message.objects.create(owner=account.user, account=account, **{**defaults, **fields})
