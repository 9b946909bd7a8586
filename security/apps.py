from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = _("Sessions and login history")

    def ready(self):
        from . import receivers

        receivers.connect()
