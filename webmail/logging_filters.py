"""Filters for the LOGGING setting (webmail/settings.py)."""

import logging


class HideTaskReturnValues(logging.Filter):
    """Drops the return value from Celery's "Task … succeeded in 0.04s: <value>" lines.

    Our tasks return what happened in words for people ("sent (refused: bob@…: 550 …)",
    a server's reply), which can name addresses; the log keeps no addresses or message
    content, and the `webmail.ops` line of each poll and delivery says what happened.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict) and "return_value" in record.args:
            record.args = {**record.args, "return_value": "(not logged)"}
        return True
