from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users and mail accounts")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .twofactor import remember_at_login

        user_logged_in.connect(remember_at_login, dispatch_uid="webmail-two-factor-at-login")
