"""The run ledger: one row per run (``tracebloc_ingest_runs``) and per-table facts such as the salt
(``tracebloc_ingest_meta``). It is how a run finds and removes the rows of a killed earlier run,
and how a table keeps its data_id salt and registered owner across runs.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import ID_CHUNK, LOGGER
from .errors import DatabaseError, Missing

if TYPE_CHECKING:
    from .engine import Connector

__all__ = ["FINISH_STATES", "META_TABLE", "RUNS_TABLE", "SALT_KEY", "RunLedger"]

log = logging.getLogger(LOGGER)

RUNS_TABLE = "tracebloc_ingest_runs"
META_TABLE = "tracebloc_ingest_meta"
SALT_KEY = "data_id_salt"
FINISH_STATES = frozenset({"loaded", "registered", "failed"})


class RunLedger:
    """Reads and writes of the two bookkeeping tables; reads never create them."""

    def __init__(self, connector: "Connector") -> None:
        self._connector = connector
        self._dialect = connector.dialect

    # -- reads

    def read_salt(self, table: str) -> bytes | None:
        q, ph = self._dialect.quote, self._dialect.placeholder

        def work(conn: sa.Connection) -> bytes | None:
            if not self._dialect.has_table(conn, META_TABLE):
                return None
            value = conn.exec_driver_sql(
                f"SELECT meta_value FROM {q(META_TABLE)} WHERE table_name = {ph} AND meta_key = {ph}",
                (table, SALT_KEY),
            ).scalar()
            return bytes.fromhex(value) if value else None

        try:
            return self._connector.run("reading the salt of", table, work, values=True)
        except Missing:
            return None

    def registered_owner(self, table: str) -> str | None:
        """Run id of the latest registered run of ``table``, if any."""
        q, ph = self._dialect.quote, self._dialect.placeholder

        def work(conn: sa.Connection) -> str | None:
            if not self._dialect.has_table(conn, RUNS_TABLE):
                return None
            return conn.exec_driver_sql(
                f"SELECT ingestor_id FROM {q(RUNS_TABLE)} WHERE table_name = {ph} "
                "AND state = 'registered' ORDER BY finished_at DESC, started_at DESC LIMIT 1",
                (table,),
            ).scalar()

        try:
            return self._connector.run("reading the runs of", table, work)
        except Missing:
            return None

    def loaded_run(self, table: str) -> tuple[str, int | None] | None:
        """(run id, record count) of the latest run of ``table`` that committed its rows but was not registered."""
        q, ph = self._dialect.quote, self._dialect.placeholder

        def work(conn: sa.Connection) -> tuple[str, int | None] | None:
            if not self._dialect.has_table(conn, RUNS_TABLE):
                return None
            row = conn.exec_driver_sql(
                f"SELECT ingestor_id, record_count FROM {q(RUNS_TABLE)} WHERE table_name = {ph} "
                "AND state = 'loaded' ORDER BY finished_at DESC, started_at DESC LIMIT 1",
                (table,),
            ).first()
            return (row[0], None if row[1] is None else int(row[1])) if row else None

        try:
            return self._connector.run("reading the runs of", table, work)
        except Missing:
            return None

    def run_state(self, run_id: str) -> str | None:
        try:
            return self._connector.run("reading the state of a run in", RUNS_TABLE, lambda conn: self._state(conn, run_id))
        except Missing:
            return None

    def _state(self, conn: sa.Connection, run_id: str, *, lock: bool = False) -> str | None:
        if not self._dialect.has_table(conn, RUNS_TABLE):
            return None
        sql = f"SELECT state FROM {self._dialect.quote(RUNS_TABLE)} WHERE ingestor_id = {self._dialect.placeholder}"
        if lock:
            sql += self._dialect.for_update
        return conn.exec_driver_sql(sql, (run_id,)).scalar()

    # -- writes

    def create_tables(self, conn: sa.Connection) -> None:
        dialect = self._dialect
        q = dialect.quote
        runs = [
            f"{q('ingestor_id')} VARCHAR(64) NOT NULL PRIMARY KEY",
            f"{q('table_name')} VARCHAR(64) NOT NULL",
            f"{q('task')} VARCHAR(64) NULL",
            f"{q('state')} VARCHAR(16) NOT NULL",
            f"{q('started_at')} DATETIME NOT NULL",
            f"{q('finished_at')} DATETIME NULL",
            f"{q('record_count')} BIGINT NULL",
        ]
        dialect.create_table(conn, RUNS_TABLE, runs, index="table_name")
        meta = [
            f"{q('table_name')} VARCHAR(64) NOT NULL",
            f"{q('meta_key')} VARCHAR(64) NOT NULL",
            f"{q('meta_value')} VARCHAR(255) NULL",
        ]
        dialect.create_table(conn, META_TABLE, meta, [f"PRIMARY KEY ({q('table_name')}, {q('meta_key')})"])

    def claim_salt(self, conn: sa.Connection, table: str, salt_hex: str) -> str:
        """Give ``table`` this salt unless it has one; the table's salt (hex) either way."""
        q, ph = self._dialect.quote, self._dialect.placeholder
        conn.exec_driver_sql(
            f"INSERT INTO {q(META_TABLE)} (table_name, meta_key, meta_value) VALUES ({ph}, {ph}, {ph})"
            + self._dialect.keep_existing("meta_key"),
            (table, SALT_KEY, salt_hex),
        )
        return conn.exec_driver_sql(
            f"SELECT meta_value FROM {q(META_TABLE)} WHERE table_name = {ph} AND meta_key = {ph}", (table, SALT_KEY)
        ).scalar()

    def start_run(
        self, conn: sa.Connection, table: str, run_id: str, category: str, salt_hex: str, table_exists: bool,
        *, keep_state: bool = False,
    ) -> None:
        """Record the run (keeping a table's first salt) and abandon earlier unfinished runs of the table.

        ``keep_state``: the run's state is another's to set (the shards of a scaled-out run).
        """
        q, ph = self._dialect.quote, self._dialect.placeholder
        stored = self.claim_salt(conn, table, salt_hex)
        if stored != salt_hex:
            log.warning("table %s already has a data_id salt; the stored salt is kept, not the one given", table)
        conn.exec_driver_sql(
            f"INSERT INTO {q(RUNS_TABLE)} (ingestor_id, table_name, task, state, started_at) "
            f"VALUES ({ph}, {ph}, {ph}, 'loading', CURRENT_TIMESTAMP)" + self._dialect.keep_existing("ingestor_id"),
            (run_id, table, category),
        )
        owner_table = conn.exec_driver_sql(
            f"SELECT table_name FROM {q(RUNS_TABLE)} WHERE ingestor_id = {ph}", (run_id,)
        ).scalar()
        if owner_table != table:
            raise DatabaseError(f"preparing table {table!r} failed: run {run_id} belongs to another table")
        if not keep_state:
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
        for start in range(0, len(stale), ID_CHUNK):
            chunk = tuple(stale[start : start + ID_CHUNK])
            marks = ", ".join([ph] * len(chunk))
            if table_exists:
                deleted = conn.exec_driver_sql(f"DELETE FROM {q(table)} WHERE ingestor_id IN ({marks})", chunk).rowcount
                log.info("removed %d rows of %d unfinished earlier run(s) of table %s", deleted, len(chunk), table)
            conn.exec_driver_sql(
                f"UPDATE {q(RUNS_TABLE)} SET state = 'abandoned', "
                f"finished_at = COALESCE(finished_at, CURRENT_TIMESTAMP) WHERE ingestor_id IN ({marks})",
                chunk,
            )

    def finish_run(self, run_id: str, state: str, *, record_count: int | None = None) -> None:
        """Set the run's final state; a run unknown to the database is ignored."""
        if state not in FINISH_STATES:
            raise ValueError(f"state must be one of {sorted(FINISH_STATES)}")
        q, ph = self._dialect.quote, self._dialect.placeholder

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
                f"UPDATE {q(RUNS_TABLE)} SET state = {ph}, finished_at = CURRENT_TIMESTAMP, "
                f"record_count = COALESCE({ph}, record_count) WHERE ingestor_id = {ph}",
                (state, record_count, run_id),
            )

        with suppress(Missing):
            self._connector.run("finishing a run in", RUNS_TABLE, work)
