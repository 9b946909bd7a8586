"""The "Search options" form: fields for people who don't type operators.

It builds the same search box string a user could type (mailcore.searchquery's
format_query), so the results page, its links and the search box show one query.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mailcore.searchquery import SearchQuery, format_query, parse_query

from . import folders
from .models import SYSTEM_FOLDERS
from .search import ALL_MAIL, ANYWHERE, scope_label

UNITS = {"K": 1024, "M": 1024**2}
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def folder_path(node) -> str:
    """An own folder as in: writes it: "Work/Reports"."""
    return "/".join(part.strip() for part in node.path.split(" / "))


class SearchOptionsForm(forms.Form):
    sender = forms.CharField(label=_("From"), required=False, max_length=200)
    recipient = forms.CharField(label=_("To"), required=False, max_length=200)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=200)
    words = forms.CharField(label=_("Has the words"), required=False, max_length=500)
    without = forms.CharField(label=_("Doesn't have"), required=False, max_length=500)
    after = forms.DateField(
        label=pgettext_lazy("search date", "On or after"), required=False, widget=_DATE
    )
    before = forms.DateField(
        label=pgettext_lazy("search date", "Before"), required=False, widget=_DATE
    )
    size_relation = forms.ChoiceField(
        label=_("Larger or smaller"),
        required=False,
        choices=[("larger", _("Larger than")), ("smaller", _("Smaller than"))],
    )
    size = forms.DecimalField(
        label=_("Size in"), required=False, min_value=0, max_digits=12, decimal_places=2
    )
    size_unit = forms.ChoiceField(
        label=_("Unit"),
        required=False,
        choices=[("M", pgettext_lazy("size unit", "MB")), ("K", pgettext_lazy("size unit", "KB"))],
    )
    has_attachment = forms.BooleanField(label=_("Has attachment"), required=False)
    folder = forms.ChoiceField(label=_("Search in"), required=False)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("auto_id", "search-%s")
        super().__init__(*args, **kwargs)
        self.fields["folder"].choices = [
            ("", scope_label(ALL_MAIL)),
            (ANYWHERE, scope_label(ANYWHERE)),
            *((str(f), f.label) for f in SYSTEM_FOLDERS),
            *((folder_path(node), node.path) for node in folders.flat(user)),
        ]

    def search_query(self) -> SearchQuery:
        """The query the filled-in fields ask for (what was typed in "Has the words"
        is kept as typed, operators included)."""
        data = self.cleaned_data
        query = parse_query(data["words"])
        without = parse_query(data["without"])
        extra = {
            "exclude": (*query.exclude, *without.text, *without.exclude),
            "from_": (*query.from_, *_one(data["sender"])),
            "to": (*query.to, *_one(data["recipient"])),
            "subject": (*query.subject, *_one(data["subject"])),
            "errors": (),
        }
        if data["has_attachment"]:
            extra["has_attachment"] = True
        if data["folder"]:
            extra["folder"] = data["folder"]
        if data["after"]:
            extra["after"] = data["after"]
        if data["before"]:
            extra["before"] = data["before"]
        if data["size"] is not None:
            relation = data["size_relation"] or "larger"
            extra[relation] = int(data["size"] * UNITS[data["size_unit"] or "M"])
        return dataclasses.replace(query, **extra)

    def query_string(self) -> str:
        return format_query(self.search_query())

    @classmethod
    def initial_for(cls, text: str) -> dict:
        """The fields that show `text` (the query on the page), where they can."""
        query = parse_query(text)
        initial: dict = {
            "words": format_query(SearchQuery(text=query.text)),
            "without": format_query(SearchQuery(text=query.exclude)),
            "sender": " ".join(query.from_),
            "recipient": " ".join(query.to),
            "subject": " ".join(query.subject),
            "has_attachment": query.has_attachment,
            "after": query.after,
            "before": query.before,
        }
        if query.folder:
            initial["folder"] = query.folder
        size = query.larger if query.larger is not None else query.smaller
        if size is not None:
            initial["size_relation"] = "larger" if query.larger is not None else "smaller"
            unit = "M" if size % UNITS["M"] == 0 or size >= UNITS["M"] else "K"
            initial["size_unit"] = unit
            initial["size"] = (Decimal(size) / UNITS[unit]).quantize(Decimal("0.01")).normalize()
        return {k: v for k, v in initial.items() if v not in ("", None, False)}


def _one(value: str) -> tuple[str, ...]:
    value = " ".join((value or "").split())
    return (value,) if value else ()
