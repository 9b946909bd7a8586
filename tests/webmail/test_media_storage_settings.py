"""WEBMAIL_MEDIA_STORAGE: a local folder by default, S3 with django-storages' own names."""

import pytest

from tests.webmail.test_settings import PROBE, PROD_ENV, run_django

SECRET = "s3-secret-that-must-never-be-printed-0123456789"


def test_media_storage_is_the_local_folder_by_default():
    result = run_django(PROD_ENV, PROBE.format(expr="settings.STORAGES['default']['BACKEND']"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.files.storage.FileSystemStorage"


def test_s3_media_storage_takes_django_storages_settings_from_the_environment():
    env = {
        **PROD_ENV,
        "WEBMAIL_MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "webmail-media",
        "AWS_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_S3_REGION_NAME": "ap-northeast-2",
        "AWS_ACCESS_KEY_ID": "webmail",
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    probe = (
        "from django.core.files.storage import storages; s = storages['default']; "
        "print(type(s).__module__, type(s).__name__, s.bucket_name, s.endpoint_url, "
        f"s.region_name, s.access_key, s.secret_key == {SECRET!r}, s.file_overwrite, "
        "s.default_acl, s.client_config.retries['max_attempts'])"
    )
    result = run_django(env, PROBE.format(expr="'ok'") + "; " + probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "storages.backends.s3",
        "S3Storage",
        "webmail-media",
        "http://minio:9000",
        "ap-northeast-2",
        "webmail",
        "True",
        "True",
        "None",
        "3",
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "webmail: WEBMAIL_MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME."),
        (
            {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_SECRET_ACCESS_KEY": SECRET},
            "webmail: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither.",
        ),
        (
            {"AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ENDPOINT_URL": "minio:9000"},
            "webmail: AWS_S3_ENDPOINT_URL must start with https:// or http://.",
        ),
    ],
)
def test_s3_media_storage_refuses_to_start_half_configured(extra, message):
    result = run_django({**PROD_ENV, "WEBMAIL_MEDIA_STORAGE": "s3", **extra})
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert result.stderr.strip().splitlines() == [message]
    assert SECRET not in result.stderr + result.stdout


def test_an_unknown_media_storage_is_refused():
    result = run_django({**PROD_ENV, "WEBMAIL_MEDIA_STORAGE": "ftp"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "webmail: WEBMAIL_MEDIA_STORAGE must be filesystem or s3, not 'ftp'."
    ]
