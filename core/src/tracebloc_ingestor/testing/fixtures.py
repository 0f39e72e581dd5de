"""pytest fixtures for plugin authors and for this project's own tests.

Use them with ``from tracebloc_ingestor.testing.fixtures import *`` in a conftest.py.
Under ``CI=true`` a test that needs MySQL fails instead of skipping when no server
answers, so a broken CI machine cannot pass silently.
"""

from __future__ import annotations

import os

import pytest

from .mysql import server_unavailable_reason, temporary_database

__all__ = ["mysql_url", "sqlite_url", "require_mysql", "plugin_manager"]


def require_mysql() -> None:
    """Skip the calling test when no MySQL server answers (fail instead under CI=true)."""
    reason = server_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture
def mysql_url():
    """SQLAlchemy URL of a fresh, empty database on the test server; dropped afterwards."""
    require_mysql()
    with temporary_database() as url:
        yield url


@pytest.fixture
def plugin_manager():
    """A fresh plugin manager holding only the hook specs: register your plugins inline."""
    from ..loader import new_plugin_manager

    return new_plugin_manager()


@pytest.fixture
def sqlite_url(tmp_path):
    """SQLAlchemy URL of a fresh SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'ingest.sqlite'}"


@pytest.fixture
def backend_double():
    """A started :class:`~tracebloc_ingestor.testing.backend_double.BackendDouble`; stopped afterwards."""
    from .backend_double import BackendDouble

    with BackendDouble() as double:
        yield double


__all__ += ["backend_double"]
