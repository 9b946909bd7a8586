"""Export (downloads of a folder, a search, a selection, the whole account) and import
(upload, then a status page that follows the task).

Thin views: the owner's objects only (404 for anyone else's), a form, one call into
mailbox.export or mailbox.importing.
"""

import logging
from functools import partial
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from . import export, folders, importing, pages, search, search_pages, selection
from .forms import MessageIdsField
from .forms_archive import FormatChoice, ImportForm
from .models import SYSTEM_FOLDERS, Folder, ImportStatus, MailImport
from .tasks import import_mail
from .views import DOWNLOAD_CSP

log = logging.getLogger(__name__)

RECENT_IMPORTS = 10


def _download(result: export.Export) -> StreamingHttpResponse:
    response = StreamingHttpResponse(result.chunks, content_type=result.content_type)
    response["Content-Disposition"] = export.content_disposition(result.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


def _asked_from(request, key: str, query: str) -> str:
    """Where a refused download was asked for (a list, or Settings), else its list."""
    back = request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return back
    if key == search_pages.SCOPE:
        return reverse("search") + "?" + urlencode({"q": query})
    return pages.list_url(key)


@require_GET
def export_folder(request):
    """A folder (?folder=inbox or user:12), narrowed like its list (?q=, ?account=)."""
    key = request.GET.get("folder") or Folder.INBOX
    query = request.GET.get("q", "").strip()
    if key == search_pages.SCOPE:  # the search page's results: every folder, or in:'s
        found = (search.search_mail(request.user, query).messages, _("All folders"))
    else:
        found = export.folder_messages(request.user, key)
    if found is None:
        raise Http404("No such folder")
    messages, name = found
    narrowing = "" if key == search_pages.SCOPE else query
    messages = export.narrowed(
        messages, narrowing, request.GET.get("account", ""), export.user_zone(request.user)
    )
    if query:
        name = _("%(folder)s search %(query)s") % {"folder": name, "query": query}
    fmt = FormatChoice(request.GET).chosen()
    try:
        return _download(export.export(request.user, messages, fmt, name))
    except export.TooLarge as exc:
        flash.error(request, exc.text())
        return redirect(_asked_from(request, key, query))


@require_POST
def export_selection(request):
    """The messages ticked in a list (the list's form, posted here by "Download")."""
    folder = pages.list_key_or_none(request.POST.get("folder")) or Folder.INBOX
    searched = request.POST.get("scope") == search_pages.SCOPE
    everything = selection.requested(request.user, request.POST, search=searched)
    try:
        ids = [] if everything else MessageIdsField().clean(request.POST.getlist("ids"))
    except ValidationError:
        flash.error(request, _("Select at least one message."))
        return redirect(pages.list_url(folder, request.POST.get("list", "")))
    fmt = FormatChoice(request.POST).chosen()
    # "Select all": the whole list (its every page), as the list's own download.
    messages = everything.messages if everything else export.selected_messages(request.user, ids)
    try:
        return _download(export.export(request.user, messages, fmt, _("Selected messages")))
    except export.TooLarge as exc:
        flash.error(request, exc.text())
        return redirect(pages.list_url(folder, request.POST.get("list", "")))


@require_GET
def export_account(request):
    """All of the user's mail, every folder, as one zip."""
    fmt = FormatChoice(request.GET).chosen()
    try:
        return _download(export.account_export(request.user, fmt))
    except export.TooLarge as exc:
        flash.error(request, exc.text())
        return redirect("import_export")


@csrf_exempt  # checked below, once the size limit is the first upload handler
def import_export(request):
    """Settings → Import and export: the upload form, recent imports, the downloads.

    Upload handlers can only be changed before the request's body is read, and the CSRF
    middleware reads it, so the check moves inside, after the limit is in place
    (Django's documented pattern for per-view upload handlers).
    """
    limit = importing.UploadLimit(importing.max_upload_bytes(), request)
    request.upload_handlers.insert(0, limit)
    return _import_export(request, limit)


@csrf_protect
def _import_export(request, limit: importing.UploadLimit):
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, user=request.user, too_large=limit.refused)
        if form.is_valid():
            folder, user_folder = form.destination()
            upload = form.cleaned_data["file"]
            with transaction.atomic():
                mail_import = importing.create_import(
                    request.user,
                    form.cleaned_data["account"],
                    upload,
                    upload.name,
                    upload.size,
                    folder=folder,
                    user_folder=user_folder,
                )
                transaction.on_commit(partial(_enqueue, mail_import.pk))
            return redirect("import_status", pk=mail_import.pk)
    else:
        form = ImportForm(user=request.user)
    return render(
        request,
        "mailbox/import_export.html",
        {
            "form": form,
            "has_accounts": form.fields["account"].queryset.exists(),
            "imports": MailImport.objects.filter(owner=request.user)[:RECENT_IMPORTS],
            "export_folders": [(f.value, f.label) for f in SYSTEM_FOLDERS]
            + [(node.key, node.path) for node in folders.flat(request.user)],
        },
    )


def _enqueue(import_id: int) -> None:
    # A broker that is down must not turn a saved upload into an error page: the import
    # waits (its status page says so) and can be run with `manage.py import_mail`.
    try:
        import_mail.delay(import_id)
    except Exception:  # noqa: BLE001 - kombu raises many kinds
        log.warning("could not enqueue import %s", import_id)


@require_GET
def import_status(request, pk: int):
    """How an import is going; the page asks again every second while it runs (htmx)."""
    mail_import = get_object_or_404(
        MailImport.objects.select_related("user_folder"), pk=pk, owner=request.user
    )
    context = {
        "imp": mail_import,
        "running": mail_import.status in (ImportStatus.QUEUED, ImportStatus.RUNNING),
        "skipped": [
            {"name": s.get("name", ""), "reason": importing.skip_reason_text(s.get("reason", ""))}
            for s in mail_import.skipped
        ],
        "error": importing.error_text(mail_import.error) if mail_import.error else "",
        "folder_label": mail_import.user_folder.name
        if mail_import.user_folder
        else Folder(mail_import.folder).label,
        "folder_url": pages.list_url(
            folders.user_key(mail_import.user_folder_id)
            if mail_import.user_folder_id
            else mail_import.folder
        ),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "mailbox/_import_status.html", context)
    return render(request, "mailbox/import_status.html", context)
