from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MailboxConfig(AppConfig):
    name = "mailbox"
    verbose_name = _("Mailbox")

    def ready(self) -> None:
        # Connects the receiver that enqueues delivery of queued outgoing mail.
        from . import tasks  # noqa: F401

        _count_sending_usage()

        post_migrate.connect(_repair_search_index, sender=self)


def _count_sending_usage() -> None:
    """The User admin (accounts, which cannot import mailbox) shows each user's use of
    their sending limits, counted here."""
    from accounts import sending_limits

    from . import send_limits

    sending_limits.register_usage(send_limits.usage)


def _repair_search_index(using, **kwargs) -> None:
    """SQLite's FTS5 triggers go with mailbox_message when a migration rebuilds it."""
    from .search_fts import repair

    repair(using)
