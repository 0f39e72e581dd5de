"""The shards of a scaled-out run in the run ledger: one row per shard, a seat per live shard.

``tracebloc_ingest_shards`` holds a row per (run, shard): its state (``validating``,
``validated``, ``invalid``, ``loading``, ``loaded``, ``failed``), its record count, the
mergeable facts of its validation and the statistics and counters of its load (JSON), a
heartbeat, and whether it registers the run. The run itself keeps its row in
``tracebloc_ingest_runs`` (``validating``, ``loading``, ``loaded``, ``registered``,
``failed``, ``abandoned``).

Runs keep apart as before, and the shards of one run work together:

* each live shard holds a named lock of its own (``GET_LOCK`` on a connection of its own,
  released by the server when the pod dies): it tells a live run from a dead one, and keeps
  two processes from running one shard at once;
* a shard joins its run under the table's run lock (the lock a run without shards holds
  for its whole duration), held only for the joining: it waits while another run of the
  table has a live shard, and a run without shards waits while a sharded run is alive;
* the last shard to finish loading is found in one transaction that locks the run's row,
  so exactly one shard sees "every shard loaded" and registers; should it fail, it
  registers again when its pod is retried.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Callable

import attrs
import sqlalchemy as sa

from . import LOGGER
from .errors import DatabaseError, Missing, TableBusyError
from .ledger import RUNS_TABLE, RunLedger
from .table_lock import TableBusy, TableLock

if TYPE_CHECKING:
    from .engine import Connector

__all__ = ["SHARDS_TABLE", "RunSeat", "ShardLedger", "ShardRow", "Finish"]

log = logging.getLogger(LOGGER)

SHARDS_TABLE = "tracebloc_ingest_shards"
#: shard states from which the run may go on to write
PASSED = ("validated", "loading", "loaded")
#: run states of a run that may still write rows
ACTIVE_RUN = ("validating", "loading", "loaded")
_POLL_SECONDS = 1.0


@attrs.frozen
class ShardRow:
    index: int
    count: int
    state: str
    records: int | None
    errors: int | None
    facts: dict | None
    data: dict | None
    idle_seconds: float | None  # since the shard's last heartbeat
    registrar: bool = False


@attrs.frozen
class Finish:
    """What finishing a shard's load decided: whether it registers the run, and the run's state."""

    registrar: bool
    run_state: str
    loaded: int  # shards loaded so far


class ShardLedger:
    """The SQL of the shards table; every method is one transaction through the connector."""

    def __init__(self, connector: "Connector") -> None:
        self._connector = connector
        self._dialect = connector.dialect

    def create_table(self, conn: sa.Connection) -> None:
        q = self._dialect.quote
        columns = [
            f"{q('ingestor_id')} VARCHAR(64) NOT NULL",
            f"{q('shard')} INT NOT NULL",
            f"{q('shards')} INT NOT NULL",
            f"{q('table_name')} VARCHAR(64) NOT NULL",
            f"{q('state')} VARCHAR(16) NOT NULL",
            f"{q('record_count')} BIGINT NULL",
            f"{q('error_count')} BIGINT NULL",
            f"{q('registrar')} INT NOT NULL DEFAULT 0",
            f"{q('facts')} MEDIUMTEXT NULL",
            f"{q('statistics')} MEDIUMTEXT NULL",
            f"{q('heartbeat')} DATETIME NOT NULL",
        ]
        self._dialect.create_table(
            conn, SHARDS_TABLE, columns, [f"PRIMARY KEY ({q('ingestor_id')}, {q('shard')})"], index="table_name"
        )

    # -- liveness

    def live_runs(self, conn: sa.Connection, table: str, lock_name: Callable[[str, int], str], *, other_than: str | None) -> list[str]:
        """Runs of ``table`` (other than ``other_than``) that may still write and have a live shard."""
        q, ph = self._dialect.quote, self._dialect.placeholder
        if not self._dialect.has_table(conn, SHARDS_TABLE) or not self._dialect.has_table(conn, RUNS_TABLE):
            return []
        rows = conn.exec_driver_sql(
            f"SELECT s.ingestor_id, s.shard FROM {q(SHARDS_TABLE)} s JOIN {q(RUNS_TABLE)} r "
            f"ON r.ingestor_id = s.ingestor_id WHERE s.table_name = {ph} AND r.state IN ('validating', 'loading', 'loaded')",
            (table,),
        ).all()
        live: list[str] = []
        for run_id, index in rows:
            if run_id == other_than or run_id in live:
                continue
            held = conn.exec_driver_sql("SELECT IS_USED_LOCK(%s)", (lock_name(run_id, int(index)),)).scalar()
            if held is not None:
                live.append(run_id)
        return live

    # -- joining

    def join(self, conn: sa.Connection, table: str, run_id: str, category: str, index: int, count: int, salt_hex: str) -> tuple[str, bytes]:
        """Record the run (if new) and this shard's row; (the run's state, the table's salt)."""
        q, ph, upd = self._dialect.quote, self._dialect.placeholder, self._dialect.for_update
        salt = RunLedger(self._connector).claim_salt(conn, table, salt_hex)
        conn.exec_driver_sql(
            f"INSERT INTO {q(RUNS_TABLE)} (ingestor_id, table_name, task, state, started_at) "
            f"VALUES ({ph}, {ph}, {ph}, 'validating', CURRENT_TIMESTAMP)" + self._dialect.keep_existing("ingestor_id"),
            (run_id, table, category),
        )
        owner, state = conn.exec_driver_sql(
            f"SELECT table_name, state FROM {q(RUNS_TABLE)} WHERE ingestor_id = {ph}{upd}", (run_id,)
        ).one()
        if owner != table:
            raise DatabaseError(f"run {run_id} is a run of another table; give each dataset's Job its own run id")
        others = conn.exec_driver_sql(
            f"SELECT DISTINCT shards FROM {q(SHARDS_TABLE)} WHERE ingestor_id = {ph} AND shards <> {ph}", (run_id, count)
        ).scalars().all()
        if others:
            raise DatabaseError(
                f"run {run_id} was started with {others[0]} shards and this process says {count}: every pod of one run "
                "must have the same SHARDS (the Job's completions)"
            )
        if state in ACTIVE_RUN:
            conn.exec_driver_sql(
                f"INSERT INTO {q(SHARDS_TABLE)} (ingestor_id, shard, shards, table_name, state, heartbeat) "
                f"VALUES ({ph}, {ph}, {ph}, {ph}, 'validating', CURRENT_TIMESTAMP)" + self._dialect.keep_existing("shards"),
                (run_id, index, count, table),
            )
            conn.exec_driver_sql(
                f"UPDATE {q(SHARDS_TABLE)} SET state = 'validating', error_count = NULL, heartbeat = CURRENT_TIMESTAMP "
                f"WHERE ingestor_id = {ph} AND shard = {ph}",
                (run_id, index),
            )
        return state, bytes.fromhex(salt)

    # -- states

    def set_state(self, run_id: str, index: int, state: str, *, records: int | None = None, errors: int | None = None,
                  facts: dict | None = None) -> None:
        q, ph = self._dialect.quote, self._dialect.placeholder
        self._run(
            "recording the shard's state in",
            lambda conn: conn.exec_driver_sql(
                f"UPDATE {q(SHARDS_TABLE)} SET state = {ph}, record_count = COALESCE({ph}, record_count), "
                f"error_count = {ph}, facts = COALESCE({ph}, facts), heartbeat = CURRENT_TIMESTAMP "
                f"WHERE ingestor_id = {ph} AND shard = {ph}",
                (state, records, errors, None if facts is None else json.dumps(facts), run_id, index),
            ),
        )

    def heartbeat(self, run_id: str, index: int) -> None:
        q, ph = self._dialect.quote, self._dialect.placeholder
        self._run(
            "recording the shard's heartbeat in",
            lambda conn: conn.exec_driver_sql(
                f"UPDATE {q(SHARDS_TABLE)} SET heartbeat = CURRENT_TIMESTAMP WHERE ingestor_id = {ph} AND shard = {ph}",
                (run_id, index),
            ),
        )

    def run_state(self, run_id: str) -> str | None:
        q, ph = self._dialect.quote, self._dialect.placeholder
        return self._run(
            "reading the state of a run in",
            lambda conn: conn.exec_driver_sql(f"SELECT state FROM {q(RUNS_TABLE)} WHERE ingestor_id = {ph}", (run_id,)).scalar(),
        )

    def set_run_state(self, run_id: str, state: str, *, only_from: tuple[str, ...]) -> bool:
        """Move the run to ``state`` if it is in one of ``only_from``; whether this call moved it."""
        q, ph = self._dialect.quote, self._dialect.placeholder
        marks = ", ".join([ph] * len(only_from))

        def work(conn: sa.Connection) -> bool:
            done = conn.exec_driver_sql(
                f"UPDATE {q(RUNS_TABLE)} SET state = {ph}, "
                f"finished_at = CASE WHEN {ph} IN ('failed', 'registered', 'loaded') THEN CURRENT_TIMESTAMP ELSE NULL END "
                f"WHERE ingestor_id = {ph} AND state IN ({marks})",
                (state, state, run_id, *only_from),
            ).rowcount
            return bool(done)

        return bool(self._run("recording the run's state in", work))

    def shards(self, run_id: str) -> list[ShardRow]:
        """Every shard row of the run, by index."""
        q, ph = self._dialect.quote, self._dialect.placeholder

        def work(conn: sa.Connection) -> list[ShardRow]:
            rows = conn.exec_driver_sql(
                f"SELECT shard, shards, state, record_count, error_count, facts, statistics, "
                f"TIMESTAMPDIFF(SECOND, heartbeat, CURRENT_TIMESTAMP), registrar FROM {q(SHARDS_TABLE)} "
                f"WHERE ingestor_id = {ph} ORDER BY shard",
                (run_id,),
            ).all()
            return [
                ShardRow(int(r[0]), int(r[1]), str(r[2]), _int(r[3]), _int(r[4]), _json(r[5]), _json(r[6]),
                         None if r[7] is None else float(r[7]), bool(r[8]))
                for r in rows
            ]

        return self._run("reading the shards of a run in", work)

    def finish(self, run_id: str, index: int, count: int, records: int, data: dict) -> Finish:
        """Record this shard's load and decide, with the run's row locked, whether it registers the run.

        The shard that finds every shard loaded while the run is still loading moves the run
        to ``loaded`` and becomes its registrar; a registrar that comes back (a retried pod)
        registers again. Everybody else does not.
        """
        q, ph, upd = self._dialect.quote, self._dialect.placeholder, self._dialect.for_update

        def work(conn: sa.Connection) -> Finish:
            state = conn.exec_driver_sql(f"SELECT state FROM {q(RUNS_TABLE)} WHERE ingestor_id = {ph}{upd}", (run_id,)).scalar()
            if state == "abandoned":
                raise DatabaseError(f"finishing run {run_id} failed: a later run found it unfinished and removed its rows")
            conn.exec_driver_sql(
                f"UPDATE {q(SHARDS_TABLE)} SET state = 'loaded', record_count = {ph}, statistics = {ph}, "
                f"error_count = 0, heartbeat = CURRENT_TIMESTAMP WHERE ingestor_id = {ph} AND shard = {ph}",
                (records, json.dumps(data), run_id, index),
            )
            rows = conn.exec_driver_sql(
                f"SELECT shard, state, registrar FROM {q(SHARDS_TABLE)} WHERE ingestor_id = {ph}{upd}", (run_id,)
            ).all()
            loaded = sum(1 for r in rows if r[1] == "loaded")
            mine = next((bool(r[2]) for r in rows if int(r[0]) == index), False)
            chosen = any(bool(r[2]) for r in rows)
            if state in ("validating", "loading") and loaded == count and (mine or not chosen):
                conn.exec_driver_sql(
                    f"UPDATE {q(RUNS_TABLE)} SET state = 'loaded', finished_at = CURRENT_TIMESTAMP, record_count = "
                    f"(SELECT SUM(record_count) FROM {q(SHARDS_TABLE)} WHERE ingestor_id = {ph}) WHERE ingestor_id = {ph}",
                    (run_id, run_id),
                )
                conn.exec_driver_sql(
                    f"UPDATE {q(SHARDS_TABLE)} SET registrar = 1 WHERE ingestor_id = {ph} AND shard = {ph}", (run_id, index)
                )
                return Finish(True, "loaded", loaded)
            # a registrar that comes back (its registration failed, its pod was retried) registers again
            return Finish(state == "loaded" and mine, state, loaded)

        return self._run("finishing the shard in", work)

    def _run(self, op: str, work: Callable[[sa.Connection], Any]) -> Any:
        try:
            return self._connector.run(op, SHARDS_TABLE, work, write=True)
        except Missing:  # pragma: no cover - the run joined, so the database exists
            raise DatabaseError(f"{op} {SHARDS_TABLE} failed: the database does not exist") from None


