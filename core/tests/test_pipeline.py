"""The run end to end through run_ingestion, with an inline ingestor on real databases."""

from __future__ import annotations

import io
import json
import sqlite3
import threading

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tracebloc_ingestor import BaseIngestor, hookimpl
from tracebloc_ingestor.loader import new_plugin_manager
from tracebloc_ingestor.runner import run_ingestion
from tracebloc_ingestor.schema import FRAMEWORK_COLUMNS

HEADER = "ref,age,score,city,label\n"
ROWS = [
    "r1,34,0.5,Berlin,cat\n",
    "r2,51,1.75,Köln 🐈,dog\n",
    "r3,,2.0,,cat\n",
]
SCHEMA_YAML = """apiVersion: tracebloc.io/v1
kind: IngestConfig
category: demo_classification
table: {table}
intent: train
csv: data.csv
schema:
  ref: VARCHAR(8)
  age: INT
  score: DOUBLE
  city: VARCHAR(32)
"""


class DemoIngestor(BaseIngestor):
    category = "demo_classification"


def write_input(folder, rows=ROWS, table="demo"):
    (folder / "data.csv").write_text(HEADER + "".join(rows), encoding="utf-8")
    (folder / "ingest.yaml").write_text(SCHEMA_YAML.format(table=table), encoding="utf-8")
    return folder / "ingest.yaml"


def run(tmp_path, url, config, *, extra_plugins=(), stop=None, **flags):
    out, err = io.StringIO(), io.StringIO()
    pm = new_plugin_manager()
    for plugin in extra_plugins:
        pm.register(plugin)
    report = run_ingestion(
        {"config_path": str(config), "database_url": url, "output_dir": str(tmp_path / "out"), **flags},
        {},
        plugins=[DemoIngestor()],
        pm=pm,
        out=out,
        err=err,
        stop=stop,
    )
    return report, out.getvalue(), err.getvalue()


def table_rows(url, table):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT * FROM `{table}` ORDER BY id" if "mysql" in url else f'SELECT * FROM "{table}" ORDER BY id').all()
        cols = [c["name"] for c in sa.inspect(conn).get_columns(table)]
    engine.dispose()
    return cols, [tuple(r) for r in rows]


def has_table(url, table):
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table(table)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "mysql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("mysql_url")


def test_ingest_writes_contract_layout_and_offline_metadata(tmp_path, db_url):
    config = write_input(tmp_path)
    report, out, err = run(tmp_path, db_url, config)
    assert report.exit_code == 0, (out, err)
    cols, rows = table_rows(db_url, "demo")
    assert cols == [*FRAMEWORK_COLUMNS, "ref", "age", "score", "city"]
    assert len(rows) == 3
    by_ref = {r[cols.index("ref")]: r for r in rows}
    assert by_ref["r2"][cols.index("city")] == "Köln 🐈"
    assert by_ref["r3"][cols.index("age")] is None and by_ref["r3"][cols.index("city")] is None
    assert {r[cols.index("label")] for r in rows} == {"cat", "dog"}
    assert {r[cols.index("ingestor_id")] for r in rows} == {report.run_id}
    assert {r[cols.index("data_intent")] for r in rows} == {"train"}
    assert "📊 INGESTION SUMMARY 📊" in out and f"Ingestor ID: {report.run_id}" in out
    assert "📈 Total Records Found: 3" in out and "🚀 Sent to API: 3" in out
    assert out.rstrip().endswith("═" * 60)
    document = json.loads((tmp_path / "out" / "demo.registration.json").read_text())
    payload = document["payload"]
    assert payload["labels"] == {"cat": 2, "dog": 1}
    assert payload["record_count"] == 3 and payload["ingestor_id"] == report.run_id
    assert payload["schema"]["age"] == "INT" and payload["schema"]["data_id"].startswith("VARCHAR")
    # No cell value of a feature leaves in the payload.
    text = json.dumps(payload, ensure_ascii=False)
    for value in ("Berlin", "Köln", "r1", "r2", "1.75"):
        assert value not in text


def test_rerun_changes_nothing(tmp_path, db_url):
    config = write_input(tmp_path)
    first, _, _ = run(tmp_path, db_url, config)
    before = table_rows(db_url, "demo")
    second, out, _ = run(tmp_path, db_url, config)
    assert first.exit_code == second.exit_code == 0
    assert table_rows(db_url, "demo") == before
    assert second.counters.inserted == 3 and second.counters.new_rows == 0 and second.counters.already_present == 3


def test_identical_rows_are_all_kept_with_distinct_ids(tmp_path, sqlite_url):
    config = write_input(tmp_path, rows=[ROWS[0], ROWS[0], ROWS[0], ROWS[1]])
    report, out, _ = run(tmp_path, sqlite_url, config)
    assert report.exit_code == 0
    cols, rows = table_rows(sqlite_url, "demo")
    assert len(rows) == 4 and len({r[cols.index("data_id")] for r in rows}) == 4
    assert report.counters.repeats == 2
    assert "repeating an earlier record's content: 2" in out
    again, _, _ = run(tmp_path, sqlite_url, config)
    assert again.exit_code == 0 and table_rows(sqlite_url, "demo") == (cols, rows)


