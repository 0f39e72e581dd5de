"""The database restarts, disappears or freezes under a running load.

Each test runs a private ``mariadbd`` of its own (``testing.mariadbd``) and kills it with
SIGKILL, as a crash or a failover does; the shared server is never touched. Joins have
generous bounds so that a hang fails the test instead of stalling the suite; no test
asserts how fast anything is.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tracebloc_ingestor.api import BaseIngestor, hookimpl
from tracebloc_ingestor.schema import TableSchema
from tracebloc_ingestor.sinks.database import DISABLE_LOAD_DATA_ENV, Database, DatabaseError, StreamLostError
from tracebloc_ingestor.sinks.db.dialects import mysql_socket
from tracebloc_ingestor.testing.mariadbd import PrivateServer, mariadbd_binary
from tracebloc_ingestor.testing.runs import demo_input, run_plugin

SALT = bytes(range(32))
SCHEMA = TableSchema.from_mapping({"n": "BIGINT", "s": "VARCHAR(64)"})
ROWS, BATCHES = 4_000, 30
HANG = 120  # seconds after which a join means that something hangs


@pytest.fixture
def server(tmp_path):
    if mariadbd_binary() is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true and mariadbd is not installed")
        pytest.skip("mariadbd is not installed")
    found = PrivateServer(tmp_path / "db")
    with found:
        yield found


def batch(run_id: str, number: int) -> pa.RecordBatch:
    first = number * ROWS
    return pa.RecordBatch.from_pydict({
        "data_id": pa.array([f"id-{k}" for k in range(first, first + ROWS)]),
        "ingestor_id": pa.array([run_id] * ROWS),
        "n": pa.array(range(first, first + ROWS), pa.int64()),
        "s": pa.array([f"row {k} 😀" for k in range(first, first + ROWS)]),
    })


def scalar(url: str, sql: str):
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5, "read_timeout": 30})
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


def in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = target()
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def wait_for_rows(url: str) -> None:
    """Until the first chunk is committed (so the kill lands in the middle of the load)."""
    for _ in range(HANG * 20):
        if scalar(url, "SELECT COUNT(*) FROM ds"):
            return
        time.sleep(0.05)
    raise AssertionError("no row was ever committed")


@pytest.mark.parametrize("load_data", [None, False], ids=["load_data_chunks", "insert"])
def test_a_chunked_load_survives_a_restart_with_every_row_once(server, load_data, caplog):
    caplog.set_level(logging.INFO, "tracebloc_ingestor")
    db = Database(server.url, retry_deadline=60, load_data=load_data)
    lock = db.lock_table("ds", wait=5)
    db.prepare("ds", SCHEMA, run_id="run-1", category="c", salt=SALT)
    writer, outcome = in_thread(lambda: [db.write("ds", batch("run-1", k)) for k in range(BATCHES)])
    wait_for_rows(server.url)
    server.restart_after(2)
    writer.join(HANG)
    assert not writer.is_alive() and "error" not in outcome, outcome.get("error")
    assert db.write_path == ("load_data" if load_data is None else "insert")
    total = ROWS * BATCHES
    assert scalar(server.url, "SELECT COUNT(*) FROM ds") == total
    assert scalar(server.url, "SELECT COUNT(DISTINCT data_id) FROM ds") == total
    assert scalar(server.url, "SELECT SUM(n) FROM ds") == total * (total - 1) // 2
    assert f"mysql {server.host}/tbfault is unreachable" in caplog.text and "answers again" in caplog.text
    # the restarted server forgot the run lock; the run took it again before writing on
    assert scalar(server.url, f"SELECT IS_USED_LOCK('{lock.name}') IS NOT NULL") == 1
    lock.release()
    db.close()


def test_a_lost_stream_raises_its_own_error_and_a_new_pass_loads_everything(server):
    db = Database(server.url, retry_deadline=60)
    db.prepare("ds", SCHEMA, run_id="run-1", category="c", salt=SALT)
    assert db.begin_stream("ds")
    db.send(db.prepare_write("ds", batch("run-1", 0)))
    server.restart_after(1)
    with pytest.raises(StreamLostError) as caught:
        for k in range(1, BATCHES):
            db.send(db.prepare_write("ds", batch("run-1", k)))
        db.finish_stream()
    message = str(caught.value)
    assert f"mysql {server.host}/tbfault" in message and re.search(r"OperationalError 20(06|13)", message)
    assert "must be written again from the first batch" in message
    db.abort_stream()
    assert db.count_rows("ds") == 0  # waits for the server: nothing of the lost stream is there
    assert db.begin_stream("ds")  # the pass again, from its first batch
    for k in range(BATCHES):
        db.send(db.prepare_write("ds", batch("run-1", k)))
    db.finish_stream()
    assert db.count_rows("ds") == ROWS * BATCHES
    db.close()


class KillAtBatch:
    """A behaviour plugin that kills the server when the write pass reaches one batch."""

    def __init__(self, server: PrivateServer, batch: int, restart_after: float | None) -> None:
        self.server, self.batch, self.restart_after, self.seen = server, batch, restart_after, 0

    @hookimpl
    def tb_load(self, ctx, batch):
        self.seen += 1
        if self.seen == self.batch:
            if self.restart_after is None:
                self.server.kill()
            else:
                self.server.restart_after(self.restart_after)


def ingest(tmp_path, server, backend_double, killer, deadline):
    config = demo_input(tmp_path, [f"r{k},{k % 90},{'yes' if k % 2 else 'no'}\n" for k in range(3_000)])
    class Demo(BaseIngestor):
        category = "demo_classification"

    flags = {
        "config_path": str(config), "database_url": server.url, "output_dir": str(tmp_path / "out"),
        "batch_size": 100, "db_retry_deadline": deadline,
        "api_url": backend_double.url, "backend_token": backend_double.token,
    }
    runner, outcome = in_thread(lambda: run_plugin(Demo(), flags, plugins=[killer]))
    runner.join(deadline + HANG)
    assert not runner.is_alive(), "the run hangs"
    assert "error" not in outcome, outcome.get("error")
    return outcome["value"]


def test_a_database_gone_past_the_deadline_fails_the_run_naming_it(tmp_path, server, backend_double, monkeypatch):
    monkeypatch.setenv(DISABLE_LOAD_DATA_ENV, "1")  # chunks: they are retried until the deadline
    report, out, err = ingest(tmp_path, server, backend_double, KillAtBatch(server, 5, restart_after=None), deadline=3)
    assert report.exit_code == 1 and report.status == "failed"
    assert f"mysql {server.host}/tbfault did not answer for 3 s" in report.message
    assert re.search(r"OperationalError 20(02|03|06|13): ", report.message)
    assert "AttributeError" not in report.message + err
    assert backend_double.failures() == [{"ingestor_id": report.run_id, "reason": "database_error"}]
    assert "📊 INGESTION SUMMARY 📊" in out


def test_a_streamed_run_whose_server_restarts_starts_the_pass_again_and_lands_once(tmp_path, server, backend_double):
    """The issue's case: the streamed first load loses its server; the pass runs again from the first record."""
    report, out, err = ingest(tmp_path, server, backend_double, KillAtBatch(server, 5, restart_after=2), deadline=60)
    assert report.exit_code == 0, report.message
    assert "AttributeError" not in report.message + err
    assert scalar(server.url, "SELECT COUNT(*) FROM demo") == 3_000
    assert scalar(server.url, "SELECT COUNT(DISTINCT data_id) FROM demo") == 3_000
    assert len(backend_double.registrations()) == 1 and backend_double.failures() == []


def test_a_frozen_server_is_given_up_on_by_the_socket_timeouts(server, monkeypatch):
    """A server that accepts connections but never answers (stopped, or a half-open network)."""
    monkeypatch.setattr(mysql_socket, "READ_TIMEOUT", 2)
    monkeypatch.setattr(mysql_socket, "WRITE_TIMEOUT", 2)
    monkeypatch.setattr(mysql_socket, "CONNECT_TIMEOUT", 2)
    db = Database(server.url, retry_deadline=4)
    db.prepare("ds", SCHEMA, run_id="run-1", category="c", salt=SALT)
    server.freeze()
    try:
        writer, outcome = in_thread(lambda: db.write("ds", batch("run-1", 0)))
        writer.join(HANG)
    finally:
        server.thaw()
    assert not writer.is_alive(), "a write to a frozen server hangs"
    assert isinstance(outcome.get("error"), DatabaseError)
    assert re.search(rf"mysql {server.host}/tbfault did not answer for 4 s.*OperationalError 20(13|03)", str(outcome["error"]))
    db.close()
