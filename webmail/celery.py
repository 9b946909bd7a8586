import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webmail.settings")

app = Celery("webmail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Celery's Django fix-up closes every database connection around every task
# (a new PostgreSQL connection each time, ~3 ms) unless CELERY_DB_REUSE_MAX is
# set, which settings.py does. Connections then follow Django's own rules, as
# for a web request: reused until CONN_MAX_AGE, closed when unusable (with
# CONN_HEALTH_CHECKS a reused one is pinged first).
@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_database_connections(task=None, **kwargs) -> None:
    if task is not None and task.request.is_eager:
        return  # an eager task runs inside the caller's request or transaction
    from django.db import close_old_connections

    close_old_connections()
