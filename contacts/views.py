"""The address book's pages: the list with search, groups and paging; a contact's page,
editor and deletion; merging; groups; collected addresses. Import and export are in
views_transfer.

Each view looks its objects up scoped to request.user (404 otherwise), checks a form,
and calls one function of .editing or .finding.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from . import editing, finding
from .forms import (
    CollectedForm,
    ContactEditor,
    ExportForm,
    GroupForm,
    MergeForm,
    PromoteForm,
    SelectionForm,
    checked_address,
)
from .models import CollectedAddress, Contact, ContactEmail, ContactGroup

PER_PAGE = 50


def _own_contact(request, pk: int) -> Contact:
    return get_object_or_404(Contact, pk=pk, owner=request.user)


def _own_group(request, pk: int) -> ContactGroup:
    return get_object_or_404(ContactGroup, pk=pk, owner=request.user)


def _own_collected(request, pk: int) -> CollectedAddress:
    return get_object_or_404(CollectedAddress, pk=pk, owner=request.user)


def _with_emails(contacts):
    return contacts.prefetch_related(
        Prefetch("emails", queryset=ContactEmail.objects.order_by("-preferred", "id"))
    )


def contact_list(request):
    groups = list(ContactGroup.objects.filter(owner=request.user))
    group = None
    if request.GET.get("group"):
        group = next((g for g in groups if str(g.pk) == request.GET["group"]), None)
        if group is None:
            raise Http404
    query = request.GET.get("q", "").strip()[:200]
    contacts = _with_emails(finding.search_contacts(request.user, query, group))
    page = Paginator(contacts, PER_PAGE).get_page(request.GET.get("page"))
    kept = {k: v for k, v in (("q", query), ("group", group.pk if group else "")) if v}
    return render(
        request,
        "contacts/contact_list.html",
        {
            "page": page,
            "query": query,
            "groups": groups,
            "group": group,
            "kept_query": urlencode(kept),
            "export_form": ExportForm(owner=request.user, initial={"group": group}),
        },
    )


def _editor_page(request, editor: ContactEditor, contact: Contact | None, status: int = 200):
    return render(
        request,
        "contacts/contact_form.html",
        {"editor": editor, "contact": contact, "error_count": editor.error_count},
        status=status,
    )


def contact_create(request):
    if request.method == "POST":
        editor = ContactEditor(request.POST, owner=request.user)
        if editor.is_valid():
            contact = editing.save_contact(request.user, editor.data(), groups=editor.groups())
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact})
            return redirect("contacts:contact_detail", contact.pk)
        return _editor_page(request, editor, None, status=200 if editor.adding_row else 400)
    initial = {}
    address = request.GET.get("address", "").strip()
    name = request.GET.get("name", "").strip()
    if address:
        try:
            initial["address"] = checked_address(address)
        except ValidationError:  # a bad address in a link is just not prefilled
            initial = {}
    if name and "\n" not in name and "\r" not in name:
        initial["display_name"] = name[:200]
    return _editor_page(request, ContactEditor(owner=request.user, initial=initial), None)


def contact_for_address(request):
    """The read page's link beside an address: its contact if saved, else a new
    contact's form with the address (and the name the message gave) filled in."""
    address = request.GET.get("address", "").strip()
    contact = editing.find_by_address(request.user, address) if address else None
    if contact is not None:
        return redirect("contacts:contact_detail", contact.pk)
    query = {k: request.GET[k] for k in ("address", "name") if request.GET.get(k)}
    return redirect(f"{reverse('contacts:contact_create')}?{urlencode(query)}")


def contact_detail(request, pk: int):
    contact = get_object_or_404(
        _with_emails(Contact.objects.filter(owner=request.user)).prefetch_related("groups"),
        pk=pk,
    )
    return render(
        request,
        "contacts/contact_detail.html",
        {
            "contact": contact,
            "recent": finding.recent_messages(request.user, contact),
            "recent_limit": finding.RECENT_SHOWN,
        },
    )


def contact_edit(request, pk: int):
    contact = _own_contact(request, pk)
    if request.method == "POST":
        editor = ContactEditor(request.POST, owner=request.user, contact=contact)
        if editor.is_valid():
            editing.save_contact(
                request.user, editor.data(), contact=contact, groups=editor.groups()
            )
            messages.success(request, _("Contact “%(name)s” saved.") % {"name": contact})
            return redirect("contacts:contact_detail", contact.pk)
        return _editor_page(request, editor, contact, status=200 if editor.adding_row else 400)
    return _editor_page(request, ContactEditor(owner=request.user, contact=contact), contact)


def contact_delete(request, pk: int):
    contact = _own_contact(request, pk)
    if request.method == "POST":
        editing.delete_contact(contact)
        messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact})
        return redirect("contacts:contact_list")
    return render(request, "contacts/contact_confirm_delete.html", {"contact": contact})


