from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = _("Rules")

    def ready(self) -> None:
        from mailbox import arrival

        from .filtering import apply_rules

        # The poll runs this inside the transaction that stores each new message.
        arrival.register(apply_rules)
