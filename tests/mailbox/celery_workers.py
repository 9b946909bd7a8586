"""Real Celery worker processes for tests that depend on one (a SIGKILL, a redelivery).

`Workers(tmp_path)`: `start()` runs `celery worker --pool=solo` on the test's database,
stored files and a broker of its own (kombu's filesystem transport unless
CELERY_BROKER_URL names a server), consuming a queue of its own; `send(task, *args)`
puts a task on that queue as the web process would; `stop()` ends them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


class Workers:
    def __init__(self, tmp_path: Path) -> None:
        self.queue = f"faults-{os.getpid()}-{tmp_path.name}"[:100]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "WEBMAIL_TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        }
        db = connection.settings_dict
        if connection.vendor == "sqlite":  # the test database is a file (testkit.settings)
            self.env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
        else:
            self.env["DATABASE_URL"] = (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            )
        broker = os.environ.get("CELERY_BROKER_URL", "memory://")
        if broker.startswith("memory://"):
            folder = tmp_path / "queue"
            folder.mkdir()
            self.env["CELERY_BROKER_URL"] = "filesystem://"
            self.env["CELERY_BROKER_FOLDER"] = str(folder)
        else:
            self.env["CELERY_BROKER_URL"] = broker
        self.processes: list[subprocess.Popen] = []
        self.logs = tmp_path / "workers.log"

    def start(self) -> subprocess.Popen:
        with self.logs.open("a") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "webmail",
                    "worker",
                    "--pool=solo",
                    "--loglevel=INFO",
                    f"--hostname={self.queue}-{len(self.processes)}@localhost",
                    "--queues",
                    self.queue,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def producer(self):
        from celery import Celery

        producer = Celery("webmail-test-producer", broker=self.env["CELERY_BROKER_URL"])
        if "CELERY_BROKER_FOLDER" in self.env:
            folder = self.env["CELERY_BROKER_FOLDER"]
            producer.conf.broker_transport_options = {
                "data_folder_in": folder,
                "data_folder_out": folder,
                "control_folder": os.path.join(os.path.dirname(folder), "control"),
            }
        return producer

    def send(self, task: str, *args) -> None:
        # Celery lets CELERY_BROKER_URL in the environment win over the argument.
        before = os.environ.get("CELERY_BROKER_URL")
        os.environ["CELERY_BROKER_URL"] = self.env["CELERY_BROKER_URL"]
        producer = self.producer()
        try:
            producer.send_task(task, args=list(args), queue=self.queue)
        finally:
            producer.close()
            if before is None:
                os.environ.pop("CELERY_BROKER_URL", None)
            else:
                os.environ["CELERY_BROKER_URL"] = before

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL: no cleanup, no ack, no finally block runs."""
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=20)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        print(self.logs.read_text() if self.logs.exists() else "")
