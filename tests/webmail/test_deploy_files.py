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
