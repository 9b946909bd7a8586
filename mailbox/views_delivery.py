"""An outgoing message's delivery page (its state and every attempt, like a receipt) and
what "Delivery unknown" offers: Send again and Mark as sent (mailbox.delivery_unknown).
Each view looks the row up for its owner (404 otherwise) and calls one function."""

from django.contrib import messages as flash
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from . import delivery_unknown
from .models import Outgoing, OutgoingStatus


def _own(request, pk: int) -> Outgoing:
    return get_object_or_404(
        Outgoing.objects.select_related("account"),
        pk=pk,
        owner=request.user,
        status__in=[s for s in OutgoingStatus.values if s != OutgoingStatus.DRAFT],
    )


def delivery(request, pk: int):
    outgoing = _own(request, pk)
    return render(
        request,
        "mailbox/delivery.html",
        {"outgoing": outgoing, "attempts": outgoing.delivery_attempts.all()},
    )


@require_POST
def send_again(request, pk: int):
    outgoing = _own(request, pk)
    if delivery_unknown.send_again(outgoing):
        flash.success(request, gettext("Queued to be sent again, with the same Message-ID."))
    else:
        flash.error(request, gettext("This message is not waiting for your decision any more."))
    return redirect("outgoing_delivery", pk=outgoing.pk)


@require_POST
def mark_as_sent(request, pk: int):
    outgoing = _own(request, pk)
    if delivery_unknown.mark_as_sent(outgoing):
        flash.success(request, gettext("Marked as sent."))
    else:
        flash.error(request, gettext("This message is not waiting for your decision any more."))
    return redirect("outgoing_delivery", pk=outgoing.pk)
