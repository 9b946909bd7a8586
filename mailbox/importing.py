"""Import: an uploaded mbox, .eml or zip of .eml files into one folder of one account.

Stored exactly like polled mail (mailbox.ingest.prepare_message/store_message: the raw
bytes byte-exact in storage, the same parsed fields, attachments and search data),
without the arrival rules (an import is the user's own archive, not new mail) and
without a UIDL (an imported message has no POP3 server). What makes a second import of
the same file add nothing is the SHA-256 of the raw bytes: a message whose exact bytes
the owner already has (in any folder, or earlier in the same file) is counted as a
duplicate and not stored again. Imported messages arrive read.

Never dropped: a message the parser cannot read is stored raw and flagged
(``parse_error``), as polled mail is; bytes of an mbox that belong to no message (text
before the first From_ line: a lone .eml uploaded as an mbox, a truncated file) are
stored the same way. Only members of a zip that are not .eml files (or are refused:
too large, encrypted, corrupt) are left out, and the summary names each with its reason.

Progress (``MailImport.done_bytes`` of ``total_bytes``) is the position in the file,
written at most every PROGRESS_SECONDS; the counts are written with it, so a status
page can show both while the import runs. ``run_import`` is what the Celery task and
the ``import_mail`` command call; running it again (a redelivered task) stores nothing
twice, because every message already stored is a duplicate by then.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.models import MailAccount
from mailcore import emlzip
from mailcore.mbox import MboxJunk, parse_from_line, read_mbox

from . import folders, ingest
from .models import Folder, ImportStatus, MailImport, Message, UserFolder

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 0.5
# Where an import may put mail: Snoozed needs a time and Drafts holds what the user
# writes; Trash would forget where the messages came from.
IMPORT_FOLDERS = [Folder.INBOX, Folder.ARCHIVE, Folder.SENT, Folder.JUNK]

SKIP_REASONS = {
    emlzip.SkipReason.DIRECTORY: gettext_lazy("a folder"),
    emlzip.SkipReason.NOT_EML: gettext_lazy("not an .eml file"),
    emlzip.SkipReason.METADATA: gettext_lazy("macOS metadata"),
    emlzip.SkipReason.TOO_LARGE: gettext_lazy("too large"),
    emlzip.SkipReason.TOTAL_LIMIT: gettext_lazy("the archive is too large in total"),
    emlzip.SkipReason.ENCRYPTED: gettext_lazy("encrypted"),
    emlzip.SkipReason.CORRUPT: gettext_lazy("damaged"),
    emlzip.SkipReason.UNSUPPORTED: gettext_lazy("compressed in a way that cannot be read"),
}
ERRORS = {
    "not-a-zip": gettext_lazy("The file is not a zip archive that can be read."),
    "too-many-members": gettext_lazy("The zip archive holds too many files."),
    "too-large": gettext_lazy("The zip archive is too large."),
    "missing": gettext_lazy("The uploaded file is gone."),
    "internal": gettext_lazy("The import stopped because of an error on our side."),
}


def skip_reason_text(code: str) -> str:
    """Why a member was skipped, in the active language."""
    try:
        return str(SKIP_REASONS[emlzip.SkipReason(code)])
    except ValueError:
        return code


def error_text(code: str) -> str:
    return str(ERRORS.get(code, ERRORS["internal"]))


# --------------------------------------------------------------------------- uploading


def max_upload_bytes() -> int:
    """The largest upload the import page takes (WEBMAIL_IMPORT_MAX_BYTES)."""
    return settings.WEBMAIL_IMPORT_MAX_BYTES


class UploadLimit(FileUploadHandler):
    """The first of a request's upload handlers: refuses an upload over ``limit`` bytes
    while it streams in, so the handlers after it (memory, then a temporary file on
    disk) never hold more than ``limit`` of it, and nothing of a refused file is kept.

    Django limits the other fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not files: without
    this, an upload of any size is written to a temporary file, then copied to storage.
    A refused file is skipped (SkipFile: its temporary file is closed and deleted, the
    rest of its bytes read and dropped), the other fields are still read, and the view
    turns ``refused`` into a form error. A request whose declared length already says
    the file cannot fit is refused before its first byte is written anywhere.
    """

    # The most a request's other fields and multipart framing can add to the file.
    OVERHEAD = 64 * 1024

    def __init__(self, limit: int, request=None):
        super().__init__(request)
        self.limit = limit
        self.refused = False
        self.received = 0  # file bytes of this request so far, every file counted
        self.request_length: int | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_length = content_length
        return None  # the parser carries on, with this handler first

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.refused or self._cannot_fit():
            self._refuse()

    def _cannot_fit(self) -> bool:
        others = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if not self.request_length or others is None:
            return False
        return self.request_length > self.limit + others + self.OVERHEAD

    def _refuse(self):
        self.refused = True
        raise SkipFile

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
        return raw_data  # on to the handler that keeps it

    def file_complete(self, file_size):
        return None  # the next handler makes the file


# --------------------------------------------------------------------------- creating


def folder_key_by_name(owner, name: str) -> str | None:
    """The folder key ("inbox", "user:12") an operator means by ``name``: a system folder's
    value or label ("inbox", "Inbox"), or an own folder's name or path ("Work/Clients")."""
    wanted = name.strip().strip("/").casefold()
    for folder in Folder:
        if folder != Folder.USER and wanted in (folder.value, str(folder.label).casefold()):
            return folder.value
    paths = {
        "/".join(part.strip() for part in node.path.split(" / ")).casefold(): node.key
        for node in folders.flat(owner)
    }
    if wanted in paths:
        return paths[wanted]
    by_name = [node.key for node in folders.flat(owner) if node.folder.name.casefold() == wanted]
    return by_name[0] if len(by_name) == 1 else None


