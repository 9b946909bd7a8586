"""Search across folders, and the "Search options" form that builds a query."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from . import search_pages
from .forms_search import SearchOptionsForm


@require_GET
def search(request):
    """/mail/search/?q=…: the three-pane page with the results from every folder but
    Trash and Junk (or where the query's in: says), each row showing its folder."""
    context = search_pages.search_context(request.user, request.GET)
    if request.htmx and not request.htmx.history_restore_request:
        if request.htmx.target == "list-pane":
            return render(request, "mailbox/_list_fragment.html", context)
    return render(request, "mailbox/mail.html", context)


@require_GET
def search_options(request):
    """The options form GETs here: on to the results of the query it builds, or the
    form again with what to correct."""
    if not any(name in request.GET for name in SearchOptionsForm.base_fields):
        # Asked for the form itself, filled in with the query on the page: the panel under
        # the search box loads it when opened (htmx), or this page shows it.
        query = request.GET.get("q", "")
        form = SearchOptionsForm(user=request.user, initial=SearchOptionsForm.initial_for(query))
        if request.htmx:
            return render(request, "mailbox/_search_options_form.html", {"search_form": form})
        return render(request, "mailbox/search_options.html", {"search_form": form})
    form = SearchOptionsForm(request.GET, user=request.user)
    if form.is_valid():
        return redirect(search_pages.search_url(form.query_string()))
    return render(request, "mailbox/search_options.html", {"search_form": form})
