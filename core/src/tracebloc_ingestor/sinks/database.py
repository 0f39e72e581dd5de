"""The dataset table in MySQL/MariaDB or SQLite: layout, run bookkeeping, idempotent writes.

SQL is written by hand (SQLAlchemy Core engines, driver-level statements) so that the DDL is
exactly the platform's layout and bulk writes go straight to the driver's executemany.
Read-only methods never create anything, not even the database; writes happen only after
validation, starting with :meth:`Database.prepare`.

Privacy: engines hide bound parameters, and error messages of statements that carry row
values (or the salt) keep only the driver's error class, code and column, never its text.

Every MySQL socket has connect, read and write timeouts and keepalive probes, so a
restarting or vanished server is noticed in seconds. A transaction that fails because the
connection was lost is run again, as a whole, until ``retry_deadline`` seconds after the
server was first found lost (``DB_RETRY_DEADLINE``): a chunk of rows resumes after the last
committed one. A streamed first load cannot resume: it raises :class:`StreamLostError`.
Past the deadline a :class:`DatabaseError` names the server, the MySQL error code and the
driver's words.

This module is the façade; the parts live in :mod:`tracebloc_ingestor.sinks.db`.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

import pyarrow as pa
import sqlalchemy as sa

from ..schema import Column, TableSchema
from .db.bulk import DISABLE_LOAD_DATA_ENV
from .db.dialects import dialect_for
from .db.engine import DEFAULT_RETRY_DEADLINE, DEFAULT_RETRY_DELAYS, Connector
from .db.errors import DatabaseError, Missing, StreamLostError, TableBusyError
from .db.ledger import FINISH_STATES, META_TABLE, RUNS_TABLE, SALT_KEY, RunLedger
from .db.shards import SHARDS_TABLE, Finish, ShardLedger, ShardRow, wait_for_table
from .db.table_lock import TableBusy, TableLock
from .db.tables import Tables, check_compatible, check_table_name, feature_columns, table_columns
from .db.values import conform_batch
from .db.writes import PreparedWrite, check_batch

__all__ = [
    "Database", "DatabaseError", "TableBusyError", "StreamLostError", "StreamLost", "PreparedWrite",
    "RUNS_TABLE", "META_TABLE", "SHARDS_TABLE", "SALT_KEY", "Finish", "ShardRow", "DISABLE_LOAD_DATA_ENV", "FINISH_STATES",
    "DEFAULT_RETRY_DELAYS", "DEFAULT_RETRY_DEADLINE",
]

log = logging.getLogger(__name__)


#: the pipeline's name for it: the streamed first load was lost and the pass restarts from the beginning
StreamLost = StreamLostError


class Database:
    """One dataset database (``sqlite:///path`` or ``mysql+pymysql://...``)."""

    def __init__(
        self,
        url: str,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        retry_deadline: float = DEFAULT_RETRY_DEADLINE,
        load_data: bool | None = None,
    ) -> None:
        """``retry_delays``: the waits before each retry of a busy database (lock wait, deadlock);
        ``retry_deadline``: seconds to keep retrying after the server was found lost.
        ``load_data``: None detects whether the server allows ``LOAD DATA LOCAL INFILE``
        (unless the environment sets ``TRACEBLOC_DISABLE_LOAD_DATA=1``); False always uses
        multi-row INSERTs; True ignores that variable (LOAD DATA is still only used where allowed)."""
        self._dialect = dialect_for(url)
        self._connector = Connector(self._dialect, retry_delays, retry_deadline)
        self._tables = Tables(self._connector)
        self._ledger = RunLedger(self._connector)
        self._shards = ShardLedger(self._connector)
        self._writer = self._dialect.writer(self._connector, self._tables, load_data=load_data)

    @property
    def dialect(self) -> str:
        """The dialect's name: "sqlite" or "mysql" (MariaDB included)."""
        return self._dialect.name

    @property
    def write_path(self) -> str | None:
        """The write path: "sqlite", "insert", "load_data" or "load_data_stream" (MySQL: None until detected)."""
        return self._writer.write_path

    def __repr__(self) -> str:
        return f"Database({self.describe()})"

    def describe(self) -> str:
        """Where the data goes, safe to log (no user name, no password)."""
        return self._dialect.describe()

    def close(self) -> None:
        self._writer.abort_stream()
        self._connector.close()
        self._writer.close()
        self._dialect.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def lock_table(self, table: str, *, wait: float) -> TableLock:
        """Take the run lock of ``table`` (sinks/db/table_lock.py), waiting up to ``wait`` seconds.

        Raises DatabaseError when another run keeps the table; release the returned lock
        when the run is over (closing the process releases it too). Should the server restart
        meanwhile (which forgets the lock), the next database operation takes it again before
        anything else, or fails with TableBusyError when another run took it.
        """
        check_table_name(table)
        lock = self._dialect.table_lock(self._connector, table)
        try:
            if self._dialect.name == "mysql":
                # a sharded run holds this lock only while its shards join: wait while one of its shards lives
                wait_for_table(self._connector, lock, lambda: self._live_runs(table, other_than=None), wait=wait,
                               table=table, what="a run split into shards")
            else:
                self._connector.call("locking", table, lambda: lock.acquire(wait))
        except TableBusy:
            raise TableBusyError(
                f"table {table!r} is being ingested by another run (waited {wait:g} s); nothing was done, "
                "run again when that run has finished"
            ) from None
        except OSError as exc:
            raise DatabaseError(f"locking table {table!r} failed: {exc.strerror or type(exc).__name__}") from None

        def hold_again() -> None:
            try:
                lock.reassert()
            except TableBusy:
                raise TableBusyError(
                    f"table {table!r} was taken by another run while {self.describe()} restarted; this run stops "
                    "(its rows are cleared by the next run of the table)"
                ) from None

        self._connector.on_reconnect = hold_again
        return lock

    # -- the shards of a scaled-out run (sinks/db/shards.py)

    def _shard_lock(self, table: str, run_id: str, index: int) -> str:
        return f"{table}#{run_id}/{index}"

    def _live_runs(self, table: str, *, other_than: str | None) -> list[str]:
        def work(conn: sa.Connection) -> list[str]:
            return self._shards.live_runs(
                conn, table, lambda run_id, index: self._dialect.lock_name(self._shard_lock(table, run_id, index)),
                other_than=other_than,
            )

        try:
            return self._connector.run("looking for live runs of", table, work)
        except Missing:
            return []

    def join_run(self, table: str, *, run_id: str, category: str, shard: tuple[int, int], wait: float) -> tuple[str, bytes, TableLock]:
        """Take this shard's place in run ``run_id`` of ``table``: (the run's state, the table's salt, the shard's lock).

        The shard's own lock is taken first (another process running the same shard of the
        same run is waited for, up to ``wait`` seconds); then, under the table's run lock, the
        run is recorded unless it is, and so are the shard's row and the table's salt (the
        first shard's random salt is kept). Another run with a live shard, or a run without
        shards that holds the table, is waited for; past ``wait`` TableBusyError. Release the
        returned lock when the shard is done (the server releases it if the process dies).
        """
        check_table_name(table)
        if self._dialect.name != "mysql":
            raise DatabaseError("a sharded run needs a MySQL or MariaDB database that every shard reaches")
        index, count = shard
        own = self._dialect.named_lock(self._connector, self._shard_lock(table, run_id, index))
        try:
            self._connector.call("locking", table, lambda: own.acquire(wait))
        except TableBusy:
            raise TableBusyError(
                f"shard {index} of run {run_id} is running in another process (waited {wait:g} s); nothing was done"
            ) from None
        try:
            self._dialect.ensure_database(self._connector)
            self._connector.run("creating the bookkeeping tables for", table, self._create_bookkeeping, write=True)
            gate = self._dialect.table_lock(self._connector, table)
            wait_for_table(self._connector, gate, lambda: self._live_runs(table, other_than=run_id), wait=wait,
                           table=table, what="another sharded run")
            try:
                salt_hex = os.urandom(32).hex()
                state, salt = self._connector.run(
                    "joining the run of", table,
                    lambda conn: self._shards.join(conn, table, run_id, category, index, count, salt_hex),
                    write=True, values=True,
                )
            finally:
                gate.release()
        except BaseException:
            own.release()
            raise

        def hold_again() -> None:
            try:
                own.reassert()
            except TableBusy:
                raise TableBusyError(
                    f"shard {index} of run {run_id} was taken by another process while {self.describe()} restarted; "
                    "this one stops"
                ) from None

        self._connector.on_reconnect = hold_again
        return state, salt, own

    def _create_bookkeeping(self, conn: sa.Connection) -> None:
        self._ledger.create_tables(conn)
        self._shards.create_table(conn)

    def shard_state(self, run_id: str, index: int, state: str, **fields) -> None:
        """Record a shard's state (``records``, ``errors``, ``facts`` as given)."""
        self._shards.set_state(run_id, index, state, **fields)

    def shard_heartbeat(self, run_id: str, index: int) -> None:
        self._shards.heartbeat(run_id, index)

    def run_shards(self, run_id: str) -> list[ShardRow]:
        """The shard rows of a run, by index."""
        return self._shards.shards(run_id)

    def move_run(self, run_id: str, state: str, *, only_from: tuple[str, ...]) -> bool:
        """Set the run's state if it is one of ``only_from``; whether this call changed it."""
        return self._shards.set_run_state(run_id, state, only_from=only_from)

    def finish_shard(self, run_id: str, index: int, count: int, records: int, data: dict) -> Finish:
        """Record a shard's load; whether it is the one shard that registers the run (see sinks/db/shards.py)."""
        return self._shards.finish(run_id, index, count, records, data)

    # ------------------------------------------------------------------ read-only

    def table_exists(self, table: str) -> bool:
        return self.existing_columns(table) is not None

    def existing_columns(self, table: str) -> dict[str, str] | None:
        """Column -> canonical SQL type in table order; None when the table does not exist."""
        return self._tables.existing_columns(table)

    def read_salt(self, table: str) -> bytes | None:
        check_table_name(table)
        return self._ledger.read_salt(table)

    def registered_owner(self, table: str) -> str | None:
        """Run id of the latest registered run of ``table``, if any."""
        check_table_name(table)
        return self._ledger.registered_owner(table)

    def run_state(self, run_id: str) -> str | None:
        return self._ledger.run_state(run_id)

    def loaded_run(self, table: str) -> tuple[str, int | None] | None:
        """(run id, record count) of the latest run of ``table`` whose rows are committed but that is not registered."""
        check_table_name(table)
        return self._ledger.loaded_run(table)

    def table_schema(self, table: str) -> dict[str, str]:
        """Reflected {column: SQL type} of the whole table, framework columns included."""
        columns = self.existing_columns(table)
        if columns is None:
            raise DatabaseError(f"reading the schema of table {table!r} failed: the table does not exist")
        return columns

    def count_rows(self, table: str, *, run_id: str | None = None) -> int:
        if not self.table_exists(table):
            return 0
        sql = f"SELECT COUNT(*) FROM {self._dialect.quote(table)}"
        params: tuple = ()
        if run_id is not None:
            sql += f" WHERE ingestor_id = {self._dialect.placeholder}"
            params = (run_id,)
        return int(self._connector.run("counting the rows of", table, lambda conn: conn.exec_driver_sql(sql, params).scalar()))

    def count_existing(self, table: str, data_ids: Sequence[str]) -> int:
        """How many distinct ids of ``data_ids`` are already rows of ``table``."""
        unique = list(dict.fromkeys(data_ids))
        if not unique or not self.table_exists(table):
            return 0
        return self._connector.run("looking up data_ids in", table, self._dialect.id_lookup(table, unique), values=True)

    def id_fingerprint(self, table: str) -> tuple[int, int] | None:
        """(rows, exact sum of the first 64 bits of every data_id read as hex) on MySQL; None elsewhere.

        Compared with :func:`tracebloc_ingestor.identity.id_fingerprint` of an input of
        content-hash ids, equal values mean the table holds exactly that input's ids.
        """
        sql = self._dialect.fingerprint_sql(table)
        if sql is None or not self.table_exists(table):
            return None
        count, total = self._connector.run(
            "fingerprinting the ids of", table,
            lambda conn: conn.exec_driver_sql(sql, execution_options={"no_parameters": True}).one(),
        )
        return int(count), int(total)

    def schema_problem(self, schema: TableSchema, *, extra_columns: Sequence[Column] = ()) -> str | None:
        """Why this database could not create a table of ``schema``, or None; nothing is connected or written.

        The limits of the dialect (sinks/db/limits.py): the number of columns (MySQL/MariaDB
        1,017, SQLite 2,000 unless built otherwise) and, on MySQL/MariaDB, the bytes a row
        may take. The message names the limit and the widest columns. A table that already
        exists was created, so this concerns new tables (and is cheap enough to ask always).
        """
        return self._dialect.limit_problem(table_columns(schema, extra_columns))

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
        sharded: bool = False,
    ) -> None:
        """Create what is missing, record the run, and clear a killed earlier run's rows.

        ``sharded``: the run's state is its shards' to set (:meth:`join_run`, :meth:`finish_shard`).
        """
        check_table_name(table)
        if table.lower() in (RUNS_TABLE, META_TABLE, SHARDS_TABLE):
            raise DatabaseError(f"{table!r} is the ingestor's own bookkeeping table; pick another TABLE_NAME")
        if not (0 < len(run_id) <= 64 and len(category) <= 64):
            raise DatabaseError(f"preparing table {table!r} failed: run id and category are at most 64 characters")
        features = feature_columns(table, schema, extra_columns)
        if not 0 < len(salt) <= 127:
            raise DatabaseError(f"preparing table {table!r} failed: the salt must be 1 to 127 bytes")
        self._dialect.ensure_database(self._connector)
        existing = self.existing_columns(table)
        if existing is not None:
            check_compatible(table, existing, features)
        self._connector.run("creating the bookkeeping tables for", table, self._ledger.create_tables, write=True)
        self._connector.run(
            "recording the run of",
            table,
            lambda conn: self._ledger.start_run(conn, table, run_id, category, salt.hex(), existing is not None,
                                                keep_state=sharded),
            write=True,
            values=True,
        )
        if existing is None:
            self._connector.run("creating table", table, lambda conn: self._tables.create(conn, table, features), write=True)
            existing = self.existing_columns(table) or {}
            check_compatible(table, existing, features)  # another pod may have won the race
        self._tables.remember(table, existing)
        log.info("table %s ready in %s (%d feature columns)", table, self.describe(), len(features))

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        """Insert the batch's rows; rows whose data_id already exists are left untouched."""
        self.send(self.prepare_write(table, batch))

    def prepare_write(self, table: str, batch: pa.RecordBatch) -> PreparedWrite:
        """Check a batch and render it for the database (no database I/O besides the first detection).

        Split from :meth:`send` so that a writer thread can send one batch while the next is
        being rendered; a prepared write that is never sent must be discarded.
        """
        check_table_name(table)
        types = check_batch(table, batch, self._tables.column_types)
        batch = conform_batch(table, batch, types)  # the same stored values on every path (sinks/db/values.py)
        prepared = PreparedWrite(table, list(batch.schema.names))
        if batch.num_rows == 0:
            return prepared
        try:
            self._writer.prepare(prepared, batch, types)
        except BaseException:
            prepared.discard()
            raise
        return prepared

    def send(self, prepared: PreparedWrite) -> None:
        """Write a prepared batch, part by part (each part one transaction); always cleans up."""
        try:
            for part in prepared.parts:
                self._writer.send(prepared.table, prepared.names, part)
        finally:
            prepared.discard()

    def finish_run(self, run_id: str, state: str, *, record_count: int | None = None) -> None:
        """Set the run's final state; a run unknown to the database is ignored."""
        self._ledger.finish_run(run_id, state, record_count=record_count)

    # -- all or nothing: one transaction for a whole load

    def atomic_write_possible(self, table: str) -> bool:
        """Whether a load of ``table`` would be one transaction (read-only; creates nothing).

        SQLite: always (:meth:`begin_stream` opens one transaction). MySQL: where the streamed
        bulk load applies to ``table``, a table not created yet counting as empty; a database
        that does not exist yet answers False.
        """
        if self._dialect.name == "sqlite":
            return True
        possible = getattr(self._writer, "first_load", None)
        if possible is None:
            return False
        try:
            return possible.possible(table, missing_ok=True)
        except DatabaseError:
            return False

    def discard_table(self, table: str) -> bool:
        """Drop ``table`` if it holds no row (a run created it and stopped before committing any); whether it did."""
        check_table_name(table)
        q = self._dialect.quote

        def work(conn: sa.Connection) -> bool:
            if not self._dialect.has_table(conn, table):
                return False
            if conn.exec_driver_sql(f"SELECT 1 FROM {q(table)} LIMIT 1").first() is not None:
                return False
            conn.exec_driver_sql(f"DROP TABLE {q(table)}")
            return True

        dropped = bool(self._connector.run("dropping the empty table", table, work, write=True))
        if dropped:
            self._tables.forget(table)
        return dropped

    # -- the streamed bulk load: one LOAD DATA for a whole first load (sinks/db/bulk/first_load.py)

    def begin_stream(self, table: str) -> bool:
        """Send the coming writes to ``table`` as one streamed LOAD DATA in one transaction.

        Only where it pays and is safe: MySQL-protocol server that is a MariaDB with a
        working InnoDB bulk insert, LOAD DATA LOCAL allowed, and the table empty. The rows
        become visible at :meth:`finish_stream`; :meth:`abort_stream` (or any failure)
        leaves the table as it was. Returns whether the stream is on.

        A stream cannot resume after its connection is lost (the server restarted or went
        away): :meth:`send` or :meth:`finish_stream` then raise :class:`StreamLostError`, a
        DatabaseError. Nothing of the stream is in the table; call :meth:`abort_stream` and
        write every batch again from the first, with or without a new stream (this method
        waits, up to the retry deadline, for the server to answer again).
        """
        return self._writer.begin_stream(table)

    def finish_stream(self) -> None:
        """Commit the streamed load; on any failure nothing of it is in the table."""
        self._writer.finish_stream()

    def abort_stream(self) -> None:
        """Roll back and forget a streamed load that is under way (idempotent)."""
        self._writer.abort_stream()

