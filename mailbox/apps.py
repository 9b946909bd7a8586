from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxConfig(AppConfig):
    name = "mailbox"
    verbose_name = _("Mailbox")

    def ready(self) -> None:
        # Connects the receiver that enqueues delivery of queued outgoing mail.
        from . import tasks  # noqa: F401
