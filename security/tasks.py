"""Celery entry points of the security app: thin calls to its domain functions."""

from celery import shared_task

from . import history, sessions


@shared_task(ignore_result=True)
def prune() -> str:
    """Daily: expired sessions and their rows, and login history past its keeping time."""
    return f"sessions={sessions.prune()} login_events={history.prune()}"
