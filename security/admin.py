from django.contrib import admin

from .models import LoginEvent


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    """The login history, read-only: a record of what happened is not for editing."""

    list_display = ("time", "username", "user", "ip", "result", "two_factor", "locked_out")
    list_filter = ("result", "two_factor", "locked_out")
    search_fields = ("username", "ip")
    date_hierarchy = "time"
    list_select_related = ("user",)
    fields = ("time", "user", "username", "ip", "user_agent", "result", "two_factor", "locked_out")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
