"""The sink's exceptions, and driver errors mapped to messages that never quote a row value."""

from __future__ import annotations

import re
from typing import Any, Sequence

import sqlalchemy as sa

__all__ = [
    "DatabaseError", "TableBusyError", "StreamLostError", "Missing",
    "db_error", "driver_words", "error_id", "lost_error", "mysql_code", "text",
]

MYSQL_NO_DATABASE = 1049
MYSQL_NO_TABLE = 1146
# the server cannot be reached or dropped the connection: too many connections, shutdown in progress,
# connection killed, cannot connect (socket, TCP), gone away, lost during a query, lost while reading,
# disconnected for inactivity (MySQL 8)
MYSQL_LOST = frozenset({1040, 1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031})
MYSQL_BUSY = frozenset({1205, 1213})  # lock wait timeout, deadlock
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


class StreamLostError(DatabaseError):
    """The connection of a streamed first load was lost (the server restarted or went away).

    The stream is one LOAD DATA in one transaction, which the server rolled back: nothing of
    it is in the table, and it cannot resume. Run the write pass again from its first batch
    (``begin_stream`` works again once the server answers; should the commit have reached
    the server after all, the table is no longer empty and the rows are found as present).
    """


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
        return DatabaseError(f"{message}: {driver_words(exc)}" if driver_text else message)
    match = MYSQL_COLUMN.search(driver_text) or _SQLITE_COLUMN.search(driver_text)
    if match:
        column = match.group(1)
        if column.startswith("`"):
            column = re.findall(r"`((?:[^`]|``)*)`", column)[-1].replace("``", "`")
        column = column.strip("'")
        if column in columns:
            message += f" in column {column!r}"
    return DatabaseError(message + " (the driver's message is withheld: it may quote row values)")


def driver_words(exc: sa.exc.DBAPIError) -> str:
    """The first line of the driver's message (may quote a row value: only for statements without values)."""
    args = getattr(exc.orig, "args", ())
    lines = str(args[-1]).splitlines() if args else []
    return lines[0][:300] if lines else ""


def lost_error(
    op: str, table: str | None, exc: sa.exc.DBAPIError, where: str, deadline: float, retries: int,
    *, kind: type[DatabaseError] = DatabaseError,
) -> DatabaseError:
    """The database could not be reached again: names it, the code and the driver's words.

    The words of connection errors come from the client library (host, errno text), never
    from a statement, so they carry no row value.
    """
    subject = f"{op} table {table!r}" if table else op.removesuffix(" for")
    words = driver_words(exc)
    detail = f"{error_id(exc)}: {words}" if words else error_id(exc)
    after = f" and {retries} retries" if retries else ""
    return kind(f"{subject} failed: the database {where} did not answer for {deadline:g} s{after} "
                f"(DB_RETRY_DEADLINE): {detail}")


def text(value: Any) -> str:
    """A driver value as str (MySQL returns some metadata as bytes)."""
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
