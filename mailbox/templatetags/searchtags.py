"""What a search box query's operators got wrong, worded for the notice above the list."""

from django import template

from mailcore.searchquery import parse_query

from ..search import describe

register = template.Library()


@register.filter
def search_problems(text: str) -> list[str]:
    """The worded mistakes of a search box string (a bad date, size ...)."""
    return [describe(error) for error in parse_query(text or "").errors]
