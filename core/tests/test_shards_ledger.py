"""The shards of a run in a real MariaDB: joining, one salt, exactly one registrar, runs kept apart."""

from __future__ import annotations

import threading
import uuid

import pytest

from tracebloc_ingestor.schema import TableSchema
from tracebloc_ingestor.sinks.database import Database, DatabaseError, TableBusyError

TABLE = "sharded_demo"


def _run_id() -> str:
    return str(uuid.uuid4())


def _join(url: str, run_id: str, index: int, count: int, wait: float = 5.0):
    db = Database(url)
    state, salt, lock = db.join_run(TABLE, run_id=run_id, category="demo", shard=(index, count), wait=wait)
    return db, state, salt, lock


def test_concurrent_shards_agree_on_one_salt(mysql_url):
    run_id = _run_id()
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def shard(index: int) -> None:
        try:
            start.wait()
            results[index] = _join(mysql_url, run_id, index, 4)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=shard, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r[2] for r in results.values()}) == 1  # every shard hashes with the same salt
    assert {r[1] for r in results.values()} == {"validating"}
    db = results[0][0]
    assert db.read_salt(TABLE) == results[0][2]
    assert [row.state for row in db.run_shards(run_id)] == ["validating"] * 4
    for db, _state, _salt, lock in results.values():
        lock.release()
        db.close()


def test_exactly_one_shard_registers_however_they_race(mysql_url):
    for attempt in range(3):
        run_id = _run_id()
        count = 5
        joined = [_join(mysql_url, run_id, i, count) for i in range(count)]
        registrars: list[int] = []
        start = threading.Barrier(count)

        def finish(index: int) -> None:
            db = joined[index][0]
            start.wait()
            if db.finish_shard(run_id, index, count, 10, {"counters": {"processed": 10}}).registrar:
                registrars.append(index)

        threads = [threading.Thread(target=finish, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(registrars) == 1, (attempt, registrars)
        db = joined[0][0]
        assert db.run_state(run_id) == "loaded"
        assert [r.registrar for r in db.run_shards(run_id)].count(True) == 1
        # a shard that comes back (a retried pod) does not register again; the registrar does
        (winner,) = registrars
        other = (winner + 1) % count
        assert not db.finish_shard(run_id, other, count, 10, {}).registrar
        assert db.finish_shard(run_id, winner, count, 10, {}).registrar
        for db, _state, _salt, lock in joined:
            lock.release()
            db.close()


def test_no_shard_registers_before_every_shard_loaded(mysql_url):
    run_id = _run_id()
    joined = [_join(mysql_url, run_id, i, 3) for i in range(3)]
    db = joined[0][0]
    assert not db.finish_shard(run_id, 0, 3, 5, {}).registrar
    assert not db.finish_shard(run_id, 2, 3, 5, {}).registrar
    assert db.run_state(run_id) == "validating"
    assert db.finish_shard(run_id, 1, 3, 5, {}).registrar
    assert db.run_state(run_id) == "loaded"
    for db, _state, _salt, lock in joined:
        lock.release()
        db.close()


def test_one_shard_runs_in_one_process_at_a_time(mysql_url):
    run_id = _run_id()
    db, _state, _salt, lock = _join(mysql_url, run_id, 0, 2)
    with pytest.raises(TableBusyError, match="shard 0 of run .* is running in another process"):
        _join(mysql_url, run_id, 0, 2, wait=0.5)
    lock.release()
    again = _join(mysql_url, run_id, 0, 2, wait=0.5)  # its pod died: the retry takes its place
    again[3].release()
    again[0].close()
    db.close()


def test_a_shard_count_that_differs_is_refused(mysql_url):
    run_id = _run_id()
    db, _state, _salt, lock = _join(mysql_url, run_id, 0, 2)
    with pytest.raises(DatabaseError, match="started with 2 shards and this process says 3"):
        _join(mysql_url, run_id, 1, 3)
    lock.release()
    db.close()


def test_runs_keep_apart_while_a_shard_lives(mysql_url):
    """Another sharded run and a run without shards wait while a shard of a run lives; a dead run blocks nobody."""
    first = _run_id()
    db, _state, _salt, lock = _join(mysql_url, first, 0, 2)
    with pytest.raises(TableBusyError, match=f"being ingested by run {first}"):
        _join(mysql_url, _run_id(), 0, 2, wait=1.0)
    plain = Database(mysql_url)
    with pytest.raises(TableBusyError, match="being ingested by run"):
        plain.lock_table(TABLE, wait=1.0)
    # the first run's shard dies (its lock goes with its connection): the table is free again
    lock.release()
    held = plain.lock_table(TABLE, wait=1.0)
    # ... and while a run without shards holds the table, a shard of any run waits
    with pytest.raises(TableBusyError, match="being ingested by another run"):
        _join(mysql_url, _run_id(), 0, 2, wait=1.0)
    held.release()
    later, state, _salt, later_lock = _join(mysql_url, _run_id(), 1, 2, wait=1.0)
    assert state == "validating"
    later_lock.release()
    for d in (db, plain, later):
        d.close()


def test_a_run_that_failed_or_was_registered_says_so_when_a_shard_joins(mysql_url):
    run_id = _run_id()
    db, _state, _salt, lock = _join(mysql_url, run_id, 0, 2)
    assert db.move_run(run_id, "failed", only_from=("validating",))
    assert not db.move_run(run_id, "failed", only_from=("validating",))  # only the first marks it
    lock.release()
    again, state, _salt, again_lock = _join(mysql_url, run_id, 1, 2)
    assert state == "failed"
    assert [r.state for r in again.run_shards(run_id)] == ["validating"]  # a failed run takes no new shard
    again_lock.release()
    for d in (db, again):
        d.close()


def test_shards_prepare_the_table_without_touching_the_runs_state(mysql_url):
    run_id = _run_id()
    joined = [_join(mysql_url, run_id, i, 2) for i in range(2)]
    db = joined[0][0]
    salt = joined[0][2]
    assert db.move_run(run_id, "loading", only_from=("validating",))
    schema = TableSchema.from_mapping({"x": "INT"})
    for d, *_ in joined:
        d.prepare(TABLE, schema, run_id=run_id, category="demo", salt=salt, sharded=True)
    assert db.run_state(run_id) == "loading"
    assert db.table_exists(TABLE)
    for d, _state, _salt, lock in joined:
        lock.release()
        d.close()