def default_account(owner) -> MailAccount | None:
    """The account imported mail belongs to unless the user picks another: their first."""
    return MailAccount.objects.filter(user=owner).order_by("pk").first()


def create_import(
    owner,
    account: MailAccount,
    upload: IO[bytes],
    filename: str,
    size: int,
    *,
    folder: str = Folder.INBOX,
    user_folder: UserFolder | None = None,
) -> MailImport:
    """Save an upload to storage and record the import (queued); the caller enqueues it."""
    name = default_storage.save(f"imports/{owner.pk}/{uuid.uuid4().hex}.upload", upload)
    return MailImport.objects.create(
        owner=owner,
        account=account,
        file=name,
        filename=filename[:255],
        folder=Folder.USER if user_folder is not None else folder,
        user_folder=user_folder,
        total_bytes=size,
    )


def import_path(
    owner,
    account: MailAccount,
    path: str,
    *,
    folder: str = Folder.INBOX,
    user_folder: UserFolder | None = None,
) -> MailImport:
    """Import a file on this machine now (the ``import_mail`` command): no upload, no task."""
    with open(path, "rb") as f:
        mail_import = MailImport.objects.create(
            owner=owner,
            account=account,
            filename=os.path.basename(path)[:255],
            folder=Folder.USER if user_folder is not None else folder,
            user_folder=user_folder,
            status=ImportStatus.RUNNING,
            total_bytes=os.fstat(f.fileno()).st_size,
        )
        return import_file(mail_import, f)


# --------------------------------------------------------------------------- running


def run_import(import_id: int) -> MailImport | None:
    """Import the stored upload of a queued (or interrupted) import; None if there is none."""
    if not MailImport.objects.filter(
        pk=import_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    ).update(status=ImportStatus.RUNNING):
        return None
    mail_import = MailImport.objects.select_related("account", "user_folder").get(pk=import_id)
    try:
        try:
            upload = default_storage.open(mail_import.file.name, "rb")
        except (OSError, ValueError):
            _finish(mail_import, "missing")
            return mail_import
        with upload:
            import_file(mail_import, upload)
    except Exception:
        log.exception("import %s failed", import_id)
        _finish(mail_import, "internal")
    finally:
        if mail_import.file:
            default_storage.delete(mail_import.file.name)
            MailImport.objects.filter(pk=import_id).update(file="")
    return mail_import


def import_file(mail_import: MailImport, fileobj: IO[bytes]) -> MailImport:
    """Import every message of an open, seekable file; record progress and the summary."""
    importer = _Importer(mail_import, fileobj)
    head = fileobj.read(64)
    fileobj.seek(0)
    kind = emlzip.guess_upload_kind(head, mail_import.filename)
    try:
        if kind == "zip":
            importer.zip()
        elif kind == "mbox":
            importer.mbox()
        else:
            importer.eml()
    except emlzip.ArchiveError as exc:
        importer.save()
        _finish(mail_import, exc.code)
        return mail_import
    except Exception:
        importer.save()  # the counts so far stay true; the caller records the failure
        raise
    importer.save(done=True)
    _finish(mail_import, "")
    return mail_import


