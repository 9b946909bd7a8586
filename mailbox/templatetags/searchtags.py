"""Search on every page: the "Search options" form under the search box, and what a
query's operators got wrong (worded for the notice above the list)."""

from django import template

from mailcore.searchquery import parse_query

from ..forms_search import SearchOptionsForm
from ..search import describe

register = template.Library()


@register.filter
def search_problems(text: str) -> list[str]:
    """The worded mistakes of a search box string (a bad date, size ...)."""
    return [describe(error) for error in parse_query(text or "").errors]


@register.inclusion_tag("mailbox/_search_options.html", takes_context=True)
def search_options(context) -> dict:
    """The form, filled in with the query on the page."""
    query = context.get("query") or ""
    user = context["user"]
    form = SearchOptionsForm(user=user, initial=SearchOptionsForm.initial_for(query))
    return {"search_form": form, "query": query}
