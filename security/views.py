"""Settings › Sessions and activity: the user's signed-in sessions and login history."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import history, sessions
from .models import UserSession


@never_cache
def sessions_page(request):
    current = request.session.session_key
    # This session first, then the others by their last activity.
    rows = sorted(sessions.live_sessions(request.user), key=lambda row: row.session_key != current)
    context = {
        "sessions": rows,
        "current_key": current,
        "others": sum(1 for row in rows if row.session_key != current),
        "events": history.recent(request.user),
        "idle_days": settings.WEBMAIL_SESSION_IDLE_DAYS,
    }
    return render(request, "security/sessions.html", context)


@require_POST
def sign_out(request, pk):
    row = get_object_or_404(UserSession, pk=pk, user=request.user)
    if row.session_key == request.session.session_key:
        logout(request)
        return redirect("login")
    sessions.end(row)
    messages.success(request, _("The session is signed out."))
    return redirect("security:sessions")


@require_POST
def sign_out_others(request):
    count = sessions.end_all(request.user, except_key=request.session.session_key)
    messages.success(
        request,
        ngettext(
            "%(count)d other session signed out.", "%(count)d other sessions signed out.", count
        )
        % {"count": count},
    )
    return redirect("security:sessions")
