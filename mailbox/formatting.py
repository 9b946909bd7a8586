"""The reply attribution and forward header block in the active language."""

from __future__ import annotations

from django.utils.translation import pgettext

from accounts.formatting import full_date
from mailcore.compose import QuoteLabels


def quote_labels() -> QuoteLabels:
    """The reply attribution and forward header block in the active language.

    Dates keep the original message's own zone, as they always have.
    """
    return QuoteLabels(
        wrote=pgettext("reply attribution", "On %(date)s, %(who)s wrote:"),
        unknown_sender=pgettext("reply attribution", "unknown sender"),
        forwarded=pgettext("forwarded message header", "Forwarded message"),
        from_=pgettext("forwarded message header", "From"),
        date=pgettext("forwarded message header", "Date"),
        subject=pgettext("forwarded message header", "Subject"),
        to=pgettext("forwarded message header", "To"),
        cc=pgettext("forwarded message header", "Cc"),
        format_date=lambda moment: full_date(moment, local=False),
    )
