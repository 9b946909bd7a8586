"""The test suite's settings (pyproject's DJANGO_SETTINGS_MODULE): see testkit/settings.py."""

from testkit.settings import *  # noqa: F403
