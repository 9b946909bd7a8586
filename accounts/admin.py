import logging

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Exists, OuterRef
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import sending_limits, twofactor
from .formatting import file_size
from .forms import PASSWORD_HELP_KEEP, KeepSavedPasswordsMixin, WriteOnlyPasswordField
from .models import MailAccount, User

logger = logging.getLogger(__name__)

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
    (_("Security"), {"fields": ["allow_insecure_tls", "allowed_destinations"]}),
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
    "last_mail_at",
    "local_poll_at",
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


SENDING_LIMIT_FIELDS = (
    "send_per_hour",
    "recipients_per_message",
    "recipients_per_day",
    "max_pending_bytes",
    "sending_usage",
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [MailAccountInline]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Sending limits"), {"fields": SENDING_LIMIT_FIELDS}),
    )
    readonly_fields = ("sending_usage",)

    @admin.display(description=_("current use"))
    def sending_usage(self, obj):
        """The user's use of each limit now, against the limit (theirs or the server's)."""
        if obj.pk is None:
            return "-"
        used = sending_limits.usage(obj)
        limits = sending_limits.limits_for(obj)
        if used is None:
            return "-"
        lines = [
            _("Messages in the last hour: %(used)s of %(limit)s")
            % {"used": used.last_hour, "limit": limits.per_hour},
            _("Recipients in the last 24 hours: %(used)s of %(limit)s")
            % {"used": used.last_day, "limit": limits.per_day},
            _("Recipients per message: at most %(limit)s") % {"limit": limits.per_message},
            _("Waiting to be sent: %(used)s of %(limit)s")
            % {"used": file_size(used.pending_bytes), "limit": file_size(limits.pending_bytes)},
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    list_display = (
        "username",
        "email",
        "is_active",
        "is_staff",
        "last_login",
        "account_count",
        "two_factor",
    )
    list_filter = ("is_active", "is_staff", "is_superuser")
    actions = ["reset_two_factor"]

    @admin.display(description=_("mail accounts"))
    def account_count(self, obj):
        return obj.mail_accounts.count()

    @admin.display(description=_("two-factor authentication"), boolean=True)
    def two_factor(self, obj):
        return obj.has_two_factor

    def get_queryset(self, request):
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return (
            super()
            .get_queryset(request)
            .prefetch_related("mail_accounts")
            .annotate(has_two_factor=Exists(confirmed))
        )

    @admin.action(description=_("Reset two-factor authentication"), permissions=["change"])
    def reset_two_factor(self, request, queryset):
        """For a user who lost their phone and their recovery codes: their password alone
        logs them in again, and they can set up a new app. Recorded in each user's history."""
        reset = 0
        for user in queryset:
            if twofactor.remove_devices(user):
                reset += 1
                self.log_change(request, user, "Reset two-factor authentication.")
                logger.info(
                    "two-factor authentication reset user_id=%s by admin_id=%s",
                    user.pk,
                    request.user.pk,
                )
        self.message_user(
            request,
            ngettext(
                "Two-factor authentication was reset for %(count)d user.",
                "Two-factor authentication was reset for %(count)d users.",
                reset,
            )
            % {"count": reset},
        )


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
