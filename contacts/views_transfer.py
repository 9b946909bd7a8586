"""Import and export pages: upload → preview → confirm → summary; export as .vcf.

The uploaded file waits between preview and confirmation in .staging (keyed by the
user's session); the preview and the import read it with the same .importing code, so
what is confirmed is what was shown.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import exporting, importing, staging
from .forms import ExportForm, ImportForm

PREVIEW_ROWS = 500  # rows listed on the preview; the counts cover the whole file


def import_start(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        raw = upload.read()
        try:
            parsed = importing.read_file(raw)
        except importing.Unreadable as exc:
            form.add_error("file", str(exc))
        else:
            token = staging.stage(request, raw, upload.name or "")
            preview = importing.plan(request.user, parsed.entries)
            return render(
                request,
                "contacts/import_preview.html",
                {
                    "plan": preview,
                    "kind": parsed.kind,
                    "token": token,
                    "file_name": upload.name,
                    "rows": preview.items[:PREVIEW_ROWS],
                    "more_rows": max(0, len(preview.items) - PREVIEW_ROWS),
                },
            )
    return render(
        request,
        "contacts/import.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@require_POST
def import_confirm(request):
    kept = staging.staged(request, request.POST.get("token", ""))
    if kept is None:
        messages.error(request, _("The uploaded file is gone. Please upload it again."))
        return redirect("contacts:import")
    raw, name = kept
    try:
        parsed = importing.read_file(raw)
    except importing.Unreadable as exc:
        staging.discard(request)
        messages.error(request, str(exc))
        return redirect("contacts:import")
    summary = importing.apply(request.user, parsed.entries)
    staging.discard(request)
    return render(
        request,
        "contacts/import_done.html",
        {"summary": summary, "file_name": name, "kind": parsed.kind},
    )


@require_POST
def import_cancel(request):
    staging.discard(request)
    messages.success(request, _("Import cancelled; nothing was imported."))
    return redirect("contacts:contact_list")


@require_GET
def export(request):
    form = ExportForm(request.GET or None, owner=request.user)
    group = form.cleaned_data["group"] if form.is_valid() else None
    if form.is_bound and not form.is_valid():
        return redirect("contacts:contact_list")
    contacts = exporting.export_contacts(request.user, group)
    response = StreamingHttpResponse(
        exporting.vcard_chunks(contacts), content_type="text/vcard; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="contacts.vcf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
