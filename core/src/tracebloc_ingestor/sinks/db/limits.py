"""How many and how wide columns a table may have, per dialect, checked before anything is created.

MySQL/MariaDB (InnoDB, the default DYNAMIC row format and 16 KiB pages, utf8mb4):

- at most 1,017 columns (InnoDB's limit; MySQL's own is 4,096), the framework's 11 included;
- a row's columns may take at most 65,535 bytes, TEXT counting 10 (its pointer and length):
  ``VARCHAR(n)`` takes 4n bytes and 1 or 2 length bytes, ``CHAR(n)`` 4n;
- an InnoDB record may take at most 8,125 bytes of the page: a VARCHAR, CHAR or TEXT column
  that can exceed 255 bytes is stored off the page and counts 21 bytes, a shorter one its
  whole length and a length byte, numbers and dates their size; plus the record header, the
  NULL flags and InnoDB's own 21 bytes (the row id, transaction id and rollback pointer).

SQLite: at most as many columns as the library allows (2,000 unless it was built otherwise).
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

from ...schema import FRAMEWORK_COLUMNS, SqlType
from .sql_types import fraction_digits

__all__ = ["mysql_problem", "sqlite_problem"]

MYSQL_MAX_COLUMNS = 1017
MYSQL_MAX_ROW_BYTES = 65_535
INNODB_MAX_RECORD_BYTES = 8_125  # what MariaDB calls "8126": a record must stay under it
_INNODB_FIXED = 5 + 6 + 7  # record header, transaction id, rollback pointer (the key is the id column)
_OFF_PAGE = 20 + 1  # pointer to the off-page value, and its length byte
_UTF8MB4 = 4
_FIXED = {"TINYINT": 1, "BOOLEAN": 1, "SMALLINT": 2, "MEDIUMINT": 3, "INT": 4, "BIGINT": 8, "FLOAT": 4, "DOUBLE": 8, "DATE": 3}
_DIGIT_BYTES = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)  # MySQL's packed DECIMAL: bytes for 0-9 leftover digits
_SHOWN = 8  # columns named in a message


Columns = Sequence[tuple[str, SqlType, bool]]  # (name, table type, nullable)


def mysql_problem(columns: Columns) -> str | None:
    """Why MySQL/MariaDB could not create a table of these columns (framework's included), or None."""
    if len(columns) > MYSQL_MAX_COLUMNS:
        return (
            f"the table would have {len(columns):,} columns, the framework's included; MySQL/MariaDB (InnoDB) "
            f"allows at most {MYSQL_MAX_COLUMNS:,}: drop {_count(len(columns) - MYSQL_MAX_COLUMNS)}"
        )
    nulls = (sum(nullable for _, _, nullable in columns) + 7) // 8
    row = {name: _row_bytes(sql_type) for name, sql_type, _ in columns}
    if sum(row.values()) + nulls > MYSQL_MAX_ROW_BYTES:
        return (
            f"a row of the table could take {sum(row.values()) + nulls:,} bytes; MySQL/MariaDB allows at most "
            f"{MYSQL_MAX_ROW_BYTES:,} outside TEXT columns (VARCHAR(n) and CHAR(n) count 4 bytes a character); "
            f"the widest columns: {_widest(row, columns)}. Declare long text as TEXT, shorten the lengths "
            "or drop columns"
        )
    record = {name: _record_bytes(sql_type) for name, sql_type, _ in columns}
    total = sum(record.values()) + nulls + _INNODB_FIXED
    if total > INNODB_MAX_RECORD_BYTES:
        return (
            f"a row of the table could take {total:,} bytes of an InnoDB page, which holds at most "
            f"{INNODB_MAX_RECORD_BYTES:,} (text columns of at most 63 characters, numbers and dates count in "
            f"full, longer text 21 bytes); the widest columns: {_widest(record, columns)}. Drop columns, or "
            "declare text columns that may hold more than 63 characters as VARCHAR(64) or more, or TEXT"
        )
    return None


def sqlite_problem(columns: Columns) -> str | None:
    """Why SQLite could not create a table of these columns, or None."""
    limit = sqlite_max_columns()
    if len(columns) > limit:
        return (
            f"the table would have {len(columns):,} columns, the framework's included; this SQLite allows at "
            f"most {limit:,}: drop {_count(len(columns) - limit)}"
        )
    return None


def sqlite_max_columns() -> int:
    """The column limit of the SQLite library Python uses (2,000 unless it was built otherwise)."""
    conn = sqlite3.connect(":memory:")
    try:
        getlimit = getattr(conn, "getlimit", None)  # Python 3.11+
        return getlimit(sqlite3.SQLITE_LIMIT_COLUMN) if getlimit is not None else 2000
    finally:
        conn.close()


def _row_bytes(sql_type: SqlType) -> int:
    """What a column counts towards MySQL's 65,535-byte row (a TEXT's pointer and length only)."""
    if sql_type.name == "TEXT":
        return 2 + 8
    if sql_type.name == "VARCHAR":
        most = sql_type.length * _UTF8MB4
        return most + (1 if most < 256 else 2)
    if sql_type.name == "CHAR":
        return sql_type.length * _UTF8MB4
    return _fixed_bytes(sql_type)


def _record_bytes(sql_type: SqlType) -> int:
    """What a column counts towards InnoDB's record in the page (long values live off the page)."""
    if sql_type.name == "TEXT":
        return _OFF_PAGE
    if sql_type.is_text:
        most = sql_type.length * _UTF8MB4
        return _OFF_PAGE if most > 255 else most + 1
    return _fixed_bytes(sql_type)


def _fixed_bytes(sql_type: SqlType) -> int:
    if sql_type.name == "DECIMAL":
        whole, fraction = sql_type.precision - sql_type.scale, sql_type.scale
        return (whole // 9 + fraction // 9) * 4 + _DIGIT_BYTES[whole % 9] + _DIGIT_BYTES[fraction % 9]
    digits = fraction_digits(sql_type)
    if digits is not None:
        return (5 if sql_type.name == "DATETIME" else 3) + (digits + 1) // 2
    return _FIXED[sql_type.name]


def _widest(sizes: dict[str, int], columns: Columns) -> str:
    """The widest feature columns with their sizes (the framework's columns are not the user's to change)."""
    types = {name: sql_type for name, sql_type, _ in columns}
    ranked = sorted((name for name in sizes if name not in FRAMEWORK_COLUMNS), key=lambda name: -sizes[name])
    shown = ", ".join(f"{name} {types[name]} ({sizes[name]:,} bytes)" for name in ranked[:_SHOWN])
    return shown + (f" and {len(ranked) - _SHOWN:,} more" if len(ranked) > _SHOWN else "")


def _count(columns: int) -> str:
    return f"{columns:,} column" + ("" if columns == 1 else "s")
