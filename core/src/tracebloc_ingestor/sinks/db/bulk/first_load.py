"""A first load into an empty MariaDB table as one streamed LOAD DATA in one transaction.

Only where it pays and is safe: a MariaDB whose InnoDB bulk insert works (``load_stream``),
LOAD DATA LOCAL allowed, PyMySQL (other drivers may refuse a pipe as a LOCAL file), and the
table empty. The rows become visible at :meth:`FirstLoad.finish`; any failure leaves the
table as it was.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlalchemy as sa

from .. import LOGGER
from ..errors import (
    MYSQL_BULK_COMMIT, MYSQL_DUPLICATE, DatabaseError, StreamLostError, db_error, driver_words, error_id, mysql_code, text,
)
from ..writes import Part
from . import text as bulk_text
from .load_stream import LoadStream, bulk_load_capable, pipe_paths_available
from .sql import (
    NO_PARAMETERS, bare_name, constant_literal, is_text, load_data_sql, show_warnings, texts, warning_error,
)

if TYPE_CHECKING:
    from .paths import MySQLBulkWriter

__all__ = ["FirstLoad"]

log = logging.getLogger(LOGGER)


class FirstLoad:
    """The stream of one :class:`MySQLBulkWriter`: off until :meth:`begin` turns it on for a table."""

    def __init__(self, writer: "MySQLBulkWriter") -> None:
        self._writer = writer
        self.table: str | None = None
        self._columns: tuple[list[str], dict[str, str]] | None = None  # (sent, constant)
        self._stream: LoadStream | None = None

    def possible(self, table: str, *, missing_ok: bool = False) -> bool:
        """Whether :meth:`begin` would stream into ``table`` (``missing_ok``: a table not created yet counts as empty)."""
        writer = self._writer
        if not pipe_paths_available() or writer.connector.url.get_driver_name() != "pymysql":
            return False
        if not writer.use_load_data():
            return False

        def probe(conn: sa.Connection) -> tuple[str, bool]:
            version = conn.exec_driver_sql("SELECT VERSION()", execution_options=NO_PARAMETERS).scalar()
            if missing_ok and not writer.connector.dialect.has_table(conn, table):
                return text(version), True
            row = conn.exec_driver_sql(f"SELECT 1 FROM {bare_name(table)} LIMIT 1", execution_options=NO_PARAMETERS).first()
            return text(version), row is None

        version, empty = writer.connector.run("inspecting", table, probe)
        return empty and bulk_load_capable(version)

    def begin(self, table: str) -> bool:
        """Send the coming writes to ``table`` as one streamed LOAD DATA; whether the stream is on."""
        if not self.possible(table):
            return False
        writer = self._writer
        self.table, self._columns = table, None
        writer.write_path = "load_data_stream"
        log.info("table %s is empty: its rows go in as one bulk LOAD DATA, committed at the end", table)
        return True

    def part(self, table: str, names: list[str], part: pa.RecordBatch) -> Part:
        types = self._writer.tables.column_types(table)
        if self._columns is None:
            # the run id and intent are the same on every row of a run: set once in the statement
            constant = {
                name: constant_literal(part.column(i))
                for i, name in enumerate(names)
                if name in ("ingestor_id", "data_intent") and is_text(types.get(name))
            }
            constant = {name: value for name, value in constant.items() if value is not None}
            self._columns = ([name for name in names if name not in constant], constant)
        sent, constant = self._columns
        same = sorted(names) == sorted([*sent, *constant]) and all(
            constant_literal(part.column(names.index(name))) == value for name, value in constant.items()
        )
        if not same:
            raise DatabaseError(
                f"writing a batch to table {table!r} failed: a streamed load needs the same columns "
                "and run id in every batch"
            )
        fields = texts(table, sent, part.select(sent), literal=False)
        return Part("stream", None, data=bulk_text.load_data_buffer(fields), count=part.num_rows, sent=sent, constant=constant)

    def feed(self, table: str, names: list[str], part: Part) -> None:
        if self._stream is None:
            stream = LoadStream(self._writer.bulk_engine, lambda path: load_data_sql(table, part.sent, part.constant, path))
            # nothing is sent before the statement starts: waiting for a lost server is safe here
            self._writer.connector.call("starting the bulk load of", table, stream.start, write=True)
            self._stream = stream
        try:
            self._stream.feed(part.data, part.count)
        except sa.exc.DBAPIError as exc:
            raise self._failed(table, exc, names) from None
        finally:
            part.data = None

    def _failed(self, table: str, exc: sa.exc.DBAPIError, names: list[str]) -> DatabaseError:
        connector = self._writer.connector
        if not connector.dialect.lost(exc):
            return db_error("writing a batch to", table, exc, values=True, columns=names)
        words = f": {driver_words(exc)}" if driver_words(exc) else ""
        log.warning("the bulk load of %s lost its connection to %s (%s)", table, connector.dialect.describe(), error_id(exc))
        return StreamLostError(
            f"the bulk load of table {table!r} lost its connection to {connector.dialect.describe()} "
            f"({error_id(exc)}{words}); the server rolled it back, nothing of it is in the table, "
            "and it must be written again from the first batch"
        )

    def finish(self) -> None:
        """Commit the streamed load; on any failure nothing of it is in the table."""
        stream, table, columns = self._stream, self.table, self._columns
        self._stream = self.table = self._columns = None
        if stream is None:
            return
        names = [*columns[0], *columns[1]] if columns else []
        try:
            inserted = self._commit(stream, table, names)
            log.info("bulk load of %s committed (%d rows)", table, inserted)
        except sa.exc.DBAPIError as exc:
            if mysql_code(exc) == MYSQL_BULK_COMMIT:
                raise _bulk_refused(table, exc) from None
            raise self._failed(table, exc, names) from None
        finally:
            stream.abort()  # nothing left to do after a commit

    def _commit(self, stream: LoadStream, table: str, names: list[str]) -> int:
        """End the statement, check that it skipped and changed nothing, and commit: the rows inserted."""
        inserted, warning_count = stream.finish()
        if warning_count or inserted != stream.rows_sent:
            if inserted + warning_count == stream.rows_sent and _only_duplicates(stream.connection):
                raise DatabaseError(
                    f"writing table {table!r} failed: another run wrote rows with the same data_ids while "
                    "this one loaded; nothing of this run was kept, run it again"
                )
            raise warning_error(stream.connection, table, names)
        try:
            stream.commit()
        except sa.exc.DBAPIError as exc:
            if self._writer.connector.dialect.lost(exc):
                raise
            raise _bulk_refused(table, exc) from None
        return inserted

    def abort(self) -> None:
        """Roll back and forget a streamed load that is under way (idempotent)."""
        stream, self._stream = self._stream, None
        self.table = self._columns = None
        if self._writer.write_path == "load_data_stream":
            self._writer.write_path = "load_data"
        if stream is not None:
            stream.abort()


def _bulk_refused(table: str, exc: sa.exc.DBAPIError) -> DatabaseError:
    # InnoDB finds duplicate keys of a bulk insert while it sorts the index, at the end
    return DatabaseError(
        f"the bulk load of table {table!r} was refused ({error_id(exc)}): two records share a data_id "
        "(a plugin may set it) or another run wrote to the table meanwhile; nothing was kept"
    )


def _only_duplicates(conn: sa.Connection) -> bool:
    rows = show_warnings(conn)
    return bool(rows) and all(int(row[1]) == MYSQL_DUPLICATE for row in rows)
