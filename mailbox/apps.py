from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MailboxConfig(AppConfig):
    name = "mailbox"
    verbose_name = _("Mailbox")

    def ready(self) -> None:
        # Connects the receiver that enqueues delivery of queued outgoing mail.
        from . import tasks  # noqa: F401

        post_migrate.connect(_repair_search_index, sender=self)


def _repair_search_index(using, **kwargs) -> None:
    """SQLite's FTS5 triggers go with mailbox_message when a migration rebuilds it."""
    from .search_fts import repair

    repair(using)
