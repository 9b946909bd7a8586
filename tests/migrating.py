"""Moving the test database to a migration state and back, for data-migration tests."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """Migrate to `targets` ([(app, migration)]); the apps registry of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    """The tests after this one find the schema as the migrations leave it."""
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
