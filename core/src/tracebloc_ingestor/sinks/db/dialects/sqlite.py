"""SQLite: a file (or memory), a flock run lock, and each batch one executemany of checked values."""

from __future__ import annotations

import re
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from ....schema import SqlType
from .. import ID_CHUNK
from ..errors import DatabaseError, db_error
from ..limits import sqlite_problem
from ..sql_types import FRACTIONAL, MAX_FRACTION_DIGITS, parse_canonical
from ..table_lock import TableLock
from ..values import decimal_text
from ..writes import Part, PreparedWrite, Writer
from .base import Dialect

if TYPE_CHECKING:
    from ..engine import Connector
    from ..tables import Tables

__all__ = ["SQLiteDialect", "SQLiteWriter", "driver_values"]

_TIME_TEXT = r"^-?\d{1,3}:\d{2}:\d{2}(\.\d{1,6})?$"
_EXACT_DECIMAL = "DECIMAL_TEXT"  # the declared name of DECIMAL columns (text affinity)
_NUMERIC_DECIMAL = re.compile(r"^\s*(DECIMAL|NUMERIC)\b", re.I)  # as declared before: numeric affinity
_DOUBLE_DIGITS = 15


class SQLiteDialect(Dialect):
    name = "sqlite"
    placeholder = "?"

    def __init__(self, url: sa.URL) -> None:
        super().__init__(url)
        self.path = Path(url.database) if url.database not in (None, "", ":memory:") else None

    def describe(self) -> str:
        return f"sqlite {self.path or ':memory:'}"

    def missing(self) -> bool:
        return self.path is not None and not self.path.exists()

    def busy(self, exc: sa.exc.DBAPIError) -> bool:
        return getattr(exc.orig, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))

    def ensure_database(self, connector: "Connector") -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the folder of the SQLite database: {exc.strerror}") from None

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def column_type(self, sql_type: SqlType) -> str:
        if sql_type.name == "DECIMAL":
            # a declared DECIMAL has numeric affinity: SQLite would turn the exact text into a
            # double (15 significant digits); a name containing TEXT keeps it as written
            return f"{_EXACT_DECIMAL}({sql_type.precision},{sql_type.scale})"
        if sql_type.name in FRACTIONAL and sql_type.precision is None:
            return f"{sql_type.name}(0)"  # a bare DATETIME is read back as a table made before (below)
        return str(sql_type)

    def canonical_type(self, declared: str) -> str:
        # the engine keeps the declared text; INTEGER only appears as the 64-bit rowid key
        text = declared.strip().upper()
        if text == "INTEGER":
            return "BIGINT"
        if text.startswith(_EXACT_DECIMAL + "("):
            return super().canonical_type("DECIMAL" + text[len(_EXACT_DECIMAL):])
        if text in FRACTIONAL:
            # tables made before declared a bare DATETIME/TIME and were given microseconds,
            # which SQLite keeps as written
            return f"{text}({MAX_FRACTION_DIGITS})"
        return super().canonical_type(declared)

    def serial_key(self, column: str) -> tuple[str, list[str]]:
        return f"{self.quote(column)} INTEGER PRIMARY KEY AUTOINCREMENT", []

    def index_ddl(self, table: str, column: str) -> tuple[list[str], list[str]]:
        q = self.quote
        return [], [f"CREATE INDEX IF NOT EXISTS {q(f'ix_{table}_{column}')} ON {q(table)} ({q(column)})"]

    def limit_problem(self, columns: Sequence[tuple[str, SqlType, bool]]) -> str | None:
        return sqlite_problem(columns)

    def keep_existing(self, key: str) -> str:
        return " ON CONFLICT DO NOTHING"

    def has_table(self, conn: sa.Connection, name: str) -> bool:
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(conn.exec_driver_sql(sql, (name,)).scalar())

    def column_rows(self, conn: sa.Connection, table: str) -> Sequence[Sequence[Any]]:
        return conn.exec_driver_sql("SELECT name, type FROM pragma_table_info(?)", (table,)).all()

    def id_lookup(self, table: str, unique: list[str]) -> Callable[[sa.Connection], int]:
        def work(conn: sa.Connection) -> int:
            found = 0
            for start in range(0, len(unique), ID_CHUNK):
                chunk = unique[start : start + ID_CHUNK]
                marks = ", ".join([self.placeholder] * len(chunk))
                sql = f"SELECT COUNT(*) FROM {self.quote(table)} WHERE data_id IN ({marks})"
                found += int(conn.exec_driver_sql(sql, tuple(chunk)).scalar())
            return found

        return work

    def table_lock(self, connector: "Connector", table: str) -> TableLock:
        return TableLock(sqlite_path=self.path, name=table)

    def writer(self, connector: "Connector", tables: "Tables", *, load_data: bool | None) -> "SQLiteWriter":
        return SQLiteWriter(connector)