def test_bad_rows_fail_before_anything_is_written(tmp_path, db_url):
    secret = "SECRET-VALUE-77"
    config = write_input(tmp_path, rows=[ROWS[0], f"r9,{secret},0.1,x,cat\n", "r10,5,zz,x,\n", "waytoolongref,1,1,x,dog\n"])
    report, out, err = run(tmp_path, db_url, config)
    assert report.exit_code == 1 and report.status == "invalid"
    assert not has_table(db_url, "demo")
    found = {(i.row, i.column, i.rule) for i in report.issues}
    assert {(2, "age", "integer"), (3, "score", "number"), (3, "label", "required"), (4, "ref", "max_length")} <= found
    assert secret not in out + err
    assert "data.csv, row 2, column 'age': [integer]" in err
    rejects = (tmp_path / "out" / "demo.rejects.jsonl").read_text(encoding="utf-8")
    assert secret in rejects  # values go only to the local rejects report


def test_config_error_exits_2_and_touches_nothing(tmp_path):
    config = write_input(tmp_path)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    report, out, err = run(tmp_path, url, config, batch_size="lots", intent="later")
    assert report.exit_code == 2
    assert "--batch-size" in err and "--intent" in err
    assert not (tmp_path / "db.sqlite").exists() and not (tmp_path / "out").exists()


def test_validate_only_writes_nothing(tmp_path):
    config = write_input(tmp_path)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    report, out, _ = run(tmp_path, url, config, validate_only=True)
    assert report.exit_code == 0 and report.status == "validated"
    assert not (tmp_path / "db.sqlite").exists()


def test_registered_table_refuses_a_different_input(tmp_path, sqlite_url):
    config = write_input(tmp_path)
    assert run(tmp_path, sqlite_url, config)[0].exit_code == 0
    before = table_rows(sqlite_url, "demo")
    write_input(tmp_path, rows=[ROWS[0], "r7,1,1,x,dog\n"])
    report, out, _ = run(tmp_path, sqlite_url, config)
    assert report.exit_code == 1 and "already holds a registered dataset" in report.message
    assert table_rows(sqlite_url, "demo") == before


def test_sigterm_stops_between_batches_with_143(tmp_path, sqlite_url):
    stop = threading.Event()

    class StopAfterFirstBatch:
        @hookimpl
        def tb_validate(self, ctx, batch):
            stop.set()

    config = write_input(tmp_path)
    report, out, _ = run(tmp_path, sqlite_url, config, extra_plugins=[StopAfterFirstBatch()], stop=stop, batch_size="1")
    assert report.exit_code == 143 and report.status == "terminated"
    assert not has_table(sqlite_url, "demo")
    failure = json.loads((tmp_path / "out" / "demo.registration.failure.json").read_text())
    assert failure["payload"] == {"ingestor_id": report.run_id, "reason": "terminated"}


def test_per_record_transform_and_batches(tmp_path, sqlite_url):
    class Upper(DemoIngestor):
        def transform(self, record):
            record["city"] = (record["city"] or "").upper() or None
            return record

    config = write_input(tmp_path)
    out = io.StringIO()
    report = run_ingestion(
        {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path / "out"), "batch_size": "2"},
        {},
        plugins=[Upper()],
        pm=new_plugin_manager(),
        out=out,
        err=io.StringIO(),
    )
    assert report.exit_code == 0
    cols, rows = table_rows(sqlite_url, "demo")
    assert sorted(r[cols.index("city")] or "" for r in rows) == ["", "BERLIN", "KÖLN 🐈"]


def test_inferred_schema_is_printed_for_pinning(tmp_path, sqlite_url):
    (tmp_path / "data.csv").write_text(HEADER + "".join(ROWS), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    report = run_ingestion(
        {"database_url": sqlite_url, "output_dir": str(tmp_path / "out"), "category": "demo_classification"},
        {"LABEL_FILE": "data.csv", "TABLE_NAME": "inferred", "SRC_PATH": str(tmp_path)},
        plugins=[DemoIngestor()],
        pm=new_plugin_manager(),
        out=out,
        err=err,
    )
    assert report.exit_code == 0, err.getvalue()
    assert report.schema == {"ref": "VARCHAR(255)", "age": "BIGINT", "score": "DOUBLE", "city": "VARCHAR(255)"}
    assert "schema:\n  ref: VARCHAR(255)\n  age: BIGINT" in err.getvalue()


def test_transform_chain_order_and_previous_output(tmp_path, sqlite_url):
    seen = []

    class First:
        @hookimpl(tryfirst=True)
        def tb_transform(self, batch):
            seen.append(("first", "data_id" in batch.schema.names))

    class Middle:
        @hookimpl
        def tb_transform(self, ctx, batch):
            seen.append(("middle", "label" in batch.schema.names))
            return batch.append_column("_tb_marker", pa.array([1] * batch.num_rows))

    class Last:
        @hookimpl(trylast=True)
        def tb_transform(self, batch):
            seen.append(("last", "_tb_marker" in batch.schema.names))

    config = write_input(tmp_path)
    report, _, _ = run(tmp_path, sqlite_url, config, extra_plugins=[First(), Middle(), Last()])
    assert report.exit_code == 0
    # The host's record identity runs before every other tryfirst; its data_id is visible.
    assert seen[0] == ("first", True)
    assert ("middle", True) in seen and ("last", True) in seen
    assert [s[0] for s in seen[:3]] == ["first", "middle", "last"]


def test_misspelled_hook_is_refused_at_start_with_2(tmp_path, sqlite_url):
    class Typo:
        @hookimpl
        def tb_validat(self, ctx):
            return None

    config = write_input(tmp_path)
    report, out, err = run(tmp_path, sqlite_url, config, extra_plugins=[Typo()])
    assert report.exit_code == 2
    assert "tb_validat" in err and "tb_validate" in err
    assert not has_table(sqlite_url, "demo")
