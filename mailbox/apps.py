from django.apps import AppConfig


class MailboxConfig(AppConfig):
    name = "mailbox"
    verbose_name = "Mailbox"

    def ready(self) -> None:
        # Connects the receiver that enqueues delivery of queued outgoing mail.
        from . import tasks  # noqa: F401
