"""Settings › a mail account › the rows it owns (its send-as addresses, its signatures):
a list with an add form, an edit page, and delete. Each view looks the account (and the
row) up scoped to the user (404 otherwise), checks the form, saves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.db import models
from django.forms import ModelForm
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .models import MailAccount


@dataclass(frozen=True)
class AccountRows:
    model: type[models.Model]
    form: type[ModelForm]
    related_name: str  # the account's rows: account.<related_name>.all()
    list_url: str  # URL name of the list page (it takes the account's pk)
    list_template: str
    form_template: str
    rows_key: str  # the rows' name in the list page's context
    row_key: str  # the row's name in the edit page's context
    added: Callable[[models.Model], str]  # the flash messages, translated on call
    saved: Callable[[models.Model], str]
    removed: Callable[[models.Model], str]

    def _account(self, request, pk: int) -> MailAccount:
        return get_object_or_404(MailAccount, pk=pk, user=request.user)

    def _row(self, account: MailAccount, row_pk: int):
        return get_object_or_404(self.model, pk=row_pk, account=account)

    def list_view(self, request, pk: int):
        account = self._account(request, pk)
        form = self.form(request.POST or None, request.FILES or None, account=account)
        if request.method == "POST" and form.is_valid():
            messages.success(request, self.added(form.save()))
            return redirect(self.list_url, pk=account.pk)
        rows = getattr(account, self.related_name).all()
        return render(
            request,
            self.list_template,
            {"account": account, self.rows_key: rows, "form": form},
            status=400 if form.is_bound else 200,
        )

    def edit_view(self, request, pk: int, row_pk: int):
        account = self._account(request, pk)
        row = self._row(account, row_pk)
        form = self.form(request.POST or None, request.FILES or None, instance=row, account=account)
        if request.method == "POST" and form.is_valid():
            messages.success(request, self.saved(form.save()))
            return redirect(self.list_url, pk=account.pk)
        return render(
            request,
            self.form_template,
            {"account": account, self.row_key: row, "form": form},
            status=400 if form.is_bound else 200,
        )

    def delete_view(self, request, pk: int, row_pk: int):
        account = self._account(request, pk)
        row = self._row(account, row_pk)
        row.delete()
        messages.success(request, self.removed(row))
        return redirect(self.list_url, pk=account.pk)

    def views(self) -> tuple:
        """(list, edit, delete) views for the URL conf; delete answers POST only."""
        return self.list_view, self.edit_view, require_POST(self.delete_view)
