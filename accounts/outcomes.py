"""What a background task records for people to read later, worded in the reader's language.

A Celery task runs without a request, so without anyone's language, and the outcome it
records may be read later by its owner in Korean and by an administrator in English. So
the task stores *what happened*, a code and its values (JSON, in the text column it always
used), and the page words it with gettext when it renders it. A server's reply travels as
one of the values and is shown exactly as the server sent it.

Text stored before codes existed (plain English) is shown as it is, and so is anything
that is not a record: a column may also hold a server's reply alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

# code -> a function of the record's values that returns the text in the active language.
Wording = Mapping[str, Callable[..., str]]


def record(code: str, **values) -> str:
    """What to store: `code` (a key of the reader's Wording) and its values."""
    return json.dumps({"code": code, **values}, ensure_ascii=False)


def describe(stored: str, wording: Wording) -> str:
    """`stored` worded in the active language; anything but a known record as it is."""
    if not stored.startswith("{"):
        return stored
    try:
        values = json.loads(stored)
        word = wording[values.pop("code")]
        return word(**values)
    except (ValueError, TypeError, KeyError, AttributeError):  # not one of our records
        return stored
