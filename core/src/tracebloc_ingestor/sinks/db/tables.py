"""Dataset tables: name rules, compatibility with a schema, the platform's layout, reflected types."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

import sqlalchemy as sa

from ...schema import FRAMEWORK_COLUMNS, Column, TableSchema
from .errors import DatabaseError, Missing

if TYPE_CHECKING:
    from .engine import Connector

__all__ = ["Tables", "check_compatible", "check_table_name", "feature_columns"]

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


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


def check_compatible(table: str, existing: dict[str, str], features: Sequence[Column]) -> None:
    """An existing table must have the framework columns and exactly these feature columns."""
    absent = [name for name in FRAMEWORK_COLUMNS if name not in existing]
    if "data_id" in absent:
        raise DatabaseError(
            f"table {table!r} exists but has no data_id column, so it is not a dataset table; "
            "pick a new TABLE_NAME"
        )
    if absent:
        raise DatabaseError(f"table {table!r} exists but lacks the framework column(s) {', '.join(absent)}")
    have = {name: kind for name, kind in existing.items() if name not in FRAMEWORK_COLUMNS}
    want = {column.name: str(column.type) for column in features}
    parts = []
    only_schema = [f"{n} {t}" for n, t in want.items() if n not in have]
    only_table = [f"{n} {t}" for n, t in have.items() if n not in want]
    retyped = [f"{n} (schema {t}, table {have[n]})" for n, t in want.items() if n in have and have[n] != t]
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
        columns = [
            serial,
            f"{q('created_at')} DATETIME DEFAULT CURRENT_TIMESTAMP",
            f"{q('updated_at')} DATETIME DEFAULT CURRENT_TIMESTAMP{dialect.on_update_now}",
            f"{q('status')} INT DEFAULT 0",
            f"{q('label')} VARCHAR(255) NULL",
            f"{q('data_intent')} VARCHAR(100) NULL",
            f"{q('data_id')} VARCHAR(255) NOT NULL UNIQUE",
            f"{q('filename')} VARCHAR(255) NULL",
            f"{q('extension')} VARCHAR(10) NULL",
            f"{q('annotation')} TEXT NULL",
            f"{q('ingestor_id')} VARCHAR(255) NULL",
        ]
        columns += [f"{q(c.name)} {dialect.column_type(c.type)} NULL" for c in features]
        dialect.create_table(conn, table, columns, keys, index="ingestor_id")
