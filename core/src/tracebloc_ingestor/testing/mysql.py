"""Throwaway MySQL/MariaDB databases for tests, on a real server."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from typing import Iterator

DEFAULT_SERVER_URL = "mysql+pymysql://root@127.0.0.1:3306"
SERVER_URL_VARIABLE = "TRACEBLOC_TEST_MYSQL_URL"


def server_url() -> str:
    """The server tests use: ``TRACEBLOC_TEST_MYSQL_URL`` or root on 127.0.0.1:3306."""
    return os.environ.get(SERVER_URL_VARIABLE, DEFAULT_SERVER_URL).rstrip("/")


def server_unavailable_reason() -> str | None:
    """None when the test server answers, else a sentence saying why it does not."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(server_url() + "/?charset=utf8mb4", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:  # any driver error means "no server for tests"
        return f"no MySQL/MariaDB server at {SERVER_URL_VARIABLE} or 127.0.0.1:3306 ({type(exc).__name__})"
    return None


@contextmanager
def temporary_database(prefix: str = "tbtest") -> Iterator[str]:
    """Create a uniquely named utf8mb4 database, yield its SQLAlchemy URL, then drop it."""
    import sqlalchemy as sa

    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(server_url() + "/?charset=utf8mb4")
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield f"{server_url()}/{name}?charset=utf8mb4"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()
