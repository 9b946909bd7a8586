from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = _("Rules")

    def ready(self) -> None:
        from mailbox import arrival

        from .filtering import apply_rules
        from .vacation import reply_on_arrival

        # The poll runs these inside the transaction that stores each new message, in
        # this order: the vacation reply sees where the rules sent it (never Junk).
        arrival.register(apply_rules)
        arrival.register(reply_on_arrival)
