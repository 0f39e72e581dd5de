"""Fixtures of the text tests: real files in tmp_path, real databases (SQLite and MariaDB/MySQL)."""

from __future__ import annotations

from tracebloc_ingestor.testing.fixtures import *  # noqa: F401,F403
