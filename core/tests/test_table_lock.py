"""One run per table: the run lock on MariaDB/MySQL (GET_LOCK) and SQLite (flock), for real."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from tracebloc_ingestor import pipeline
from tracebloc_ingestor.sinks.database import Database, DatabaseError
from tracebloc_ingestor.testing.runs import demo_input, run_demo

def ingest(tmp_path, url):
    return run_demo(tmp_path, url, demo_input(tmp_path, ["a,1,x\n", "b,2,y\n", "c,3,x\n"]))


@pytest.fixture(params=["mysql", "sqlite"])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


def test_a_second_run_on_the_same_table_waits_then_gives_up(url):
    first, second = Database(url), Database(url)
    lock = first.lock_table("demo", wait=0)
    with pytest.raises(DatabaseError, match="being ingested by another run"):
        second.lock_table("demo", wait=0.5)
    other = second.lock_table("other", wait=0) if url.startswith("mysql") else None  # MySQL: per table
    lock.release()
    second.lock_table("demo", wait=0).release()
    if other is not None:
        other.release()
    first.close()
    second.close()


def test_run_refused_while_another_run_holds_the_table_keeps_that_runs_rows(tmp_path, url, monkeypatch):
    assert ingest(tmp_path, url).exit_code == 0
    # a live, unfinished run of the same table: its rows would be cleared as abandoned without the lock
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE tracebloc_ingest_runs SET state = 'running'")
    engine.dispose()
    holder = Database(url)
    lock = holder.lock_table("demo", wait=0)
    monkeypatch.setattr(pipeline, "LOCK_WAIT_SECONDS", 0.3)
    report = ingest(tmp_path, url)
    assert report.exit_code == 1 and "being ingested by another run" in report.message
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM demo").scalar() == 3
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM tracebloc_ingest_runs").scalar() == 1
    engine.dispose()
    lock.release()
    holder.close()


def test_lock_of_a_process_that_died_is_free(mysql_url):
    script = (
        "import os, sys\n"
        "from tracebloc_ingestor.sinks.database import Database\n"
        "Database(sys.argv[1]).lock_table('demo', wait=0)\n"
        "os._exit(0)  # killed: no release\n"
    )
    subprocess.run([sys.executable, "-c", script, mysql_url], check=True, timeout=60)
    db = Database(mysql_url)
    db.lock_table("demo", wait=5).release()
    db.close()


def test_lock_works_before_the_database_exists(mysql_url):
    missing = mysql_url.replace("/tbtest_", "/tbtest_missing_", 1)
    assert missing != mysql_url
    db = Database(missing)
    db.lock_table("demo", wait=0).release()
    db.close()