def _finish(mail_import: MailImport, error: str) -> None:
    mail_import.status = ImportStatus.FAILED if error else ImportStatus.DONE
    mail_import.error = error
    mail_import.finished_at = timezone.now()
    MailImport.objects.filter(pk=mail_import.pk).update(
        status=mail_import.status, error=error, finished_at=mail_import.finished_at
    )


@dataclass
class _Importer:
    mail_import: MailImport
    fileobj: IO[bytes]
    seen: set[bytes] = field(default_factory=set)  # digests stored or found in this run
    saved_at: float = 0.0

    def __post_init__(self) -> None:
        imp = self.mail_import
        self.folder = imp.folder
        self.user_folder_id = imp.user_folder_id
        if self.folder == Folder.USER and self.user_folder_id is None:
            self.folder = Folder.INBOX  # the chosen folder was deleted meanwhile
        imp.imported = imp.duplicates = imp.malformed = 0
        imp.skipped = []

    # ----------------------------------------------------------------- kinds

    def mbox(self) -> None:
        for item in read_mbox(self.fileobj):
            if isinstance(item, MboxJunk):
                self.store(item.raw, None, defect=f"mbox: {item.reason} (offset {item.offset})")
            else:
                self.store(item.raw, parse_from_line(item.from_line)[1])

    def zip(self) -> None:
        for item in emlzip.read_eml_zip(self.fileobj):
            if isinstance(item, emlzip.SkippedMember):
                self.skip(item.name, item.reason)
            else:
                self.store(item.raw, timezone.make_aware(item.date) if item.date else None)

    def eml(self) -> None:
        raw = emlzip.read_eml(self.fileobj)
        if raw is None:
            self.skip(self.mail_import.filename, emlzip.SkipReason.TOO_LARGE)
        elif raw:
            self.store(raw, None)

    # ----------------------------------------------------------------- one message

    def skip(self, name: str, reason: str) -> None:
        self.mail_import.skipped.append({"name": name, "reason": str(reason)})
        self.progress()

    def store(self, raw: bytes, received_at: datetime | None, *, defect: str = "") -> None:
        imp = self.mail_import
        digest = hashlib.sha256(raw).digest()
        if (
            digest in self.seen
            or Message.objects.filter(owner_id=imp.owner_id, raw_sha256=digest.hex()).exists()
        ):
            self.seen.add(digest)
            imp.duplicates += 1
            self.progress()
            return
        self.seen.add(digest)
        fetched = ingest.prepare_message(raw, received_at)
        fetched.read_receipt_to = ""  # old mail asks for no receipt now
        parsed = fetched.parsed
        if (
            not defect
            and parsed.defects
            and not (parsed.from_ or parsed.subject or parsed.message_id)
        ):
            # Defects and none of a message's headers: whatever this is, it is not mail.
            defect = "import: no sender, subject or Message-ID"
        if defect:
            fetched.parse_error = True
            parsed.defects.insert(0, defect)
        with transaction.atomic():
            message = ingest.store_message(imp.account, fetched, "", folder=self.folder, seen=True)
            if self.folder == Folder.USER:
                Message.objects.filter(pk=message.pk).update(user_folder_id=self.user_folder_id)
        imp.imported += 1
        imp.malformed += message.parse_error
        self.progress()

    # ----------------------------------------------------------------- progress

    def progress(self) -> None:
        if time.monotonic() - self.saved_at >= PROGRESS_SECONDS:
            self.save()

    def save(self, *, done: bool = False) -> None:
        imp = self.mail_import
        try:
            position = self.fileobj.tell()
        except (OSError, ValueError):
            position = imp.done_bytes
        imp.done_bytes = imp.total_bytes if done else min(position, imp.total_bytes)
        MailImport.objects.filter(pk=imp.pk).update(
            done_bytes=imp.done_bytes,
            imported=imp.imported,
            duplicates=imp.duplicates,
            malformed=imp.malformed,
            skipped=imp.skipped,
        )
        self.saved_at = time.monotonic()


def summary_text(mail_import: MailImport) -> str:
    """One line for the command and the logs, in the active language."""
    text = gettext(
        "%(file)s: %(imported)s imported (%(malformed)s malformed), "
        "%(duplicates)s duplicates, %(skipped)s skipped"
    ) % {
        "file": mail_import.filename,
        "imported": mail_import.imported,
        "malformed": mail_import.malformed,
        "duplicates": mail_import.duplicates,
        "skipped": len(mail_import.skipped),
    }
    if mail_import.error:
        text += " — " + error_text(mail_import.error)
    return text
