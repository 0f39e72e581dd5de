"""The dataset table in MySQL/MariaDB or SQLite: layout, run bookkeeping, idempotent writes.

SQL is written by hand (SQLAlchemy Core engines, driver-level statements) so that the DDL is
exactly the platform's layout and bulk writes go straight to the driver's executemany.
Read-only methods never create anything, not even the database; writes happen only after
validation, starting with :meth:`Database.prepare`.

Privacy: engines hide bound parameters, and error messages of statements that carry row
values (or the salt) keep only the driver's error class, code and column, never its text.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any, Callable, Sequence

import pyarrow as pa
import sqlalchemy as sa

from ..schema import FRAMEWORK_COLUMNS, Column, TableSchema
from .db.bulk import text as bulk_text
from .db.bulk.load_stream import LoadStream, bulk_load_capable, pipe_paths_available
from .db.sql_types import canonical_type, column_values, ddl_type, parse_canonical, storable
from .db.table_lock import TableBusy, TableLock

__all__ = ["Database", "DatabaseError", "TableBusyError", "PreparedWrite", "RUNS_TABLE", "META_TABLE", "SALT_KEY", "DISABLE_LOAD_DATA_ENV"]

log = logging.getLogger(__name__)

RUNS_TABLE = "tracebloc_ingest_runs"
META_TABLE = "tracebloc_ingest_meta"
SALT_KEY = "data_id_salt"
FINISH_STATES = frozenset({"loaded", "registered", "failed"})
DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0)

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_NOT_WRITABLE = frozenset({"id", "created_at", "updated_at", "status"})
_ID_CHUNK = 500
_MYSQL_NO_DATABASE = 1049
_MYSQL_NO_TABLE = 1146
# too many connections, shutdown, lock wait timeout, deadlock, cannot connect, gone away, lost
_MYSQL_TRANSIENT = frozenset({1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2014, 2055})
_MYSQL_TABLE_OPTIONS = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
# the column a MySQL data error names, anchored at the end so text inside a quoted value cannot match
_MYSQL_COLUMN = re.compile(r"for column ((?:`(?:[^`]|``)*`\.){0,2}`(?:[^`]|``)*`|'[^']*') at row \d+\s*$")
# Read once per Database: "1"/"true"/"yes" forces the INSERT path (benchmarks, servers that misbehave).
DISABLE_LOAD_DATA_ENV = "TRACEBLOC_DISABLE_LOAD_DATA"
# LOAD DATA LOCAL refused by server or client: fall back to INSERT, never fail
_MYSQL_LOCAL_REFUSED = frozenset({1148, 2068, 3948, 4166})
_MYSQL_DUPLICATE = 1062
_MYSQL_BULK_COMMIT = 1180  # "Got error ... during COMMIT": how a bulk insert reports a duplicate key
# Rows and bytes per LOAD DATA file / INSERT slice: bounded memory whatever the batch size.
_BULK_ROWS = 50_000
_INSERT_ROWS = 20_000
_BULK_BYTES = 64 << 20
_STATEMENT_BYTES = 4 << 20
_SQLITE_COLUMN = re.compile(r"constraint failed: (?:[^.\s]+\.)?(\S+)\s*$")


class DatabaseError(Exception):
    """A database operation failed; the message names operation and table, never a row value."""


class TableBusyError(DatabaseError):
    """Another run holds the table's run lock."""


class _Missing(Exception):
    """The database itself (SQLite file or MySQL schema) does not exist yet."""


