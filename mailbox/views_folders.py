"""Own folders: a folder's list page, and the Folders settings page (create, rename,
nest, reorder, delete; where each account's new mail goes).

Each view looks its folder or account up scoped to request.user (404 otherwise),
checks a form, and calls one function of mailbox.folders.
"""

from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import MailAccount

from . import folders, pages, search_pages
from .forms_folders import DeliveryForm, FolderForm
from .models import UserFolder


def _folder_or_404(request, pk: int) -> UserFolder:
    folder = folders.get(request.user, pk)
    if folder is None:
        raise Http404("No such folder")
    return folder


def folder_page(request, pk: int):
    """An own folder's messages: the same list pane as a system folder's."""
    if search_pages.leaves_folder(request.GET):  # in:… searches elsewhere
        return redirect(search_pages.search_url(request.GET["q"]))
    context = pages.list_context(request.user, folders.user_key(pk), request.GET)
    if request.htmx and not request.htmx.history_restore_request:
        if request.htmx.target == "list-pane":
            return render(request, "mailbox/_list_fragment.html", context)
    return render(request, "mailbox/mail.html", context)


def _settings_context(request, form=None, edit=None, edit_form=None, delivery_forms=None):
    accounts = MailAccount.objects.filter(user=request.user).select_related("delivery")
    forms_by_account = delivery_forms or {}
    return {
        "tree": folders.with_delete_summaries(request.user, folders.tree(request.user)),
        "form": form or FolderForm(owner=request.user),
        "edit": edit,
        "edit_form": edit_form,
        "deliveries": [
            (a, forms_by_account.get(a.pk) or DeliveryForm(owner=request.user, account=a))
            for a in accounts
        ],
        "max_depth": UserFolder.MAX_DEPTH,
    }


def folder_settings(request):
    """GET: the folders and the delivery settings. POST: create a folder."""
    form = None
    if request.method == "POST":
        form = FolderForm(request.POST, owner=request.user)
        if form.is_valid() and (folder := form.save()):
            flash.success(request, _("Folder “%(name)s” created.") % {"name": folder.name})
            return redirect("folder_settings")
    return render(request, "mailbox/folder_settings.html", _settings_context(request, form=form))


def folder_edit(request, pk: int):
    """Rename a folder and/or put it inside another one."""
    folder = _folder_or_404(request, pk)
    form = FolderForm(request.POST or None, owner=request.user, folder=folder)
    if request.method == "POST" and form.is_valid() and form.save():
        flash.success(request, _("Folder “%(name)s” saved.") % {"name": folder.name})
        return redirect("folder_settings")
    return render(
        request,
        "mailbox/folder_settings.html",
        _settings_context(request, edit=folder, edit_form=form),
    )


@require_POST
def folder_reorder(request, pk: int):
    folder = _folder_or_404(request, pk)
    step = {"up": -1, "down": 1}.get(request.POST.get("direction"))
    if step is None:
        raise Http404("No such direction")
    folders.reorder(request.user, folder, step)
    return redirect("folder_settings")


def folder_delete(request, pk: int):
    """GET asks (how many messages go to Trash); POST deletes."""
    folder = _folder_or_404(request, pk)
    if request.method == "POST":
        moved = folders.delete(request.user, folder)
        flash.success(
            request,
            ngettext(
                "Folder “%(name)s” deleted; %(count)s message moved to Trash.",
                "Folder “%(name)s” deleted; %(count)s messages moved to Trash.",
                moved,
            )
            % {"name": folder.name, "count": moved},
        )
        return redirect("folder_settings")
    subfolders = len(folders.subtree(request.user, folder)) - 1
    mail_count = folders.mail_count(request.user, folder)
    return render(
        request,
        "mailbox/folder_confirm_delete.html",
        {
            "target": folder,
            "summary": folders.delete_summary(folder.name, mail_count, subfolders),
        },
    )


@require_POST
def delivery_save(request, account_pk: int):
    account = get_object_or_404(
        MailAccount.objects.select_related("delivery"), pk=account_pk, user=request.user
    )
    form = DeliveryForm(request.POST, owner=request.user, account=account)
    if form.is_valid():
        form.save()
        flash.success(request, _("Delivery for %(account)s saved.") % {"account": account.email})
        return redirect("folder_settings")
    return render(
        request,
        "mailbox/folder_settings.html",
        _settings_context(request, delivery_forms={account.pk: form}),
    )