class SQLiteWriter(Writer):
    """Each batch one executemany of driver values; existing data_ids are kept.

    A stream (:meth:`begin_stream`) puts every batch of a load into one transaction on one
    connection, committed by :meth:`finish_stream`: until then no other connection sees a
    row, and a failure, SIGTERM or kill leaves the table as it was (SQLite's journal).
    Without a stream each batch is its own transaction.
    """

    write_path = "sqlite"

    def __init__(self, connector: "Connector") -> None:
        self._connector = connector
        self._dialect = connector.dialect
        self._numeric: dict[str, frozenset[str]] = {}
        self._stream: sa.Connection | None = None
        self._streaming: str | None = None  # the table of the stream under way

    def begin_stream(self, table: str) -> bool:
        self.abort_stream()
        self._streaming = table
        return True

    def finish_stream(self) -> None:
        conn, table, self._stream, self._streaming = self._stream, self._streaming, None, None
        if conn is None:
            return
        try:
            conn.commit()
        except sa.exc.DBAPIError as exc:
            raise db_error("committing the rows of", table, exc) from None
        finally:
            conn.close()

    def abort_stream(self) -> None:
        conn, self._stream, self._streaming = self._stream, None, None
        if conn is not None:
            with suppress(Exception):
                conn.rollback()
            with suppress(Exception):
                conn.close()

    def prepare(self, prepared: PreparedWrite, batch: pa.RecordBatch, types: dict[str, str]) -> None:
        columns = []
        numeric = self._numeric_decimals(prepared.table)
        for name, array in zip(prepared.names, batch.columns):
            try:
                if name in numeric:
                    _check_double_digits(array)
                columns.append(driver_values(array, parse_canonical(types[name])))
            except ValueError as exc:
                raise DatabaseError(
                    f"writing a batch to table {prepared.table!r} failed: column {name!r}: {exc}"
                ) from None
        prepared.parts.append(Part("rows", batch, rows=list(zip(*columns))))

    def _numeric_decimals(self, table: str) -> frozenset[str]:
        """DECIMAL columns of a table made before they were declared with text affinity."""
        if table not in self._numeric:
            rows = self._connector.run("reading the columns of", table, lambda conn: self._dialect.column_rows(conn, table))
            self._numeric[table] = frozenset(name for name, kind in rows if _NUMERIC_DECIMAL.match(kind or ""))
        return self._numeric[table]

    def send(self, table: str, names: list[str], part: Part) -> None:
        if self._streaming:
            if self._stream is None:
                self._stream = self._connector.engine.connect()
            try:
                self._insert_rows(self._stream, table, names, part.rows)
            except sa.exc.DBAPIError as exc:
                raise db_error("writing a batch to", table, exc, values=True, columns=names) from None
            return
        self._connector.run(
            "writing a batch to", table, lambda conn: self._insert_rows(conn, table, names, part.rows),
            write=True, values=True, columns=names,
        )

    def _insert_rows(self, conn: sa.Connection, table: str, names: list[str], rows: list[tuple]) -> None:
        q = self._dialect.quote
        column_list = ", ".join(q(name) for name in names)
        marks = ", ".join([self._dialect.placeholder] * len(names))
        sql = f'INSERT INTO {q(table)} ({column_list}) VALUES ({marks}) ON CONFLICT("data_id") DO NOTHING'
        conn.exec_driver_sql(sql, rows)  # a list of tuples: the driver's executemany