@require_POST
def contact_selection(request):
    """The list's checkboxes: merge the chosen contacts (on to the merge page), or add
    them to or remove them from a group."""
    form = SelectionForm(request.POST, owner=request.user)
    back = request.POST.get("next", "")
    if not back.startswith(reverse("contacts:contact_list")):
        back = reverse("contacts:contact_list")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    chosen = list(form.cleaned_data["ids"])
    action = form.cleaned_data["action"]
    if action == "merge":
        return redirect(
            f"{reverse('contacts:contact_merge')}?{urlencode([('ids', c.pk) for c in chosen])}"
        )
    group = form.cleaned_data["group"]
    if action == "add_to_group":
        count = editing.add_to_group(group, chosen)
        text = ngettext(
            "%(count)s contact added to “%(group)s”.",
            "%(count)s contacts added to “%(group)s”.",
            count,
        )
    else:
        count = editing.remove_from_group(group, chosen)
        text = ngettext(
            "%(count)s contact removed from “%(group)s”.",
            "%(count)s contacts removed from “%(group)s”.",
            count,
        )
    messages.success(request, text % {"count": count, "group": group})
    return redirect(back)


def contact_merge(request):
    data = request.POST if request.method == "POST" else request.GET
    form = MergeForm(data if request.method == "POST" else None, owner=request.user)
    ids = [i for i in data.getlist("ids") if i.isdigit()]
    chosen = list(_with_emails(Contact.objects.filter(owner=request.user, pk__in=ids)))
    if request.method == "POST" and form.is_valid():
        keep = form.cleaned_data["keep"]
        others = [c for c in form.cleaned_data["ids"] if c.pk != keep.pk]
        editing.merge_contacts(keep, others)
        messages.success(
            request,
            ngettext(
                "%(count)s contact merged into “%(name)s”.",
                "%(count)s contacts merged into “%(name)s”.",
                len(others),
            )
            % {"count": len(others), "name": keep},
        )
        return redirect("contacts:contact_detail", keep.pk)
    if len(chosen) < 2 and request.method == "GET":
        messages.error(request, _("Choose two or more contacts to merge."))
        return redirect("contacts:contact_list")
    return render(
        request,
        "contacts/contact_merge.html",
        {"form": form, "chosen": chosen, "keep_pk": chosen[0].pk if chosen else None},
        status=400 if request.method == "POST" else 200,
    )


def duplicates(request):
    sets = editing.possible_duplicates(request.user)
    items = [{"contacts": s, "merge_query": urlencode([("ids", c.pk) for c in s])} for s in sets]
    return render(request, "contacts/duplicates.html", {"sets": items})


# --------------------------------------------------------------------------- groups


def group_list(request):
    form = GroupForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        group = editing.save_group(request.user, form.cleaned_data["name"])
        messages.success(request, _("Group “%(name)s” added.") % {"name": group})
        return redirect("contacts:group_list")
    groups = ContactGroup.objects.filter(owner=request.user).annotate(size=Count("contacts"))
    return render(
        request,
        "contacts/group_list.html",
        {"form": form, "groups": groups},
        status=400 if form.is_bound else 200,
    )


def group_edit(request, pk: int):
    group = _own_group(request, pk)
    form = GroupForm(request.POST or None, instance=group, owner=request.user)
    if request.method == "POST" and form.is_valid():
        editing.save_group(request.user, form.cleaned_data["name"], group=group)
        messages.success(request, _("Group renamed to “%(name)s”.") % {"name": group})
        return redirect("contacts:group_list")
    return render(
        request,
        "contacts/group_form.html",
        {"form": form, "group": group},
        status=400 if form.is_bound else 200,
    )


def group_delete(request, pk: int):
    group = _own_group(request, pk)
    if request.method == "POST":
        editing.delete_group(group)
        messages.success(request, _("Group “%(name)s” deleted.") % {"name": group})
        return redirect("contacts:group_list")
    return render(request, "contacts/group_confirm_delete.html", {"group": group})


# --------------------------------------------------------------------------- collected


def collected_list(request):
    query = request.GET.get("q", "").strip()[:200]
    rows = finding.search_collected(request.user, query)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    saved = finding.saved_keys(request.user, [r.address_key for r in page])
    for row in page:
        row.is_saved = row.address_key in saved
    return render(
        request,
        "contacts/collected_list.html",
        {
            "page": page,
            "query": query,
            "kept_query": urlencode({"q": query} if query else {}),
            "promote_form": PromoteForm(),
        },
    )


def collected_edit(request, pk: int):
    row = _own_collected(request, pk)
    form = CollectedForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved the name of %(address)s.") % {"address": row.address})
        return redirect("contacts:collected_list")
    return render(
        request,
        "contacts/collected_form.html",
        {"form": form, "row": row},
        status=400 if form.is_bound else 200,
    )


@require_POST
def collected_delete(request, pk: int):
    row = _own_collected(request, pk)
    row.delete()
    messages.success(
        request, _("%(address)s removed from the collected addresses.") % {"address": row.address}
    )
    return redirect("contacts:collected_list")


@require_POST
def collected_promote(request, pk: int):
    row = _own_collected(request, pk)
    form = PromoteForm(request.POST)
    keep = form.cleaned_data["keep_collected"] if form.is_valid() else True
    contact, created = editing.promote(row, keep_collected=keep)
    if created:
        messages.success(request, _("Contact “%(name)s” added.") % {"name": contact})
    else:
        messages.success(
            request,
            _("%(address)s is already saved in “%(name)s”.")
            % {"address": row.address, "name": contact},
        )
    return redirect("contacts:contact_detail", contact.pk)
