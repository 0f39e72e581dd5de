"""Dataset tables: name rules, compatibility with a schema, the platform's layout, reflected types."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

import sqlalchemy as sa

from ...schema import FRAMEWORK_COLUMNS, Column, SqlType, TableSchema, parse_sql_type
from .errors import DatabaseError, Missing
from .sql_types import FRACTIONAL, column_type, parse_canonical

if TYPE_CHECKING:
    from .engine import Connector

__all__ = ["FRAMEWORK_TYPES", "Tables", "check_compatible", "check_table_name", "feature_columns", "table_columns"]

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# the platform's layout; every framework column but id and data_id may be NULL
FRAMEWORK_TYPES = {
    "id": "BIGINT", "created_at": "DATETIME", "updated_at": "DATETIME", "status": "INT", "label": "VARCHAR(255)",
    "data_intent": "VARCHAR(100)", "data_id": "VARCHAR(255)", "filename": "VARCHAR(255)", "extension": "VARCHAR(10)",
    "annotation": "TEXT", "ingestor_id": "VARCHAR(255)",
}


def check_table_name(table: str) -> None:
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise DatabaseError("table names match ^[A-Za-z_][A-Za-z0-9_]*$ and have at most 63 characters")


def feature_columns(table: str, schema: TableSchema, extra_columns: Sequence[Column]) -> list[Column]:
    """The columns a table gets besides the framework's, checked for clashes."""
    # a schema entry "label" is the target, stored in the framework's own label column
    features = [column for column in (*extra_columns, *schema.features) if column.name != "label"]
    seen: set[str] = set()
    for column in features:
        key = column.name.lower()  # MySQL column names ignore case
        if key in FRAMEWORK_COLUMNS:
            raise DatabaseError(f"preparing table {table!r} failed: {column.name!r} is a framework column")
        if key in seen:
            raise DatabaseError(f"preparing table {table!r} failed: column {column.name!r} is given twice")
        seen.add(key)
    return features


def table_columns(schema: TableSchema, extra_columns: Sequence[Column] = ()) -> list[tuple[str, SqlType, bool]]:
    """(name, table type, nullable) of every column a table of this schema gets, framework's first."""
    columns = [(name, parse_sql_type(kind), name not in ("id", "data_id")) for name, kind in FRAMEWORK_TYPES.items()]
    features = [column for column in (*extra_columns, *schema.features) if column.name != "label"]
    return columns + [(column.name, column_type(column.type), True) for column in features]


def check_compatible(table: str, existing: dict[str, str], features: Sequence[Column]) -> None:
    """An existing table must have the framework columns and exactly these feature columns.

    A schema's bare DATETIME or TIME also fits a column that keeps fewer digits of a second
    (a table created before they kept microseconds): the writes then refuse values with a
    fraction the column cannot hold (:mod:`.values`), naming the column.
    """
    absent = [name for name in FRAMEWORK_COLUMNS if name not in existing]
    if "data_id" in absent:
        raise DatabaseError(
            f"table {table!r} exists but has no data_id column, so it is not a dataset table; "
            "pick a new TABLE_NAME"
        )
    if absent:
        raise DatabaseError(f"table {table!r} exists but lacks the framework column(s) {', '.join(absent)}")
    have = {name: kind for name, kind in existing.items() if name not in FRAMEWORK_COLUMNS}
    want = {column.name: str(column_type(column.type)) for column in features}
    for column in features:
        kept = parse_canonical(have.get(column.name, ""))
        if column.type.name in FRACTIONAL and column.type.precision is None and kept and kept.name == column.type.name:
            want[column.name] = have[column.name]
    parts = []
    declared = {column.name: str(column.type) for column in features}
    only_schema = [f"{n} {declared[n]}" for n in want if n not in have]
    only_table = [f"{n} {t}" for n, t in have.items() if n not in want]
    retyped = [f"{n} (schema {declared[n]}, table {have[n]})" for n, t in want.items() if n in have and have[n] != t]
    for title, items in (
        ("in the schema but not the table", only_schema),
        ("in the table but not the schema", only_table),
        ("typed differently", retyped),
    ):
        if items:
            more = f" and {len(items) - 8} more" if len(items) > 8 else ""
            parts.append(f"{title}: {', '.join(items[:8])}{more}")
    if parts:
        raise DatabaseError(
            f"table {table!r} already exists with other feature columns ({'; '.join(parts)}); "
            "pick a new TABLE_NAME or drop the table"
        )


class Tables:
    """The dataset tables of one database, with the column types of those written to."""

    def __init__(self, connector: "Connector") -> None:
        self._connector = connector
        self._dialect = connector.dialect
        self._types: dict[str, dict[str, str]] = {}

    def existing_columns(self, table: str) -> dict[str, str] | None:
        """Column -> canonical SQL type in table order; None when the table does not exist."""
        check_table_name(table)
        try:
            return self._connector.run("reading the columns of", table, lambda conn: self._dialect.columns(conn, table))
        except Missing:
            return None

    def column_types(self, table: str) -> dict[str, str]:
        if table not in self._types:
            columns = self.existing_columns(table)
            if columns is None:
                raise DatabaseError(f"writing to table {table!r} failed: the table does not exist (prepare it first)")
            self._types[table] = columns
        return self._types[table]

    def remember(self, table: str, columns: dict[str, str]) -> None:
        self._types[table] = columns

    def forget(self, table: str) -> None:
        self._types.pop(table, None)

    def create(self, conn: sa.Connection, table: str, features: Sequence[Column]) -> None:
        """CREATE TABLE IF NOT EXISTS in the platform's layout: framework columns, then features."""
        dialect = self._dialect
        q = dialect.quote
        serial, keys = dialect.serial_key("id")
        kind = {name: dialect.column_type(parse_sql_type(text)) for name, text in FRAMEWORK_TYPES.items()}
        columns = [
            serial,
            f"{q('created_at')} {kind['created_at']} DEFAULT CURRENT_TIMESTAMP",
            f"{q('updated_at')} {kind['updated_at']} DEFAULT CURRENT_TIMESTAMP{dialect.on_update_now}",
            f"{q('status')} {kind['status']} DEFAULT 0",
            *(f"{q(name)} {kind[name]} NULL" for name in ("label", "data_intent")),
            f"{q('data_id')} {kind['data_id']} NOT NULL UNIQUE",
            *(f"{q(name)} {kind[name]} NULL" for name in ("filename", "extension", "annotation", "ingestor_id")),
        ]
        columns += [f"{q(c.name)} {dialect.column_type(column_type(c.type))} NULL" for c in features]
        dialect.create_table(conn, table, columns, keys, index="ingestor_id")
