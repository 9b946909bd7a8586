"""Object storage (WEBMAIL_MEDIA_STORAGE=s3): the boto3 settings django-storages is given.

Its own module so that only an S3 deployment imports boto3, and so the tests give
their S3 server the same client and transfer settings as production.

Memory stays flat whatever the file's size. An upload up to 64 MB (every attachment
and message under the default limits) is one PUT that reads the file as it sends it:
measured, a 25 MB upload peaks at a few MB. A larger one is a multipart upload whose
parts s3transfer reads into memory, at most three 8 MB parts at once. A file read
through ``Storage.open`` spools past ``AWS_S3_MAX_MEMORY_SIZE`` to a temporary file;
downloads to the browser stream the GET response (mailbox.storage_io.open_stream).
"""

from __future__ import annotations

from boto3.s3.transfer import TransferConfig
from botocore.config import Config

SINGLE_PUT_LIMIT = 64 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
PARTS_IN_MEMORY = 2


def client_config() -> Config:
    """Fail soon rather than hang a worker: a few quick retries, then the error.

    A poll that cannot store a message stops before any DELE, so the message stays on
    the POP3 server and the next poll fetches it again.
    """
    return Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 3},
    )


def transfer_config() -> TransferConfig:
    config = TransferConfig(
        multipart_threshold=SINGLE_PUT_LIMIT,
        multipart_chunksize=PART_SIZE,
        max_concurrency=PARTS_IN_MEMORY,
        max_io_queue=16,  # 16 x 256 KB of a download waiting to be written
    )
    # s3transfer's bound on the parts of a file object read into memory ahead of their
    # upload (10 by default: 80 MB); boto3's constructor does not take it.
    config.max_in_memory_upload_chunks = PARTS_IN_MEMORY
    return config
