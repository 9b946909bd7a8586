from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.defaultfilters import linebreaksbr
from django.utils.translation import gettext_lazy as _

from .forms import PASSWORD_HELP_KEEP, KeepSavedPasswordsMixin, WriteOnlyPasswordField
from .models import MailAccount, User

# The editable fields, in the order the admin shows them.
ACCOUNT_FIELDSETS = [
    (None, {"fields": ["email", "display_name", "enabled"]}),
    (
        "POP3",
        {
            "fields": [
                "pop3_host",
                "pop3_port",
                "pop3_security",
                "pop3_login",
                "pop3_password",
                "use_apop",
                "leave_on_server",
                "poll_interval",
            ]
        },
    ),
    (
        "SMTP",
        {"fields": ["smtp_host", "smtp_port", "smtp_security", "smtp_login", "smtp_password"]},
    ),
    (_("Security"), {"fields": ["allow_insecure_tls"]}),
]


class MailAccountAdminForm(KeepSavedPasswordsMixin, forms.ModelForm):
    """Admin form for a mail account: passwords can be set, never shown."""

    pop3_password = WriteOnlyPasswordField(label=_("POP3 password"), help_text=PASSWORD_HELP_KEEP)
    smtp_password = WriteOnlyPasswordField(label=_("SMTP password"), help_text=PASSWORD_HELP_KEEP)

    class Meta:
        model = MailAccount
        fields = [
            "user",
            *(name for _title, section in ACCOUNT_FIELDSETS for name in section["fields"]),
        ]


POLL_STATUS_FIELDS = (
    "last_poll_at",
    "last_success_at",
    "last_poll_new",
    "last_check_error",
    "auth_failures",
    "next_poll_at",
    "last_test_at",
    "last_test_ok",
    "connection_test_report",
)


class ConnectionTestReportMixin:
    """The stored "Test connection" report and check error, worded in the admin's language."""

    @admin.display(description=_("last check error"))
    def last_check_error(self, obj):
        return obj.last_poll_error_text

    @admin.display(description=_("connection test result"))
    def connection_test_report(self, obj):
        return linebreaksbr(obj.last_test_report, autoescape=True)


class MailAccountInline(ConnectionTestReportMixin, admin.StackedInline):
    model = MailAccount
    form = MailAccountAdminForm
    extra = 0
    readonly_fields = POLL_STATUS_FIELDS
    fieldsets = [*ACCOUNT_FIELDSETS, (_("Status"), {"fields": POLL_STATUS_FIELDS})]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [MailAccountInline]
    list_display = ("username", "email", "is_active", "is_staff", "last_login", "account_count")
    list_filter = ("is_active", "is_staff", "is_superuser")

    @admin.display(description=_("mail accounts"))
    def account_count(self, obj):
        return obj.mail_accounts.count()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("mail_accounts")


@admin.register(MailAccount)
class MailAccountAdmin(ConnectionTestReportMixin, admin.ModelAdmin):
    form = MailAccountAdminForm
    list_display = (
        "email",
        "user",
        "pop3_host",
        "enabled",
        "leave_on_server",
        "last_poll_at",
        "last_check_error",
    )
    list_filter = ("enabled", "leave_on_server", "pop3_security", "allow_insecure_tls")
    search_fields = ("email", "user__username", "pop3_host", "smtp_host")
    list_select_related = ("user",)
    readonly_fields = POLL_STATUS_FIELDS
    fieldsets = [(_("Owner"), {"fields": ["user"]}), *MailAccountInline.fieldsets]