class Database:
    """One dataset database (``sqlite:///path`` or ``mysql+pymysql://...``)."""

    def __init__(
        self,
        url: str,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        load_data: bool | None = None,
    ) -> None:
        """``load_data``: None detects whether the server allows ``LOAD DATA LOCAL INFILE``
        (unless the environment sets ``TRACEBLOC_DISABLE_LOAD_DATA=1``); False always uses
        multi-row INSERTs; True ignores that variable (LOAD DATA is still only used where allowed)."""
        try:
            parsed = sa.engine.make_url(url)
        except Exception:  # the parser's message repeats the URL, password included
            raise DatabaseError(
                "the database URL cannot be parsed; expected sqlite:///path or "
                "mysql+pymysql://user:password@host:port/database"
            ) from None
        backend = parsed.get_backend_name()
        self._sqlite_path: Path | None = None
        if backend in ("mysql", "mariadb"):
            self.dialect = "mysql"
            if "+" not in parsed.drivername:
                parsed = parsed.set(drivername=f"{backend}+pymysql")
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
            if not parsed.database:
                raise DatabaseError("the MySQL URL names no database (…/DATABASE_NAME)")
        elif backend == "sqlite":
            self.dialect = "sqlite"
            if parsed.database not in (None, "", ":memory:"):
                self._sqlite_path = Path(parsed.database)
        else:
            raise DatabaseError(f"unsupported database {backend!r}; use sqlite:/// or mysql+pymysql://")
        self._url = parsed
        self._retry_delays = tuple(retry_delays)
        self._types: dict[str, dict[str, str]] = {}
        self._engine = self._create_engine(parsed)
        self._ph = "%s" if self.dialect == "mysql" else "?"
        if load_data is None and os.environ.get(DISABLE_LOAD_DATA_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
            load_data = False
        self._want_load_data = load_data
        self._load_data: bool | None = None if self.dialect == "mysql" and load_data is not False else False
        self._bulk_engine: sa.Engine | None = None
        self._packet_limit: int | None = None  # INSERT statement size, from max_allowed_packet
        # which write path is in use: "sqlite", "insert", or for MySQL None until the first write detects it
        self.write_path = "sqlite" if self.dialect == "sqlite" else ("insert" if self._load_data is False else None)
        # a first load into an empty MariaDB table: one streamed LOAD DATA (see begin_stream)
        self._stream_table: str | None = None
        self._stream_columns: tuple[list[str], dict[str, str]] | None = None
        self._stream: LoadStream | None = None
        self._lock_engine: sa.Engine | None = None

    def _create_engine(self, url: sa.URL, *, local_infile: bool = False) -> sa.Engine:
        options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
        if self.dialect == "mysql":
            options["pool_recycle"] = 3600
            if local_infile:
                # only the connections that run LOAD DATA allow the server to ask for a local file
                options["connect_args"] = {"local_infile": True}
        try:
            engine = sa.create_engine(url, **options)
        except Exception as exc:
            raise DatabaseError(f"cannot set up the {self.dialect} engine: {type(exc).__name__}") from None
        if self.dialect == "mysql":
            sa.event.listen(engine, "connect", _mysql_session)
        return engine

    def __repr__(self) -> str:
        return f"Database({self.describe()})"

    def describe(self) -> str:
        """Where the data goes, safe to log (no user name, no password)."""
        if self.dialect == "sqlite":
            return f"sqlite {self._sqlite_path or ':memory:'}"
        return f"mysql {self._url.host}:{self._url.port or 3306}/{self._url.database}"

    def close(self) -> None:
        self.abort_stream()
        self._engine.dispose()
        for engine in (self._bulk_engine, self._lock_engine):
            if engine is not None:
                engine.dispose()

    def lock_table(self, table: str, *, wait: float) -> TableLock:
        """Take the run lock of ``table`` (sinks/db/table_lock.py), waiting up to ``wait`` seconds.

        Raises DatabaseError when another run keeps the table; release the returned lock
        when the run is over (closing the process releases it too).
        """
        _check_table_name(table)
        if self.dialect == "mysql":
            if self._lock_engine is None:
                # a server-level connection: the database itself may not exist yet
                self._lock_engine = self._create_engine(self._url.set(database=""))
            lock = TableLock(engine=self._lock_engine, name=f"{self._url.database}.{table}")
        else:
            lock = TableLock(sqlite_path=self._sqlite_path, name=table)
        try:
            lock.acquire(wait)
        except TableBusy:
            raise TableBusyError(
                f"table {table!r} is being ingested by another run (waited {wait:g} s); nothing was done, "
                "run again when that run has finished"
            ) from None
        except sa.exc.DBAPIError as exc:
            raise _db_error("locking", table, exc) from None
        except OSError as exc:
            raise DatabaseError(f"locking table {table!r} failed: {exc.strerror or type(exc).__name__}") from None
        return lock

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ read-only

    def table_exists(self, table: str) -> bool:
        return self.existing_columns(table) is not None

    def existing_columns(self, table: str) -> dict[str, str] | None:
        """Column -> canonical SQL type in table order; None when the table does not exist."""
        _check_table_name(table)
        try:
            return self._run("reading the columns of", table, lambda conn: self._columns(conn, table))
        except _Missing:
            return None

    def read_salt(self, table: str) -> bytes | None:
        _check_table_name(table)

        def work(conn: sa.Connection) -> bytes | None:
            if not self._has_table(conn, META_TABLE):
                return None
            value = conn.exec_driver_sql(
                f"SELECT meta_value FROM {self._q(META_TABLE)} WHERE table_name = {self._ph} AND meta_key = {self._ph}",
                (table, SALT_KEY),
            ).scalar()
            return bytes.fromhex(value) if value else None

        try:
            return self._run("reading the salt of", table, work, values=True)
        except _Missing:
            return None

    def registered_owner(self, table: str) -> str | None:
        """Run id of the latest registered run of ``table``, if any."""
        _check_table_name(table)

        def work(conn: sa.Connection) -> str | None:
            if not self._has_table(conn, RUNS_TABLE):
                return None
            return conn.exec_driver_sql(
                f"SELECT ingestor_id FROM {self._q(RUNS_TABLE)} WHERE table_name = {self._ph} "
                "AND state = 'registered' ORDER BY finished_at DESC, started_at DESC LIMIT 1",
                (table,),
            ).scalar()

        try:
            return self._run("reading the runs of", table, work)
        except _Missing:
            return None

    def run_state(self, run_id: str) -> str | None:
        try:
            return self._run("reading the state of a run in", RUNS_TABLE, lambda conn: self._state(conn, run_id))
        except _Missing:
            return None

    def table_schema(self, table: str) -> dict[str, str]:
        """Reflected {column: SQL type} of the whole table, framework columns included."""
        columns = self.existing_columns(table)
        if columns is None:
            raise DatabaseError(f"reading the schema of table {table!r} failed: the table does not exist")
        return columns

    def count_rows(self, table: str, *, run_id: str | None = None) -> int:
        if not self.table_exists(table):
            return 0
        sql = f"SELECT COUNT(*) FROM {self._q(table)}"
        params: tuple = ()
        if run_id is not None:
            sql += f" WHERE ingestor_id = {self._ph}"
            params = (run_id,)
        return int(self._run("counting the rows of", table, lambda conn: conn.exec_driver_sql(sql, params).scalar()))

    def count_existing(self, table: str, data_ids: Sequence[str]) -> int:
        """How many distinct ids of ``data_ids`` are already rows of ``table``."""
        unique = list(dict.fromkeys(data_ids))
        if not unique or not self.table_exists(table):
            return 0

        if self.dialect == "mysql":
            import pyarrow.compute as pc

            ids = pa.array(unique, pa.string())
            ids = ids.take(pc.sort_indices(ids))  # neighbouring keys share index pages: about 2x faster
            return self._run("looking up data_ids in", table, lambda conn: self._count_ids(conn, table, ids), values=True)

        def work(conn: sa.Connection) -> int:
            found = 0
            for start in range(0, len(unique), _ID_CHUNK):
                chunk = unique[start : start + _ID_CHUNK]
                marks = ", ".join([self._ph] * len(chunk))
                sql = f"SELECT COUNT(*) FROM {self._q(table)} WHERE data_id IN ({marks})"
                found += int(conn.exec_driver_sql(sql, tuple(chunk)).scalar())
            return found

        return self._run("looking up data_ids in", table, work, values=True)

    def id_fingerprint(self, table: str) -> tuple[int, int] | None:
        """(rows, exact sum of the first 64 bits of every data_id read as hex) on MySQL; None elsewhere.

        Compared with :func:`tracebloc_ingestor.identity.id_fingerprint` of an input of
        content-hash ids, equal values mean the table holds exactly that input's ids.
        """
        if self.dialect != "mysql" or not self.table_exists(table):
            return None
        sql = (
            "SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(data_id, 16), 16, 10) AS DECIMAL(20, 0))), 0) "
            f"FROM {_mysql_name(table)}"
        )
        count, total = self._run(
            "fingerprinting the ids of", table,
            lambda conn: conn.exec_driver_sql(sql, execution_options={"no_parameters": True}).one(),
        )
        return int(count), int(total)

    # ------------------------------------------------------------------ writes

    def prepare(
        self,
        table: str,
        schema: TableSchema,
        *,
        run_id: str,
        category: str,
        salt: bytes,
        extra_columns: Sequence[Column] = (),
    ) -> None:
        """Create what is missing, record the run, and clear a killed earlier run's rows."""
        _check_table_name(table)
        if table.lower() in (RUNS_TABLE, META_TABLE):
            raise DatabaseError(f"{table!r} is the ingestor's own bookkeeping table; pick another TABLE_NAME")
        if not (0 < len(run_id) <= 64 and len(category) <= 64):
            raise DatabaseError(f"preparing table {table!r} failed: run id and category are at most 64 characters")
        # a schema entry "label" is the target, stored in the framework's own label column
        features = [column for column in (*extra_columns, *schema.features) if column.name != "label"]
        _check_feature_names(table, features)
        if not 0 < len(salt) <= 127:
            raise DatabaseError(f"preparing table {table!r} failed: the salt must be 1 to 127 bytes")
        self._ensure_database()
        existing = self.existing_columns(table)
        if existing is not None:
            _check_compatible(table, existing, features)
        self._run("creating the bookkeeping tables for", table, self._create_bookkeeping, write=True)
        self._run(
            "recording the run of",
            table,
            lambda conn: self._start_run(conn, table, run_id, category, salt.hex(), existing is not None),
            write=True,
            values=True,
        )
        if existing is None:
            self._run("creating table", table, lambda conn: self._create_table(conn, table, features), write=True)
            existing = self.existing_columns(table) or {}
            _check_compatible(table, existing, features)  # another pod may have won the race
        self._types[table] = existing
        log.info("table %s ready in %s (%d feature columns)", table, self.describe(), len(features))

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        """Insert the batch's rows; rows whose data_id already exists are left untouched."""
        self.send(self.prepare_write(table, batch))

    def prepare_write(self, table: str, batch: pa.RecordBatch) -> "PreparedWrite":
        """Check a batch and render it for the database (no database I/O besides the first detection).

        Split from :meth:`send` so that a writer thread can send one batch while the next is
        being rendered; a prepared write that is never sent must be discarded.
        """
        _check_table_name(table)
        names = list(batch.schema.names)
        problems = sorted(set(names) & _NOT_WRITABLE)
        if problems or "data_id" not in names or len(set(names)) != len(names):
            raise DatabaseError(
                f"writing a batch to table {table!r} failed: a batch needs a data_id column, "
                f"unique column names and none of {sorted(_NOT_WRITABLE)}"
            )
        types = self._column_types(table)
        unknown = [name for name in names if name not in types]
        if unknown:
            raise DatabaseError(f"writing a batch to table {table!r} failed: no such column(s) {unknown[:8]}")
        odd = [f"{field.name} ({field.type})" for field in batch.schema if not storable(field.type)]
        if odd:
            raise DatabaseError(f"writing a batch to table {table!r} failed: unstorable Arrow types: {odd[:8]}")
        prepared = PreparedWrite(table, names)
        if batch.num_rows == 0:
            return prepared
        if self.dialect == "mysql":
            streamed = self._stream_table == table and self._load_data
            # INSERT literals are bulkier than LOAD DATA lines and wait in the writer's queue
            rows = _BULK_ROWS if self._use_load_data() else _INSERT_ROWS
            try:
                for part in _bulk_parts(batch, rows):
                    if streamed:
                        prepared.parts.append(self._stream_part(table, names, part))
                    else:
                        prepared.parts.append(self._prepare_mysql(table, names, part))
            except BaseException:
                prepared.discard()
                raise
            return prepared
        columns = []
        for name, array in zip(names, batch.columns):
            try:
                columns.append(column_values(array, parse_canonical(types[name]), self.dialect))
            except ValueError as exc:
                raise DatabaseError(f"writing a batch to table {table!r} failed: column {name!r}: {exc}") from None
        prepared.parts.append(_Part("rows", batch, rows=list(zip(*columns))))
        return prepared

    def send(self, prepared: "PreparedWrite") -> None:
        """Write a prepared batch, part by part (each part one transaction); always cleans up."""
        table, names = prepared.table, prepared.names
        try:
            for part in prepared.parts:
                if part.kind == "stream":
                    self._feed_stream(table, names, part)
                    continue
                if part.kind == "rows":
                    self._run(
                        "writing a batch to", table, lambda conn: self._insert_rows(conn, table, names, part.rows),
                        write=True, values=True, columns=names,
                    )
                    continue
                if part.kind == "load" and not self._load_data:  # refused since it was prepared
                    part.discard()
                    part = self._prepare_mysql(table, names, part.batch)
                if part.kind == "load":
                    try:
                        self._run(
                            "writing a batch to",
                            table,
                            lambda conn: self._load_data_rows(conn, table, part),
                            write=True,
                            values=True,
                            columns=names,
                            engine=self._bulk_engine,
                        )
                        continue
                    except _LoadDataRefused as refused:
                        self._load_data = False
                        self.write_path = "insert"
                        log.info("LOAD DATA LOCAL INFILE is not available (%s); using multi-row INSERTs", refused)
                        part.discard()
                        part = self._prepare_mysql(table, names, part.batch)
                self._run(
                    "writing a batch to",
                    table,
                    lambda conn: self._insert_literals(conn, table, names, part.literals),
                    write=True,
                    values=True,
                    columns=names,
                )
        finally:
            prepared.discard()

    # -- the streamed bulk load: one LOAD DATA for a whole first load (sinks/db/bulk/load_stream.py)

    def begin_stream(self, table: str) -> bool:
        """Send the coming writes to ``table`` as one streamed LOAD DATA in one transaction.

        Only where it pays and is safe: MySQL-protocol server that is a MariaDB with a
        working InnoDB bulk insert, LOAD DATA LOCAL allowed, and the table empty. The rows
        become visible at :meth:`finish_stream`; :meth:`abort_stream` (or any failure)
        leaves the table as it was. Returns whether the stream is on.
        """
        if self.dialect != "mysql" or not pipe_paths_available() or self._url.get_driver_name() != "pymysql":
            return False  # other drivers may refuse to read a pipe as a LOCAL file
        if not self._use_load_data():
            return False

        def probe(conn: sa.Connection) -> tuple[str, bool]:
            version = conn.exec_driver_sql("SELECT VERSION()", execution_options={"no_parameters": True}).scalar()
            row = conn.exec_driver_sql(
                f"SELECT 1 FROM {_mysql_name(table)} LIMIT 1", execution_options={"no_parameters": True}
            ).first()
            return _text(version), row is None

        version, empty = self._run("inspecting", table, probe)
        if not (empty and bulk_load_capable(version)):
            return False
        self._stream_table, self._stream_columns = table, None
        self.write_path = "load_data_stream"
        log.info("table %s is empty: its rows go in as one bulk LOAD DATA, committed at the end", table)
        return True

    def finish_stream(self) -> None:
        """Commit the streamed load; on any failure nothing of it is in the table."""
        stream, table, columns = self._stream, self._stream_table, self._stream_columns
        self._stream = self._stream_table = self._stream_columns = None
        if stream is None:
            return
        names = [*columns[0], *columns[1]] if columns else []
        try:
            try:
                inserted, warnings = stream.finish()
            except sa.exc.DBAPIError as exc:
                if _mysql_code(exc) == _MYSQL_BULK_COMMIT:
                    raise self._bulk_refused(table, exc) from None
                raise _db_error("writing a batch to", table, exc, values=True, columns=names) from None
            if warnings or inserted != stream.rows_sent:
                if inserted + warnings == stream.rows_sent and self._only_duplicates(stream.connection):
                    raise DatabaseError(
                        f"writing table {table!r} failed: another run wrote rows with the same data_ids while "
                        "this one loaded; nothing of this run was kept, run it again"
                    )
                raise self._warning_error(stream.connection, table, names)
            try:
                stream.commit()
            except sa.exc.DBAPIError as exc:
                raise self._bulk_refused(table, exc) from None
            log.info("bulk load of %s committed (%d rows)", table, inserted)
        finally:
            stream.abort()  # nothing left to do after a commit

    def abort_stream(self) -> None:
        """Roll back and forget a streamed load that is under way (idempotent)."""
        stream, self._stream = self._stream, None
        self._stream_table = self._stream_columns = None
        if self.write_path == "load_data_stream":
            self.write_path = "load_data"
        if stream is not None:
            stream.abort()

    @staticmethod
    def _bulk_refused(table: str, exc: sa.exc.DBAPIError) -> DatabaseError:
        # InnoDB finds duplicate keys of a bulk insert while it sorts the index, at the end
        return DatabaseError(
            f"the bulk load of table {table!r} was refused ({_error_id(exc)}): two records share a data_id "
            "(a plugin may set it) or another run wrote to the table meanwhile; nothing was kept"
        )

    def _stream_part(self, table: str, names: list[str], part: pa.RecordBatch) -> "_Part":
        types = self._column_types(table)
        if self._stream_columns is None:
            # the run id and intent are the same on every row of a run: set once in the statement
            constant = {
                name: _constant_literal(part.column(i))
                for i, name in enumerate(names)
                if name in ("ingestor_id", "data_intent") and _is_text(types.get(name))
            }
            constant = {name: value for name, value in constant.items() if value is not None}
            self._stream_columns = ([name for name in names if name not in constant], constant)
        sent, constant = self._stream_columns
        same = sorted(names) == sorted([*sent, *constant]) and all(
            _constant_literal(part.column(names.index(name))) == value for name, value in constant.items()
        )
        if not same:
            raise DatabaseError(
                f"writing a batch to table {table!r} failed: a streamed load needs the same columns "
                "and run id in every batch"
            )
        fields = self._texts(table, sent, part.select(sent), literal=False)
        return _Part("stream", None, data=bulk_text.load_data_buffer(fields), count=part.num_rows, sent=sent, constant=constant)

    def _feed_stream(self, table: str, names: list[str], part: "_Part") -> None:
        if self._stream is None:
            stream = LoadStream(self._bulk_engine, lambda path: self._load_data_sql(table, part.sent, part.constant, path))
            try:
                stream.start()
            except sa.exc.DBAPIError as exc:
                raise _db_error("starting the bulk load of", table, exc) from None
            self._stream = stream
        try:
            self._stream.feed(part.data, part.count)
        except sa.exc.DBAPIError as exc:
            raise _db_error("writing a batch to", table, exc, values=True, columns=names) from None
        finally:
            part.data = None

    def _only_duplicates(self, conn: sa.Connection) -> bool:
        rows = conn.exec_driver_sql("SHOW WARNINGS LIMIT 64", execution_options={"no_parameters": True}).all()
        return bool(rows) and all(int(row[1]) == _MYSQL_DUPLICATE for row in rows)

    # -- MySQL bulk paths: values rendered as text by whole columns (bulk_text), sent in bulk

    def _insert_part(self, table: str, names: list[str], part: pa.RecordBatch) -> "_Part":
        # only the joined rows are kept (not the per-column texts): less memory while queued
        buffer, offsets = bulk_text.literal_rows(self._texts(table, names, part, literal=True))
        return _Part("insert", None, literals=[buffer, offsets])  # the batch is not needed any more

    def _prepare_mysql(self, table: str, names: list[str], part: pa.RecordBatch) -> "_Part":
        if self._packet_limit is None:
            self._packet_limit = self._statement_limit()
        if not self._use_load_data():
            return self._insert_part(table, names, part)
        # a text column with one value for every row (run id, intent) is set once, not sent per row
        types = self._column_types(table)
        constant = {
            name: _constant_literal(part.column(i))
            for i, name in enumerate(names)
            if name != "data_id" and _is_text(types.get(name))
        }
        constant = {name: value for name, value in constant.items() if value is not None}
        sent = [name for name in names if name not in constant]
        fields = self._texts(table, sent, part.select(sent), literal=False)
        try:
            fd, path = tempfile.mkstemp(prefix="tb_load_", suffix=".tsv")
        except OSError as exc:
            self._load_data = False
            self.write_path = "insert"
            log.info("LOAD DATA LOCAL INFILE needs a temporary folder (%s); using multi-row INSERTs", exc.strerror)
            return self._insert_part(table, names, part)
        loaded = _Part("load", part, path=path, sent=sent, constant=constant)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(bulk_text.load_data_buffer(fields))
        except BaseException:
            loaded.discard()
            raise
        return loaded

    def _texts(self, table: str, names: list[str], batch: pa.RecordBatch, *, literal: bool) -> list[pa.Array]:
        out = []
        for name, array in zip(names, batch.columns):
            try:
                out.append(bulk_text.text_column(array, literal=literal))
            except ValueError as exc:
                raise DatabaseError(f"writing a batch to table {table!r} failed: column {name!r}: {exc}") from None
        return out

    def _statement_limit(self) -> int:
        """Bytes per INSERT statement: 4 MiB, or less when the server's packet limit is lower."""
        try:
            packet = self._run("reading max_allowed_packet for", None, lambda conn: conn.exec_driver_sql(
                "SELECT @@max_allowed_packet", execution_options={"no_parameters": True}).scalar())
        except (DatabaseError, _Missing):
            return 1 << 20
        return max(64 << 10, min(_STATEMENT_BYTES, int(packet) - (64 << 10)))

    def _use_load_data(self) -> bool:
        """Detected once: the server's ``local_infile`` on a connection that allows it."""
        if self._load_data is None:
            self._bulk_engine = self._create_engine(self._url, local_infile=True)
            try:
                with self._bulk_engine.connect() as conn:
                    allowed = conn.exec_driver_sql("SELECT @@local_infile").scalar()
                self._load_data = str(allowed).upper() in ("1", "ON")
            except sa.exc.SQLAlchemyError as exc:  # the write that follows reports the real problem
                log.debug("cannot detect local_infile: %s", type(exc).__name__)
                self._load_data = False
            if not self._load_data:
                self._bulk_engine.dispose()
                self._bulk_engine = None
            self.write_path = "load_data" if self._load_data else "insert"
            log.info("MySQL writes use %s", "LOAD DATA LOCAL INFILE" if self._load_data else "multi-row INSERTs")
        return bool(self._load_data)

    def _load_data_rows(self, conn: sa.Connection, table: str, part: "_Part") -> None:
        """LOAD DATA one chunk; existing data_ids are kept, and nothing else may be skipped or changed.

        With LOCAL the server cannot stop reading the file, so every error (duplicate key,
        bad value) becomes a warning, as with IGNORE. The chunk is accepted only when the
        warnings are exactly the skipped rows (each duplicate gives one) and, if any row was
        skipped, every data_id of the chunk is in the table: a skipped row was a duplicate.
        Otherwise the transaction is rolled back and the first warning's code and column reported.
        """
        names, constant = part.sent, part.constant
        ids = part.batch.column(part.batch.schema.get_field_index("data_id"))
        sql = self._load_data_sql(table, names, constant, part.path)
        try:
            inserted = conn.exec_driver_sql(sql, execution_options={"no_parameters": True}).rowcount
        except sa.exc.DBAPIError as exc:
            if _mysql_code(exc) in _MYSQL_LOCAL_REFUSED:
                raise _LoadDataRefused(_error_id(exc)) from None
            raise
        rows = len(ids)
        warnings = int(conn.exec_driver_sql("SELECT @@warning_count", execution_options={"no_parameters": True}).scalar())
        skipped = rows - inserted
        if warnings == skipped and (skipped == 0 or self._all_present(conn, table, ids)):
            return
        raise self._warning_error(conn, table, [*names, *(constant or {})])

    @staticmethod
    def _load_data_sql(table: str, names: list[str], constant: dict[str, str], path: str) -> str:
        q = _mysql_name
        column_list = ", ".join(q(name) for name in names)
        sql = (
            f"LOAD DATA LOCAL INFILE {_sql_string(path)} IGNORE INTO TABLE {q(table)} CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({column_list})"
        )
        if constant:
            sql += " SET " + ", ".join(f"{q(name)} = {value}" for name, value in constant.items())
        return sql

    def _all_present(self, conn: sa.Connection, table: str, ids: pa.Array) -> bool:
        import pyarrow.compute as pc

        unique = pc.unique(ids)
        return self._count_ids(conn, table, unique) == len(unique)

    def _count_ids(self, conn: sa.Connection, table: str, unique: pa.Array) -> int:
        """How many of these distinct ids are rows (IN lists of escaped literals).

        Lists stay under MariaDB's ``in_predicate_conversion_threshold`` (1,000), above which
        the IN list becomes a derived table and the lookup may scan the whole table.
        """
        found = 0
        for start in range(0, len(unique), _ID_CHUNK):
            literals = bulk_text.text_column(unique.slice(start, _ID_CHUNK), literal=True)
            in_list = ",".join(literals.to_pylist())
            sql = f"SELECT COUNT(*) FROM {_mysql_name(table)} WHERE data_id IN ({in_list})"
            found += int(conn.exec_driver_sql(sql, execution_options={"no_parameters": True}).scalar())
        return found

    def _warning_error(self, conn: sa.Connection, table: str, names: list[str]) -> "DatabaseError":
        rows = conn.exec_driver_sql("SHOW WARNINGS LIMIT 64", execution_options={"no_parameters": True}).all()
        first = next((row for row in rows if int(row[1]) != _MYSQL_DUPLICATE), rows[0] if rows else None)
        message = f"writing a batch to table {table!r} failed"
        if first is None:
            return DatabaseError(message + ": LOAD DATA skipped rows that are not in the table")
        code = int(first[1])
        kind = "DataError" if code in (1264, 1265, 1292, 1366, 1406) else "OperationalError"
        message += f": {kind} {code}"
        match = _MYSQL_COLUMN.search(_text(first[2]))
        if match:
            column = re.findall(r"`((?:[^`]|``)*)`", match.group(1))
            column = column[-1].replace("``", "`") if column else match.group(1).strip("'")
            if column in names:
                message += f" in column {column!r}"
        return DatabaseError(message + " (the driver's message is withheld: it may quote row values)")

    def _insert_literals(self, conn: sa.Connection, table: str, names: list[str], literals: list) -> None:
        """Multi-row ``INSERT ... ON DUPLICATE KEY UPDATE id = id`` from rows of escaped literals."""
        column_list = ", ".join(_mysql_name(name) for name in names)
        head = f"INSERT INTO {_mysql_name(table)} ({column_list}) VALUES ".encode()
        tail = b" ON DUPLICATE KEY UPDATE `id` = `id`"  # a no-op: the first writer keeps the row
        buffer, offsets = literals
        limit = (self._packet_limit or _STATEMENT_BYTES) - len(head) - len(tail)
        for start, end in bulk_text.statement_slices(offsets, limit):
            sql = (head + bytes(buffer[start : end - 1]) + tail).decode("utf-8")  # end - 1: the row's comma
            conn.exec_driver_sql(sql, execution_options={"no_parameters": True})

    def _insert_rows(self, conn: sa.Connection, table: str, names: list[str], rows: list[tuple]) -> None:
        """SQLite's write path: the driver's executemany, in the batch's one transaction."""
        column_list = ", ".join(self._q(name) for name in names)
        marks = ", ".join([self._ph] * len(names))
        sql = f"INSERT INTO {self._q(table)} ({column_list}) VALUES ({marks})"
        if self.dialect == "mysql":
            sql += " ON DUPLICATE KEY UPDATE `id` = `id`"  # a no-op: the first writer keeps the row
        else:
            sql += ' ON CONFLICT("data_id") DO NOTHING'
        conn.exec_driver_sql(sql, rows)  # a list of tuples: the driver's executemany

    def finish_run(self, run_id: str, state: str, *, record_count: int | None = None) -> None:
        """Set the run's final state; a run unknown to the database is ignored."""
        if state not in FINISH_STATES:
            raise ValueError(f"state must be one of {sorted(FINISH_STATES)}")

        def work(conn: sa.Connection) -> None:
            current = self._state(conn, run_id, lock=True)
            if current is None:
                log.debug("run %s is not recorded; its state is not stored", run_id)
                return
            if current == "abandoned" and state != "failed":
                raise DatabaseError(
                    f"finishing run {run_id} failed: a later run found it unfinished and removed its rows"
                )
            conn.exec_driver_sql(
                f"UPDATE {self._q(RUNS_TABLE)} SET state = {self._ph}, finished_at = CURRENT_TIMESTAMP, "
                f"record_count = COALESCE({self._ph}, record_count) WHERE ingestor_id = {self._ph}",
                (state, record_count, run_id),
            )

        with suppress(_Missing):
            self._run("finishing a run in", RUNS_TABLE, work)

    # ------------------------------------------------------------------ internals

    def _q(self, name: str) -> str:
        """Always-quoted identifier (embedded quotes doubled, and % doubled for PyMySQL)."""
        return self._engine.dialect.identifier_preparer.quote_identifier(name)

    def _run(
        self,
        op: str,
        table: str | None,
        work: Callable[[sa.Connection], Any],
        *,
        write: bool = False,
        values: bool = False,
        columns: Sequence[str] = (),
        engine: sa.Engine | None = None,
    ) -> Any:
        """Run ``work`` in one transaction, retrying transient errors with backoff.

        ``write=False`` raises _Missing instead of creating a database that is not there;
        ``values=True`` marks statements whose driver messages may quote row values.
        """
        if not write and self._sqlite_path is not None and not self._sqlite_path.exists():
            raise _Missing
        for attempt in range(len(self._retry_delays) + 1):
            try:
                with (engine or self._engine).begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if not write and _mysql_code(exc) == _MYSQL_NO_DATABASE:
                    raise _Missing from None
                if attempt < len(self._retry_delays) and self._transient(exc):
                    delay = self._retry_delays[attempt]
                    log.warning(
                        "%s table %s: transient %s, retry %d in %.1f s",
                        op, table, _error_id(exc), attempt + 1, delay,
                    )
                    time.sleep(delay)
                    continue
                raise _db_error(op, table, exc, values=values, columns=columns, retries=attempt) from None
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{op} table {table!r} failed: {type(exc).__name__}") from None
        raise AssertionError("unreachable")

    def _transient(self, exc: sa.exc.DBAPIError) -> bool:
        if isinstance(exc, sa.exc.InterfaceError) or exc.connection_invalidated:
            return True
        if not isinstance(exc, sa.exc.OperationalError):
            return False
        if self.dialect == "mysql":
            return _mysql_code(exc) in _MYSQL_TRANSIENT
        return getattr(exc.orig, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))

    def _ensure_database(self) -> None:
        if self._sqlite_path is not None:
            try:
                self._sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder of the SQLite database: {exc.strerror}") from None
            return
        if self.dialect != "mysql":
            return
        try:
            self._run("connecting for", None, lambda conn: None)
            return
        except _Missing:
            pass
        name = self._url.database
        server = self._create_engine(self._url.set(database=""))
        try:
            with server.begin() as conn:
                quoted = server.dialect.identifier_preparer.quote_identifier(name)
                conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {quoted} CHARACTER SET utf8mb4", ())
        except sa.exc.DBAPIError as exc:
            raise _db_error("creating the database for", None, exc) from None
        finally:
            server.dispose()
        log.info("created database %s", name)

    def _columns(self, conn: sa.Connection, table: str) -> dict[str, str] | None:
        if self.dialect == "sqlite":
            rows = conn.exec_driver_sql("SELECT name, type FROM pragma_table_info(?)", (table,)).all()
        else:
            try:
                rows = [row[:2] for row in conn.exec_driver_sql(f"SHOW COLUMNS FROM {self._q(table)}", ()).all()]
            except sa.exc.ProgrammingError as exc:
                if _mysql_code(exc) == _MYSQL_NO_TABLE:
                    return None
                raise
        if not rows:
            return None
        return {_text(name): canonical_type(_text(kind), self.dialect) for name, kind in rows}

    def _has_table(self, conn: sa.Connection, name: str) -> bool:
        if self.dialect == "sqlite":
            sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
        return bool(conn.exec_driver_sql(sql, (name,)).scalar())

    def _state(self, conn: sa.Connection, run_id: str, *, lock: bool = False) -> str | None:
        if not self._has_table(conn, RUNS_TABLE):
            return None
        sql = f"SELECT state FROM {self._q(RUNS_TABLE)} WHERE ingestor_id = {self._ph}"
        if lock and self.dialect == "mysql":
            sql += " FOR UPDATE"
        return conn.exec_driver_sql(sql, (run_id,)).scalar()

    def _column_types(self, table: str) -> dict[str, str]:
        if table not in self._types:
            columns = self.existing_columns(table)
            if columns is None:
                raise DatabaseError(f"writing to table {table!r} failed: the table does not exist (prepare it first)")
            self._types[table] = columns
        return self._types[table]

    def _create_table_sql(self, name: str, columns: list[str], keys: list[str]) -> str:
        body = ",\n  ".join(columns + keys)
        options = _MYSQL_TABLE_OPTIONS if self.dialect == "mysql" else ""
        return f"CREATE TABLE IF NOT EXISTS {self._q(name)} (\n  {body}\n){options}"

    def _create_bookkeeping(self, conn: sa.Connection) -> None:
        q = self._q
        mysql = self.dialect == "mysql"
        runs = [
            f"{q('ingestor_id')} VARCHAR(64) NOT NULL PRIMARY KEY",
            f"{q('table_name')} VARCHAR(64) NOT NULL",
            f"{q('task')} VARCHAR(64) NULL",
            f"{q('state')} VARCHAR(16) NOT NULL",
            f"{q('started_at')} DATETIME NOT NULL",
            f"{q('finished_at')} DATETIME NULL",
            f"{q('record_count')} BIGINT NULL",
        ]
        keys = [f"KEY {q('ix_table_name')} ({q('table_name')})"] if mysql else []
        conn.exec_driver_sql(self._create_table_sql(RUNS_TABLE, runs, keys), ())
        if not mysql:
            index = q(f"ix_{RUNS_TABLE}_table_name")
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {index} ON {q(RUNS_TABLE)} ({q('table_name')})")
        meta = [
            f"{q('table_name')} VARCHAR(64) NOT NULL",
            f"{q('meta_key')} VARCHAR(64) NOT NULL",
            f"{q('meta_value')} VARCHAR(255) NULL",
        ]
        conn.exec_driver_sql(
            self._create_table_sql(META_TABLE, meta, [f"PRIMARY KEY ({q('table_name')}, {q('meta_key')})"]), ()
        )

    def _start_run(
        self, conn: sa.Connection, table: str, run_id: str, category: str, salt_hex: str, table_exists: bool
    ) -> None:
        q, ph = self._q, self._ph
        mysql = self.dialect == "mysql"
        keep_meta = " ON DUPLICATE KEY UPDATE meta_key = meta_key" if mysql else " ON CONFLICT DO NOTHING"
        keep_run = " ON DUPLICATE KEY UPDATE ingestor_id = ingestor_id" if mysql else " ON CONFLICT DO NOTHING"
        conn.exec_driver_sql(
            f"INSERT INTO {q(META_TABLE)} (table_name, meta_key, meta_value) VALUES ({ph}, {ph}, {ph}){keep_meta}",
            (table, SALT_KEY, salt_hex),
        )
        stored = conn.exec_driver_sql(
            f"SELECT meta_value FROM {q(META_TABLE)} WHERE table_name = {ph} AND meta_key = {ph}", (table, SALT_KEY)
        ).scalar()
        if stored != salt_hex:
            log.warning("table %s already has a data_id salt; the stored salt is kept, not the one given", table)
        conn.exec_driver_sql(
            f"INSERT INTO {q(RUNS_TABLE)} (ingestor_id, table_name, task, state, started_at) "
            f"VALUES ({ph}, {ph}, {ph}, 'loading', CURRENT_TIMESTAMP){keep_run}",
            (run_id, table, category),
        )
        owner_table = conn.exec_driver_sql(
            f"SELECT table_name FROM {q(RUNS_TABLE)} WHERE ingestor_id = {ph}", (run_id,)
        ).scalar()
        if owner_table != table:
            raise DatabaseError(f"preparing table {table!r} failed: run {run_id} belongs to another table")
        # the same run id again (a retried pod) takes up where it stopped
        conn.exec_driver_sql(
            f"UPDATE {q(RUNS_TABLE)} SET state = 'loading', finished_at = NULL "
            f"WHERE ingestor_id = {ph} AND state <> 'registered'",
            (run_id,),
        )
        stale = [
            row[0]
            for row in conn.exec_driver_sql(
                f"SELECT ingestor_id FROM {q(RUNS_TABLE)} WHERE table_name = {ph} AND ingestor_id <> {ph} "
                "AND state NOT IN ('registered', 'abandoned')",
                (table, run_id),
            )
        ]
        for start in range(0, len(stale), _ID_CHUNK):
            chunk = tuple(stale[start : start + _ID_CHUNK])
            marks = ", ".join([ph] * len(chunk))
            if table_exists:
                deleted = conn.exec_driver_sql(f"DELETE FROM {q(table)} WHERE ingestor_id IN ({marks})", chunk).rowcount
                log.info("removed %d rows of %d unfinished earlier run(s) of table %s", deleted, len(chunk), table)
            conn.exec_driver_sql(
                f"UPDATE {q(RUNS_TABLE)} SET state = 'abandoned', "
                f"finished_at = COALESCE(finished_at, CURRENT_TIMESTAMP) WHERE ingestor_id IN ({marks})",
                chunk,
            )

    def _create_table(self, conn: sa.Connection, table: str, features: list[Column]) -> None:
        q = self._q
        mysql = self.dialect == "mysql"
        columns = [
            f"{q('id')} BIGINT NOT NULL AUTO_INCREMENT" if mysql else f"{q('id')} INTEGER PRIMARY KEY AUTOINCREMENT",
            f"{q('created_at')} DATETIME DEFAULT CURRENT_TIMESTAMP",
            f"{q('updated_at')} DATETIME DEFAULT CURRENT_TIMESTAMP"
            + (" ON UPDATE CURRENT_TIMESTAMP" if mysql else ""),
            f"{q('status')} INT DEFAULT 0",
            f"{q('label')} VARCHAR(255) NULL",
            f"{q('data_intent')} VARCHAR(100) NULL",
            f"{q('data_id')} VARCHAR(255) NOT NULL UNIQUE",
            f"{q('filename')} VARCHAR(255) NULL",
            f"{q('extension')} VARCHAR(10) NULL",
            f"{q('annotation')} TEXT NULL",
            f"{q('ingestor_id')} VARCHAR(255) NULL",
        ]
        columns += [f"{q(c.name)} {ddl_type(c.type, self.dialect)} NULL" for c in features]
        keys = [f"PRIMARY KEY ({q('id')})", f"KEY {q('ix_ingestor_id')} ({q('ingestor_id')})"] if mysql else []
        conn.exec_driver_sql(self._create_table_sql(table, columns, keys), ())
        if not mysql:
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {q('ix_' + table + '_ingestor_id')} ON {q(table)} ({q('ingestor_id')})"
            )


