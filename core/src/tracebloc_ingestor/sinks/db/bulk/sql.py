"""Statement text shared by MySQL's bulk paths: bare names, literal IN lists, LOAD DATA, warnings.

These statements go to the driver without parameters (``no_parameters``): nothing is %-formatted.
"""

from __future__ import annotations

import re

import pyarrow as pa
import sqlalchemy as sa

from .. import ID_CHUNK
from ..errors import MYSQL_COLUMN, MYSQL_DUPLICATE, DatabaseError, text
from ..sql_types import parse_canonical
from . import text as bulk_text

__all__ = [
    "NO_PARAMETERS", "bare_name", "constant_literal", "count_ids", "is_text", "load_data_sql",
    "show_warnings", "texts", "warning_error",
]

NO_PARAMETERS = {"no_parameters": True}


def bare_name(name: str) -> str:
    """A quoted identifier for statements sent without parameters (no % doubling)."""
    return "`" + name.replace("`", "``") + "`"


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def count_ids(conn: sa.Connection, table: str, unique: pa.Array) -> int:
    """How many of these distinct ids are rows (IN lists of escaped literals).

    Lists stay under MariaDB's ``in_predicate_conversion_threshold`` (1,000), above which
    the IN list becomes a derived table and the lookup may scan the whole table.
    """
    found = 0
    for start in range(0, len(unique), ID_CHUNK):
        literals = bulk_text.text_column(unique.slice(start, ID_CHUNK), literal=True)
        in_list = ",".join(literals.to_pylist())
        sql = f"SELECT COUNT(*) FROM {bare_name(table)} WHERE data_id IN ({in_list})"
        found += int(conn.exec_driver_sql(sql, execution_options=NO_PARAMETERS).scalar())
    return found


def load_data_sql(table: str, names: list[str], constant: dict[str, str], path: str) -> str:
    """``LOAD DATA LOCAL INFILE``; ``constant`` columns are set once in the statement."""
    q = bare_name
    column_list = ", ".join(q(name) for name in names)
    sql = (
        f"LOAD DATA LOCAL INFILE {_sql_string(path)} IGNORE INTO TABLE {q(table)} CHARACTER SET utf8mb4 "
        f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({column_list})"
    )
    if constant:
        sql += " SET " + ", ".join(f"{q(name)} = {value}" for name, value in constant.items())
    return sql


def texts(table: str, names: list[str], batch: pa.RecordBatch, *, literal: bool) -> list[pa.Array]:
    """Every column as LOAD DATA fields or SQL literals (:func:`bulk.text.text_column`)."""
    out = []
    for name, array in zip(names, batch.columns):
        try:
            out.append(bulk_text.text_column(array, literal=literal))
        except ValueError as exc:
            raise DatabaseError(f"writing a batch to table {table!r} failed: column {name!r}: {exc}") from None
    return out


def is_text(canonical: str | None) -> bool:
    sql_type = parse_canonical(canonical) if canonical else None
    return sql_type is not None and sql_type.is_text


def constant_literal(array: pa.Array) -> str | None:
    """The SQL literal of a text column's only value, if every row holds that same value."""
    if len(array) == 0 or array.null_count or not pa.types.is_string(array.type):
        return None
    import pyarrow.compute as pc

    extremes = pc.min_max(array)
    if extremes["min"].as_py() != extremes["max"].as_py():
        return None
    return bulk_text.text_column(array.slice(0, 1), literal=True)[0].as_py()


def show_warnings(conn: sa.Connection) -> list:
    return conn.exec_driver_sql("SHOW WARNINGS LIMIT 64", execution_options=NO_PARAMETERS).all()


def warning_error(conn: sa.Connection, table: str, names: list[str]) -> DatabaseError:
    """The first warning of a LOAD DATA that is not a duplicate, as code and column only."""
    rows = show_warnings(conn)
    first = next((row for row in rows if int(row[1]) != MYSQL_DUPLICATE), rows[0] if rows else None)
    message = f"writing a batch to table {table!r} failed"
    if first is None:
        return DatabaseError(message + ": LOAD DATA skipped rows that are not in the table")
    code = int(first[1])
    kind = "DataError" if code in (1264, 1265, 1292, 1366, 1406) else "OperationalError"
    message += f": {kind} {code}"
    match = MYSQL_COLUMN.search(text(first[2]))
    if match:
        column = re.findall(r"`((?:[^`]|``)*)`", match.group(1))
        column = column[-1].replace("``", "`") if column else match.group(1).strip("'")
        if column in names:
            message += f" in column {column!r}"
    return DatabaseError(message + " (the driver's message is withheld: it may quote row values)")
