"""MySQL's write paths: LOAD DATA LOCAL files where the server allows them, else multi-row INSERTs.

Values are rendered as text by whole columns (``bulk.text``) and sent in bulk; which path is
used is detected once, at the first write, and a refusal later falls back to INSERT, never fails.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlalchemy as sa

from .. import LOGGER
from ..errors import MYSQL_LOCAL_REFUSED, DatabaseError, Missing, error_id, mysql_code
from ..writes import Part, PreparedWrite, Writer
from . import text as bulk_text
from .first_load import FirstLoad
from .sql import NO_PARAMETERS, bare_name, constant_literal, count_ids, is_text, load_data_sql, texts, warning_error

if TYPE_CHECKING:
    from ..engine import Connector
    from ..tables import Tables

__all__ = ["DISABLE_LOAD_DATA_ENV", "MySQLBulkWriter"]

log = logging.getLogger(LOGGER)

# Read once per Database: "1"/"true"/"yes" forces the INSERT path (benchmarks, servers that misbehave).
DISABLE_LOAD_DATA_ENV = "TRACEBLOC_DISABLE_LOAD_DATA"
# Rows and bytes per LOAD DATA file / INSERT slice: bounded memory whatever the batch size.
_BULK_ROWS = 50_000
_INSERT_ROWS = 20_000
_BULK_BYTES = 64 << 20
_STATEMENT_BYTES = 4 << 20


class _LoadDataRefused(Exception):
    """The server or the client does not allow LOAD DATA LOCAL INFILE."""


class MySQLBulkWriter(Writer):
    """Batches as LOAD DATA files or INSERT literals, or one streamed load for a first load."""

    def __init__(self, connector: "Connector", tables: "Tables", *, load_data: bool | None) -> None:
        """``load_data`` as for :class:`~tracebloc_ingestor.sinks.database.Database`."""
        if load_data is None and os.environ.get(DISABLE_LOAD_DATA_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
            load_data = False
        self.connector = connector
        self.tables = tables
        self.load_data: bool | None = None if load_data is not False else False
        self.bulk_engine: sa.Engine | None = None
        self.packet_limit: int | None = None  # INSERT statement size, from max_allowed_packet
        self.write_path = "insert" if self.load_data is False else None
        self.first_load = FirstLoad(self)

    def close(self) -> None:
        if self.bulk_engine is not None:
            self.bulk_engine.dispose()

    # -- the streamed first load (bulk/first_load.py)

    def begin_stream(self, table: str) -> bool:
        return self.first_load.begin(table)

    def finish_stream(self) -> None:
        self.first_load.finish()

    def abort_stream(self) -> None:
        self.first_load.abort()

    # -- chunks

    def prepare(self, prepared: PreparedWrite, batch: pa.RecordBatch, types: dict[str, str]) -> None:
        table, names = prepared.table, prepared.names
        streamed = self.first_load.table == table and self.load_data
        # INSERT literals are bulkier than LOAD DATA lines and wait in the writer's queue
        rows = _BULK_ROWS if self.use_load_data() else _INSERT_ROWS
        for part in _bulk_parts(batch, rows):
            if streamed:
                prepared.parts.append(self.first_load.part(table, names, part))
            else:
                prepared.parts.append(self._render(table, names, part))

    def send(self, table: str, names: list[str], part: Part) -> None:
        if part.kind == "stream":
            self.first_load.feed(table, names, part)
            return
        if part.kind == "load" and not self.load_data:  # refused since it was prepared
            part.discard()
            part = self._render(table, names, part.batch)
        if part.kind == "load":
            try:
                self.connector.run(
                    "writing a batch to",
                    table,
                    lambda conn: self._load_data_rows(conn, table, part),
                    write=True,
                    values=True,
                    columns=names,
                    engine=self.bulk_engine,
                )
                return
            except _LoadDataRefused as refused:
                self.load_data = False
                self.write_path = "insert"
                log.info("LOAD DATA LOCAL INFILE is not available (%s); using multi-row INSERTs", refused)
                part.discard()
                part = self._render(table, names, part.batch)
        self.connector.run(
            "writing a batch to",
            table,
            lambda conn: self._insert_literals(conn, table, names, part.literals),
            write=True,
            values=True,
            columns=names,
        )

    def use_load_data(self) -> bool:
        """Detected once: the server's ``local_infile`` on a connection that allows it."""
        if self.load_data is None:
            self.bulk_engine = self.connector.create_engine(local_infile=True)
            try:
                allowed = self.connector.run(
                    "detecting LOAD DATA LOCAL for", None,
                    lambda conn: conn.exec_driver_sql("SELECT @@local_infile", execution_options=NO_PARAMETERS).scalar(),
                    engine=self.bulk_engine,
                )
                self.load_data = str(allowed).upper() in ("1", "ON")
            except (DatabaseError, Missing) as exc:  # the write that follows reports the real problem
                log.debug("cannot detect local_infile: %s", type(exc).__name__)
                self.load_data = False
            if not self.load_data:
                self.bulk_engine.dispose()
                self.bulk_engine = None
            self.write_path = "load_data" if self.load_data else "insert"
            log.info("MySQL writes use %s", "LOAD DATA LOCAL INFILE" if self.load_data else "multi-row INSERTs")
        return bool(self.load_data)

    def _render(self, table: str, names: list[str], part: pa.RecordBatch) -> Part:
        if self.packet_limit is None:
            self.packet_limit = self._statement_limit()
        if not self.use_load_data():
            return self._insert_part(table, names, part)
        # a text column with one value for every row (run id, intent) is set once, not sent per row
        types = self.tables.column_types(table)
        constant = {
            name: constant_literal(part.column(i))
            for i, name in enumerate(names)
            if name != "data_id" and is_text(types.get(name))
        }
        constant = {name: value for name, value in constant.items() if value is not None}
        sent = [name for name in names if name not in constant]
        fields = texts(table, sent, part.select(sent), literal=False)
        try:
            fd, path = tempfile.mkstemp(prefix="tb_load_", suffix=".tsv")
        except OSError as exc:
            self.load_data = False
            self.write_path = "insert"
            log.info("LOAD DATA LOCAL INFILE needs a temporary folder (%s); using multi-row INSERTs", exc.strerror)
            return self._insert_part(table, names, part)
        loaded = Part("load", part, path=path, sent=sent, constant=constant)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(bulk_text.load_data_buffer(fields))
        except BaseException:
            loaded.discard()
            raise
        return loaded

    def _insert_part(self, table: str, names: list[str], part: pa.RecordBatch) -> Part:
        # only the joined rows are kept (not the per-column texts): less memory while queued
        buffer, offsets = bulk_text.literal_rows(texts(table, names, part, literal=True))
        return Part("insert", None, literals=[buffer, offsets])  # the batch is not needed any more

    def _statement_limit(self) -> int:
        """Bytes per INSERT statement: 4 MiB, or less when the server's packet limit is lower."""
        try:
            packet = self.connector.run("reading max_allowed_packet for", None, lambda conn: conn.exec_driver_sql(
                "SELECT @@max_allowed_packet", execution_options=NO_PARAMETERS).scalar())
        except (DatabaseError, Missing):
            return 1 << 20
        return max(64 << 10, min(_STATEMENT_BYTES, int(packet) - (64 << 10)))

    def _load_data_rows(self, conn: sa.Connection, table: str, part: Part) -> None:
        """LOAD DATA one chunk; existing data_ids are kept, and nothing else may be skipped or changed.

        With LOCAL the server cannot stop reading the file, so every error (duplicate key,
        bad value) becomes a warning, as with IGNORE. The chunk is accepted only when the
        warnings are exactly the skipped rows (each duplicate gives one) and, if any row was
        skipped, every data_id of the chunk is in the table: a skipped row was a duplicate.
        Otherwise the transaction is rolled back and the first warning's code and column reported.
        """
        names, constant = part.sent, part.constant
        ids = part.batch.column(part.batch.schema.get_field_index("data_id"))
        sql = load_data_sql(table, names, constant, part.path)
        try:
            inserted = conn.exec_driver_sql(sql, execution_options=NO_PARAMETERS).rowcount
        except sa.exc.DBAPIError as exc:
            if mysql_code(exc) in MYSQL_LOCAL_REFUSED:
                raise _LoadDataRefused(error_id(exc)) from None
            raise
        rows = len(ids)
        warnings = int(conn.exec_driver_sql("SELECT @@warning_count", execution_options=NO_PARAMETERS).scalar())
        skipped = rows - inserted
        if warnings == skipped and (skipped == 0 or _all_present(conn, table, ids)):
            return
        raise warning_error(conn, table, [*names, *(constant or {})])

    def _insert_literals(self, conn: sa.Connection, table: str, names: list[str], literals: list) -> None:
        """Multi-row ``INSERT ... ON DUPLICATE KEY UPDATE id = id`` from rows of escaped literals."""
        column_list = ", ".join(bare_name(name) for name in names)
        head = f"INSERT INTO {bare_name(table)} ({column_list}) VALUES ".encode()
        tail = b" ON DUPLICATE KEY UPDATE `id` = `id`"  # a no-op: the first writer keeps the row
        buffer, offsets = literals
        limit = (self.packet_limit or _STATEMENT_BYTES) - len(head) - len(tail)
        for start, end in bulk_text.statement_slices(offsets, limit):
            sql = (head + bytes(buffer[start : end - 1]) + tail).decode("utf-8")  # end - 1: the row's comma
            conn.exec_driver_sql(sql, execution_options=NO_PARAMETERS)


def _bulk_parts(batch: pa.RecordBatch, rows: int):
    """Slices of at most ``rows`` rows and about _BULK_BYTES of Arrow data each."""
    per_row = max(1, batch.nbytes // max(1, batch.num_rows))
    step = max(1, min(rows, _BULK_BYTES // per_row))
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)


def _all_present(conn: sa.Connection, table: str, ids: pa.Array) -> bool:
    import pyarrow.compute as pc

    unique = pc.unique(ids)
    return count_ids(conn, table, unique) == len(unique)