def _mysql_session(dbapi_connection: Any, _record: Any) -> None:
    # strict mode so a bad value is an error, not a silent 0; UTC for the CURRENT_TIMESTAMP defaults;
    # backslash escapes on, since the bulk paths escape string literals and LOAD DATA fields with them
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        modes = [m for m in _text(cursor.fetchone()[0] or "").split(",") if m and m != "NO_BACKSLASH_ESCAPES"]
        if "STRICT_ALL_TABLES" not in modes:
            modes.append("STRICT_ALL_TABLES")
        cursor.execute("SET SESSION sql_mode = %s, time_zone = '+00:00'", (",".join(modes),))


def _mysql_name(name: str) -> str:
    """A quoted identifier for statements sent without parameters (no % doubling)."""
    return "`" + name.replace("`", "``") + "`"


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _bulk_parts(batch: pa.RecordBatch, rows: int = _BULK_ROWS):
    """Slices of at most ``rows`` rows and about _BULK_BYTES of Arrow data each."""
    per_row = max(1, batch.nbytes // max(1, batch.num_rows))
    step = max(1, min(rows, _BULK_BYTES // per_row))
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)


def _is_text(canonical: str | None) -> bool:
    sql_type = parse_canonical(canonical) if canonical else None
    return sql_type is not None and sql_type.is_text


def _constant_literal(array: pa.Array) -> str | None:
    """The SQL literal of a text column's only value, if every row holds that same value."""
    if len(array) == 0 or array.null_count or not pa.types.is_string(array.type):
        return None
    import pyarrow.compute as pc

    extremes = pc.min_max(array)
    if extremes["min"].as_py() != extremes["max"].as_py():
        return None
    return bulk_text.text_column(array.slice(0, 1), literal=True)[0].as_py()


class _Part:
    """One chunk of a prepared write: a LOAD DATA file, INSERT literals or driver rows."""

    def __init__(self, kind: str, batch: pa.RecordBatch | None, **extra: Any) -> None:
        self.kind = kind
        self.batch = batch
        self.rows: list = extra.get("rows", [])
        self.literals: list = extra.get("literals", [])  # [row buffer, row offsets] (bulk_text.literal_rows)
        self.path: str | None = extra.get("path")
        self.sent: list[str] = extra.get("sent", [])
        self.constant: dict[str, str] = extra.get("constant", {})
        self.data: memoryview | None = extra.get("data")  # a streamed part's LOAD DATA lines
        self.count: int = extra.get("count", 0)

    def discard(self) -> None:
        self.data = None
        if self.path is not None:
            with suppress(OSError):
                os.unlink(self.path)
            self.path = None


class PreparedWrite:
    """A batch checked and rendered by :meth:`Database.prepare_write`, waiting for :meth:`Database.send`."""

    def __init__(self, table: str, names: list[str]) -> None:
        self.table = table
        self.names = names
        self.parts: list[_Part] = []

    def discard(self) -> None:
        """Delete the temporary files of parts not yet sent (idempotent)."""
        for part in self.parts:
            part.discard()


class _LoadDataRefused(Exception):
    """The server or the client does not allow LOAD DATA LOCAL INFILE."""


def _check_table_name(table: str) -> None:
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise DatabaseError("table names match ^[A-Za-z_][A-Za-z0-9_]*$ and have at most 63 characters")


def _check_feature_names(table: str, features: Sequence[Column]) -> None:
    seen: set[str] = set()
    for column in features:
        key = column.name.lower()  # MySQL column names ignore case
        if key in FRAMEWORK_COLUMNS:
            raise DatabaseError(f"preparing table {table!r} failed: {column.name!r} is a framework column")
        if key in seen:
            raise DatabaseError(f"preparing table {table!r} failed: column {column.name!r} is given twice")
        seen.add(key)


def _check_compatible(table: str, existing: dict[str, str], features: Sequence[Column]) -> None:
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


def _mysql_code(exc: sa.exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _error_id(exc: sa.exc.DBAPIError) -> str:
    orig = exc.orig
    code = _mysql_code(exc) or getattr(orig, "sqlite_errorname", None)
    return f"{type(orig).__name__} {code}" if code else type(orig).__name__


def _db_error(
    op: str,
    table: str | None,
    exc: sa.exc.DBAPIError,
    *,
    values: bool = False,
    columns: Sequence[str] = (),
    retries: int = 0,
) -> DatabaseError:
    where = f"{op} table {table!r}" if table else op.removesuffix(" for")
    message = f"{where} failed: {_error_id(exc)}"
    if retries:
        message += f" (after {retries} retries)"
    args = getattr(exc.orig, "args", ())
    text = str(args[-1]) if args else ""
    if not values:
        return DatabaseError(f"{message}: {text.splitlines()[0][:300]}" if text else message)
    match = _MYSQL_COLUMN.search(text) or _SQLITE_COLUMN.search(text)
    if match:
        column = match.group(1)
        if column.startswith("`"):
            column = re.findall(r"`((?:[^`]|``)*)`", column)[-1].replace("``", "`")
        column = column.strip("'")
        if column in columns:
            message += f" in column {column!r}"
    return DatabaseError(message + " (the driver's message is withheld: it may quote row values)")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
