"""The password reset mail (accounts.tasks.send_password_reset sends it from a worker)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def send_reset_mail(user_ids: list[int], domain: str, use_https: bool, language: str) -> None:
    """One reset mail to each user (active, with a usable password), in `language`."""
    form = PasswordResetForm()
    users = get_user_model()._default_manager.filter(pk__in=user_ids, is_active=True)
    with translation.override(language):
        for user in users:
            if not user.has_usable_password() or not user.email:
                continue
            context = {
                "email": user.email,
                "domain": domain,
                "site_name": domain,
                "uid": urlsafe_base64_encode(force_bytes(user.pk)),
                "user": user,
                "token": default_token_generator.make_token(user),
                "protocol": "https" if use_https else "http",
            }
            form.send_mail(
                "registration/password_reset_subject.txt",
                "registration/password_reset_email.html",
                context,
                None,
                user.email,
            )
