"""Fill Message.name_initials for the messages stored before it existed.

In batches of primary keys, each batch its own transaction, so a big mailbox table
is never locked for long; running it again rewrites the same values. The names are
read back from the stored From name and To/Cc lists ("Name <address>, ..."): what
ingest now takes from the parsed headers.
"""

import re

from django.db import migrations, transaction

from mailcore.hangul import initials, is_initials

BATCH = 2000
_ADDRESS = re.compile(r"<[^<>]*>")


def _initials(names):
    words = ("".join(initials(name).split()) for name in names)
    return " ".join(word for word in words if any(is_initials(char) for char in word))


def _names(from_name, *lists):
    names = [from_name]
    for text in lists:
        names.extend(_ADDRESS.sub(" ", text).split(","))
    return names


def fill_name_initials(apps, schema_editor):
    Message = apps.get_model("mailbox", "Message")
    db = schema_editor.connection.alias
    rows = Message.objects.using(db).order_by("pk")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).values_list("pk", "from_name", "to", "cc")[:BATCH])
        if not batch:
            return
        changed = []
        for pk, from_name, to, cc in batch:
            value = _initials(_names(from_name, to, cc))
            if value:
                changed.append(Message(pk=pk, name_initials=value))
        with transaction.atomic(using=db):
            Message.objects.using(db).bulk_update(changed, ["name_initials"], batch_size=500)
        last = batch[-1][0]


class Migration(migrations.Migration):
    atomic = False  # a transaction per batch (above), not one for the whole table

    dependencies = [
        ("mailbox", "0006_add_name_initials_for_initial_consonant_search"),
    ]

    operations = [
        migrations.RunPython(fill_name_initials, migrations.RunPython.noop, elidable=True),
    ]
