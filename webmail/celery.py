import logging
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


# Beat's last dispatch, for the admin's System status page (mailbox.models.BeatDispatch):
# beat's own record is a local shelve file no other process can read safely, so the
# beat process notes the time as it publishes each periodic task. Only in beat: a web
# process or a worker publishing a task records nothing.
_in_beat = False


@signals.beat_init.connect
def _note_beat_process(sender=None, **kwargs) -> None:
    global _in_beat
    _in_beat = True


@signals.after_task_publish.connect
def _record_beat_dispatch(sender=None, **kwargs) -> None:
    if not _in_beat or not sender:
        return
    from django.db import DatabaseError, close_old_connections, connection
    from django.utils import timezone

    from mailbox.models import BeatDispatch

    try:
        if not connection.in_atomic_block:
            close_old_connections()  # beat's connection lives for days: drop a broken one
        BeatDispatch.objects.update_or_create(
            task=sender, defaults={"dispatched_at": timezone.now()}
        )
    except DatabaseError:  # the database is down: beat goes on dispatching
        logging.getLogger(__name__).warning("could not record beat's dispatch of %s", sender)
