"""Fixtures of the mailcore tests."""

import pytest

from testkit.smtp_faults import FaultProxy


@pytest.fixture
def proxied(smtp_server):
    """(server, proxy): an aiosmtpd server and a fault proxy in front of it."""
    server = smtp_server()
    proxy = FaultProxy(server.host, server.port)
    yield server, proxy
    proxy.close()
