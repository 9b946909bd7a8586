"""docker-compose.yml, the Dockerfile and the Procfile, checked for consistency.

No Docker engine runs here, so the files are read, not run: every command
names something that exists, every variable is documented, every COPY source
is in the repository.
"""

import importlib
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def documented_variables() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_stack_has_the_production_services():
    assert {"postgres", "redis", "web", "worker", "beat", "migrate", "devmail"} <= set(SERVICES)
    for name in ("postgres", "redis", "web", "devmail"):
        assert "healthcheck" in SERVICES[name], name
    assert {"pgdata", "media"} <= set(COMPOSE["volumes"])


@pytest.mark.parametrize("name", ["web", "worker", "beat", "migrate", "devmail"])
def test_app_service_commands_name_real_code(name):
    service = SERVICES[name]
    assert service["build"] == "."
    command = " ".join(service["command"])
    for module in re.findall(r"\b(webmail\.wsgi|webmail\.asgi)\b", command):
        importlib.import_module(module)
    if "celery" in command:
        assert "-A webmail" in command
        importlib.import_module("webmail.celery")
    for management_command in re.findall(r"manage\.py (\w+)", command):
        assert management_command in get_commands(), management_command


def test_app_environment_variables_are_documented():
    documented = documented_variables()
    for name in ("web", "worker", "beat", "migrate", "devmail"):
        for variable in SERVICES[name].get("environment", {}):
            assert variable in documented, f"{name}: {variable} missing from .env.example"


def test_compose_file_references_only_documented_interpolations():
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in re.findall(r"\$\{(\w+)", text):
        assert variable in documented_variables(), variable


def test_dockerfile_copies_files_that_exist_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.M):
        assert (ROOT / source).exists(), source
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.M)
    assert "gunicorn" in (ROOT / "requirements.txt").read_text()


def test_procfile_runs_web_worker_beat_and_devmail():
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile.dev").read_text().splitlines() if line
    )
    assert set(procfile) == {"web", "worker", "beat", "devmail"}
    assert "manage.py devmail" in procfile["devmail"]
    assert "devmail" in get_commands()


def test_s3_profile_runs_minio_and_creates_the_bucket_only_when_asked():
    minio, bucket = SERVICES["minio"], SERVICES["minio-bucket"]
    assert minio["profiles"] == ["s3"] and bucket["profiles"] == ["s3"]
    assert minio["image"].startswith("minio/minio:RELEASE.")  # a pinned release
    assert bucket["image"].startswith("minio/mc:RELEASE.")
    assert "healthcheck" in minio
    assert "miniodata:/data" in minio["volumes"] and "miniodata" in COMPOSE["volumes"]
    assert "ports" not in minio  # reached by the app's containers only
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "mc mb --ignore-existing" in " ".join(bucket["entrypoint"])
    # MinIO's root credentials are the app's keys, so the two always agree.
    for service in (minio, bucket):
        assert service["environment"]["MINIO_ROOT_USER"] == "${AWS_ACCESS_KEY_ID:-}"
        assert service["environment"]["MINIO_ROOT_PASSWORD"] == "${AWS_SECRET_ACCESS_KEY:-}"
    # Web and workers wait for the bucket with the profile, and start without it.
    for name in ("web", "worker"):
        needs = SERVICES[name]["depends_on"]["minio-bucket"]
        assert needs == {"condition": "service_completed_successfully", "required": False}
    for name in ("postgres", "redis", "web", "worker", "beat", "migrate", "devmail"):
        assert "profiles" not in SERVICES[name], name


def test_env_example_s3_block_configures_the_s3_backend():
    """Uncommenting .env.example's S3 lines (plus the secrets) starts on django-storages'
    S3 backend pointed at the s3 profile's MinIO."""
    from tests.webmail.test_settings import PROBE, PROD_ENV, run_django

    names = {
        "WEBMAIL_MEDIA_STORAGE",
        "AWS_STORAGE_BUCKET_NAME",
        "AWS_S3_ENDPOINT_URL",
        "AWS_S3_REGION_NAME",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]+)=(.*)", line)
        if match and match.group(1) in names:
            example[match.group(1)] = match.group(2)
    assert set(example) == names
    assert example["WEBMAIL_MEDIA_STORAGE"] == "filesystem"  # the default, as shipped
    assert example["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
    probe = PROBE.format(
        expr="settings.STORAGES['default']['BACKEND'], settings.AWS_S3_ENDPOINT_URL"
    )
    result = run_django({**PROD_ENV, **example, "WEBMAIL_MEDIA_STORAGE": "s3"}, probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "storages.backends.s3.S3Storage http://minio:9000"