def driver_values(array: pa.Array | pa.ChunkedArray, sql_type: SqlType | None) -> list:
    """Checked sqlite3 values of one column bound for a column of ``sql_type`` (None: unknown type).

    Raises ValueError naming the rule (never a value) for what MySQL would refuse and SQLite
    would silently store wrongly. sqlite3 binds neither Decimal nor time (and its date
    adapters are deprecated), so those columns become text in the layout SQLAlchemy's SQLite
    types read back.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if sql_type is not None:
        array = _conform(array, sql_type)
    if pa.types.is_floating(array.type) and pc.any(pc.is_inf(array)).as_py():
        raise ValueError("infinite values cannot be stored (MySQL has no infinity)")
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_floating(kind):
        # MySQL has no NaN; the platform has always stored missing floats as NULL
        array = pc.if_else(pc.is_nan(array), pa.scalar(None, kind), array)
    elif pa.types.is_timestamp(kind):
        # tz-aware values become naive UTC; ns is cut to the us both engines keep
        array = array.cast(pa.timestamp("us"), safe=False)
    elif pa.types.is_time(kind) and kind.unit == "ns":
        array = array.cast(pa.time64("us"), safe=False)
    kind = array.type
    if pa.types.is_decimal(kind):
        array = decimal_text(array)
    elif pa.types.is_temporal(kind):
        array = array.cast(pa.string())
    return array.to_pylist()


def _check_double_digits(array: pa.Array) -> None:
    """A DECIMAL column with numeric affinity keeps what a double keeps: 15 significant digits."""
    if not pa.types.is_decimal(array.type) or array.null_count == len(array):
        return
    digits = pc.replace_substring_regex(decimal_text(array), r"[-.]", "")
    digits = pc.utf8_trim(digits, characters="0")
    if pc.max(pc.utf8_length(digits)).as_py() > _DOUBLE_DIGITS:
        raise ValueError(
            f"a value has more than {_DOUBLE_DIGITS} significant digits, which this column (made by an earlier "
            "version, with SQLite's numeric affinity) cannot keep; load into a new TABLE_NAME"
        )


def _conform(array: pa.Array, sql_type: SqlType) -> pa.Array:
    """Check and convert a column as MySQL's strict mode would before SQLite stores it.

    SQLite accepts any value in any column, so without this a string would silently sit
    in an INT column. Raises ValueError with a message that names the rule only.
    """
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    is_text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    if sql_type.is_text:
        if is_text and sql_type.length is not None and len(array) > 0:
            longest = pc.max(pc.utf8_length(array)).as_py()
            if longest is not None and longest > sql_type.length:
                raise ValueError(f"a value is longer than {sql_type.length} characters")
        return array
    if is_text:
        if sql_type.name == "TIME":
            matches = pc.match_substring_regex(array, _TIME_TEXT)
            if not pc.all(pc.or_kleene(matches, pc.is_null(array))).as_py():
                raise ValueError(f"a value is not a valid {sql_type}")
            return array
        try:
            array = array.cast(sql_type.arrow_type())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Arrow's message quotes the offending value: never pass it on
            raise ValueError(f"a value is not a valid {sql_type}") from None
    bounds = sql_type.integer_bounds
    if bounds is not None and pa.types.is_integer(array.type) and array.null_count < len(array):
        extremes = pc.min_max(array)
        if extremes["min"].as_py() < bounds[0] or extremes["max"].as_py() > bounds[1]:
            raise ValueError(f"a value is out of range for {sql_type}")
    return array
