"""A database made by main before the mail library moved to mailcore/ upgrades with no loss.

The old tree is taken from git, migrates a fresh SQLite file and stores rows with its own
code; today's code then migrates the same file and must read every row back unchanged.
"""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The last commit of main with the mail library inside mailbox/ (before "One shape for the code").
OLD_LAYOUT = "4dbbce66c2bbec543d4e2186757e6ff08b8dafde"

SEED = """
from django.utils import timezone
from accounts.models import MailAccount, User
from mailbox.models import Message, Outgoing
user = User.objects.create_user("mig", password="pw", time_zone="Asia/Seoul")
account = MailAccount.objects.create(
    user=user, email="mig@example.test", display_name="김민수",
    pop3_host="pop.example.test", pop3_security="starttls", pop3_login="mig",
    pop3_password="pop-비밀", smtp_host="smtp.example.test", smtp_security="ssl",
    smtp_password="smtp-secret",
)
now = timezone.now()
Message.objects.create(
    owner=user, account=account, uidl="u1", subject="분기 보고서", folder="archive",
    from_address="boss@example.kr", size=1234, raw_sha256="ab" * 32,
    raw_file="raw/ab/" + "ab" * 32 + ".eml", date=now, received_at=now,
)
Outgoing.objects.create(owner=user, account=account, subject="초안", to="bob@example.test")
"""

READ = """
import json
from django.db.migrations.executor import MigrationExecutor
from django.db import connection
from accounts.models import MailAccount
from mailbox.models import Message, Outgoing
executor = MigrationExecutor(connection)
account = MailAccount.objects.get()
message = Message.objects.get()
outgoing = Outgoing.objects.get()
print(json.dumps({
    "pending": [str(m) for m, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())],
    "account": [account.user.username, account.user.time_zone, account.display_name,
                account.pop3_security, account.smtp_security, account.pop3_password,
                account.smtp_password],
    "message": [message.uidl, message.subject, message.folder, message.from_address,
                message.size, message.raw_file.name],
    "outgoing": [outgoing.subject, outgoing.to, outgoing.status],
}))
"""


def manage(tree: Path, db: Path, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_BROKER_URL": "memory://",
        "PYTHONPATH": str(tree),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_a_database_created_by_the_old_layout_migrates_and_reads_back_unchanged(tmp_path):
    archive = subprocess.run(
        ["git", "archive", "--format=tar", OLD_LAYOUT],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    old = tmp_path / "old"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(old, filter="data")
    assert (old / "mailbox" / "mime.py").exists()  # really the old layout
    db = tmp_path / "webmail.sqlite3"

    manage(old, db, "migrate", "--no-input")
    manage(old, db, "shell", "--no-imports", "-c", SEED)

    manage(ROOT, db, "migrate", "--no-input")
    after = json.loads(manage(ROOT, db, "shell", "--no-imports", "-c", READ))

    assert after["pending"] == []
    assert after["account"] == [
        "mig",
        "Asia/Seoul",
        "김민수",
        "starttls",
        "ssl",
        "pop-비밀",
        "smtp-secret",
    ]
    assert after["message"] == [
        "u1",
        "분기 보고서",
        "archive",
        "boss@example.kr",
        1234,
        "raw/ab/" + "ab" * 32 + ".eml",
    ]
    assert after["outgoing"] == ["초안", "bob@example.test", "draft"]
