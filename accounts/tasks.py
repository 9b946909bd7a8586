from celery import shared_task

from . import reset_mail
from .connection import record_connection_check


@shared_task(ignore_result=True)
def verify_connection(account_id: int) -> None:
    record_connection_check(account_id)


@shared_task(ignore_result=True)
def send_password_reset(user_ids: list[int], domain: str, use_https: bool, language: str) -> None:
    """The reset mail, sent by a worker so the page answers as fast for an address
    without an account; the token is made here, never passed through the broker."""
    reset_mail.send_reset_mail(user_ids, domain, use_https, language)
