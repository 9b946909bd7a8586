"""GET /contacts/autocomplete/?q=… : the signed-in user's recipient suggestions, as JSON.

A list, best first, of at most ten ``{label, address, kind, value}`` objects (``kind``
is contact, group or collected; ``value`` is what choosing it inserts; a group also has
``members``, each ``{label, address, value}``). Too short or empty a query: ``[]``.
Only the user's own contacts, groups and collected addresses are searched.
"""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import suggestions

MAX_QUERY = 100  # longer than any name or address prefix worth completing


@require_GET
@never_cache
@login_required
def autocomplete(request):
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    return JsonResponse(suggestions.as_json(request.user, query), safe=False)