class RunSeat:
    """One shard's place in its run: the shard's own lock, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, lock: TableLock) -> None:
        self.lock = lock

    def release(self) -> None:
        self.lock.release()


def wait_for_table(connector: "Connector", gate: TableLock, live: Callable[[], list[str]], *, wait: float, table: str,
                   what: str) -> None:
    """Hold ``gate`` (the table's run lock) with no other live run on the table, waiting up to ``wait`` seconds.

    Raises TableBusyError naming ``what`` when that does not happen in time; the gate is
    held on return (release it).
    """
    deadline = time.monotonic() + wait
    while True:
        left = max(0.0, deadline - time.monotonic())
        try:
            connector.call("locking", table, lambda: gate.acquire(left))
        except TableBusy:
            raise TableBusyError(
                f"table {table!r} is being ingested by another run (waited {wait:g} s); nothing was done, "
                "run again when that run has finished"
            ) from None
        try:
            running = live()
        except BaseException:
            gate.release()
            raise
        if not running:
            return
        gate.release()
        if time.monotonic() >= deadline:
            raise TableBusyError(
                f"table {table!r} is being ingested by run {running[0]} ({what}; waited {wait:g} s); nothing was done, "
                "run again when that run has finished"
            )
        time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _json(value: Any) -> dict | None:
    if value is None:
        return None
    with suppress(ValueError):
        data = json.loads(value)
        return data if isinstance(data, dict) else None
    return None
