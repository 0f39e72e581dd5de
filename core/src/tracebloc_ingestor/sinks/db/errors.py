"""The sink's exceptions, and driver errors mapped to messages that never quote a row value."""

from __future__ import annotations

import re
from typing import Any, Sequence

import sqlalchemy as sa

__all__ = ["DatabaseError", "TableBusyError", "Missing", "db_error", "error_id", "mysql_code", "text"]

MYSQL_NO_DATABASE = 1049
MYSQL_NO_TABLE = 1146
# too many connections, shutdown, lock wait timeout, deadlock, cannot connect, gone away, lost
MYSQL_TRANSIENT = frozenset({1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2014, 2055})
# LOAD DATA LOCAL refused by server or client: fall back to INSERT, never fail
MYSQL_LOCAL_REFUSED = frozenset({1148, 2068, 3948, 4166})
MYSQL_DUPLICATE = 1062
MYSQL_BULK_COMMIT = 1180  # "Got error ... during COMMIT": how a bulk insert reports a duplicate key
# the column a MySQL data error names, anchored at the end so text inside a quoted value cannot match
MYSQL_COLUMN = re.compile(r"for column ((?:`(?:[^`]|``)*`\.){0,2}`(?:[^`]|``)*`|'[^']*') at row \d+\s*$")
_SQLITE_COLUMN = re.compile(r"constraint failed: (?:[^.\s]+\.)?(\S+)\s*$")


class DatabaseError(Exception):
    """A database operation failed; the message names operation and table, never a row value."""


class TableBusyError(DatabaseError):
    """Another run holds the table's run lock."""


class Missing(Exception):
    """The database itself (SQLite file or MySQL schema) does not exist yet."""


def mysql_code(exc: sa.exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def error_id(exc: sa.exc.DBAPIError) -> str:
    orig = exc.orig
    code = mysql_code(exc) or getattr(orig, "sqlite_errorname", None)
    return f"{type(orig).__name__} {code}" if code else type(orig).__name__


def db_error(
    op: str,
    table: str | None,
    exc: sa.exc.DBAPIError,
    *,
    values: bool = False,
    columns: Sequence[str] = (),
    retries: int = 0,
) -> DatabaseError:
    """``values=True``: the statement carried row values, so the driver's text is withheld."""
    where = f"{op} table {table!r}" if table else op.removesuffix(" for")
    message = f"{where} failed: {error_id(exc)}"
    if retries:
        message += f" (after {retries} retries)"
    args = getattr(exc.orig, "args", ())
    driver_text = str(args[-1]) if args else ""
    if not values:
        return DatabaseError(f"{message}: {driver_text.splitlines()[0][:300]}" if driver_text else message)
    match = MYSQL_COLUMN.search(driver_text) or _SQLITE_COLUMN.search(driver_text)
    if match:
        column = match.group(1)
        if column.startswith("`"):
            column = re.findall(r"`((?:[^`]|``)*)`", column)[-1].replace("``", "`")
        column = column.strip("'")
        if column in columns:
            message += f" in column {column!r}"
    return DatabaseError(message + " (the driver's message is withheld: it may quote row values)")


def text(value: Any) -> str:
    """A driver value as str (MySQL returns some metadata as bytes)."""
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
