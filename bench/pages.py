"""Requesting pages as a logged-in user through the whole Django stack (test Client).

Shared by the inbox and search benchmarks: a client per user, a timed GET, and the
SQL one request issues.
"""

from __future__ import annotations

import time


def client_for(user):
    """A test Client logged in as `user` (its session persists across requests)."""
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def get(client, url: str) -> tuple[float, int]:
    """(seconds, response bytes) of one GET; anything but 200 is an error."""
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return elapsed, len(response.content)


def count_queries(client, url: str) -> list[str]:
    """The SQL of one GET (not timed: capturing adds overhead)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return [q["sql"] for q in captured.captured_queries]
