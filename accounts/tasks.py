from celery import shared_task

from .connection import record_connection_check


@shared_task(ignore_result=True)
def verify_connection(account_id: int) -> None:
    record_connection_check(account_id)
