"""One pass where the rows go into one transaction, and what stays invisible when a run does not finish.

Every write path: SQLite (one transaction, one pass), a first load into an empty MariaDB
table (streamed LOAD DATA, one pass), MariaDB INSERTs (two passes: chunks commit as they
go) and an inferred schema (two passes: the schema needs the whole input). Files are
staged while checked and published at the end. Real databases, real files, real
processes for kill -9.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tracebloc_ingestor import BaseIngestor, FileCategory
from tracebloc_ingestor.files.store import STAGING_PREFIX
from tracebloc_ingestor.loader import new_plugin_manager
from tracebloc_ingestor.pipeline import Pipeline
from tracebloc_ingestor.settings import load_settings
from tracebloc_ingestor.sinks.database import Database, StreamLost
from tracebloc_ingestor.sinks.db.bulk.load_stream import bulk_load_capable
from tracebloc_ingestor.sinks.metadata_file import MetadataFile
from tracebloc_ingestor.testing.runs import StopAfterBatches, has_table, run_plugin, table_rows

ROWS = 12_000
BATCH = 1_000
BAD_ROW = 11_990  # in the last batch: found long after the first rows were written


class Demo(BaseIngestor):
    category = "demo_classification"


class Docs(FileCategory):
    """A file-bearing category with the core's defaults: files under docs/, size only."""

    category = "doc_classification"
    folder_option = "docs"
    extensions = (".txt",)
    max_batch_rows = 100


def write_table(folder: Path, rows: int = ROWS, *, bad_row: int | None = None, schema: bool = True) -> Path:
    lines = ["ref,age,label"]
    for k in range(1, rows + 1):
        label = "" if k == bad_row else ("cat" if k % 3 else "dog")  # a missing label: bad under any schema
        lines.append(f"r{k},{k % 90},{label}")
    (folder / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = ["apiVersion: tracebloc.io/v1", "kind: IngestConfig", "category: demo_classification",
              "table: demo", "intent: train", "csv: data.csv"]
    if schema:
        config += ["schema:", "  ref: VARCHAR(8)", "  age: INT"]
    (folder / "ingest.yaml").write_text("\n".join(config) + "\n", encoding="utf-8")
    return folder / "ingest.yaml"


def write_docs(folder: Path, count: int, *, missing: int | None = None) -> Path:
    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    lines = ["filename,label"]
    for k in range(1, count + 1):
        if k != missing:
            (docs / f"d{k:04d}.txt").write_text(f"document {k}\n" * 3, encoding="utf-8")
        lines.append(f"d{k:04d}.txt,{'a' if k % 2 else 'b'}")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "manifest.csv"


def table_flags(tmp_path: Path, url: str, config: Path) -> dict:
    return {"config_path": str(config), "database_url": url, "output_dir": str(tmp_path / "out"), "batch_size": BATCH}


def doc_flags(tmp_path: Path, url: str) -> dict:
    return {
        "database_url": url, "table": "docs", "label_file": str(tmp_path / "manifest.csv"),
        "src_path": str(tmp_path), "storage_path": str(tmp_path / "shared"), "output_dir": str(tmp_path / "out"),
    }


def row_count(url: str, table: str) -> int | None:
    rows = table_rows(url, table, "COUNT(*)")
    return None if rows is None else rows[0][0]


@pytest.fixture(params=["sqlite", "mariadb_stream", "mariadb_insert", "sqlite_inferred"])
def path(request, tmp_path, monkeypatch):
    """(database URL, whether the schema is declared, passes expected) for each write path."""
    if request.param.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'ingest.sqlite'}", request.param == "sqlite", 1 if request.param == "sqlite" else 2
    url = request.getfixturevalue("mysql_url")
    if request.param == "mariadb_stream":
        (version,) = sa.create_engine(url).connect().exec_driver_sql("SELECT VERSION()").one()
        if not bulk_load_capable(version):
            pytest.skip(f"{version} has no streamed first load")
        return url, True, 1
    monkeypatch.setenv("TRACEBLOC_DISABLE_LOAD_DATA", "1")
    return url, True, 2


def test_a_bad_record_late_in_a_large_file_leaves_no_rows_then_the_fixed_file_loads(tmp_path, path):
    url, declared, passes = path
    config = write_table(tmp_path, bad_row=BAD_ROW, schema=declared)
    report, _out, _err = run_plugin(Demo(), table_flags(tmp_path, url, config))
    assert report.exit_code == 1 and report.status == "invalid"
    assert [(i.row, i.column, i.rule) for i in report.issues] == [(BAD_ROW, "label", "required")]
    assert not has_table(url, "demo")

    config = write_table(tmp_path, schema=declared)
    report, out, _err = run_plugin(Demo(), table_flags(tmp_path, url, config))
    assert report.exit_code == 0, out
    assert report.passes == passes and report.counters.new_rows == ROWS
    assert row_count(url, "demo") == ROWS
    assert f"passes over the input: {passes}" in out


def test_an_inferred_schema_takes_two_passes_and_a_declared_one_one(tmp_path, sqlite_url):
    config = write_table(tmp_path, 3_000, schema=False)
    report, *_ = run_plugin(Demo(), table_flags(tmp_path, sqlite_url, config))
    assert report.exit_code == 0 and report.passes == 2 and report.schema_inferred
    second = tmp_path / "declared"
    second.mkdir()
    config = write_table(second, 3_000)
    report, *_ = run_plugin(Demo(), table_flags(second, f"sqlite:///{second / 'db.sqlite'}", config))
    assert report.exit_code == 0 and report.passes == 1 and report.write_path == "sqlite"


def expected_ids(url: str, records: list[tuple[str, str, str]]) -> list[str]:
    """The ids the identity rule gives (salted content hash; the k-th repeat hashed with #k), in file order."""
    import hashlib

    import pyarrow as pa

    from tracebloc_ingestor import identity

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        (salt_hex,) = conn.exec_driver_sql(
            "SELECT meta_value FROM tracebloc_ingest_meta WHERE meta_key = 'data_id_salt'"
        ).one()
    engine.dispose()
    batch = pa.record_batch({name: pa.array([r[i] for r in records]) for i, name in enumerate(("ref", "age", "label"))})
    cols = ["age", "label", "ref"]
    digests = identity.content_digests(bytes.fromhex(salt_hex), cols, identity.canonical_rows(batch, cols))
    seen: dict[bytes, int] = {}
    out = []
    for d in digests:
        k = seen.get(d, 0)
        seen[d] = k + 1
        out.append(d.hex() if k == 0 else hashlib.sha256(d + b"#" + str(k).encode()).hexdigest())
    return out


@pytest.mark.parametrize("declared", [True, False], ids=["one_pass", "two_passes"])
def test_repeated_records_get_the_ids_of_the_identity_rule_in_either_pass_count(tmp_path, sqlite_url, declared):
    """Repeats inside a batch and across batches are counted in file order."""
    records = [(f"r{k % 700}", str(k % 700 % 90), "cat" if k % 700 % 3 else "dog") for k in range(2_500)]
    config = write_table(tmp_path, 0, schema=declared)
    (tmp_path / "data.csv").write_text("ref,age,label\n" + "".join(",".join(r) + "\n" for r in records), encoding="utf-8")
    report, *_ = run_plugin(Demo(), {**table_flags(tmp_path, sqlite_url, config), "batch_size": 300})
    assert report.exit_code == 0 and report.counters.repeats == 2_500 - 700
    assert report.passes == (1 if declared else 2)
    assert [r[0] for r in table_rows(sqlite_url, "demo", "data_id")] == expected_ids(sqlite_url, records)


@pytest.fixture(params=["sqlite", "mariadb"])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    return request.getfixturevalue("mysql_url")


def test_files_are_staged_while_checked_and_published_at_the_end(tmp_path, any_url):
    write_docs(tmp_path, 250)
    report, out, _err = run_plugin(Docs(), doc_flags(tmp_path, any_url))
    assert report.exit_code == 0, out
    folder = tmp_path / "shared" / "docs"
    stored = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    assert len(stored) == 250 and row_count(any_url, "docs") == 250
    assert not [n for n in os.listdir(tmp_path / "shared") if n.startswith(STAGING_PREFIX)]
    if "sqlite" in any_url or report.write_path == "load_data_stream":
        assert report.passes == 1


def test_a_missing_file_late_in_the_manifest_leaves_no_rows_and_no_published_file(tmp_path, any_url):
    write_docs(tmp_path, 250, missing=240)
    report, _out, _err = run_plugin(Docs(), doc_flags(tmp_path, any_url))
    assert report.exit_code == 1
    assert [(i.row, i.rule) for i in report.issues] == [(240, "missing_file")]
    assert not has_table(any_url, "docs")
    assert not (tmp_path / "shared").exists()  # not even the storage folder: the run made it


def test_a_rerun_into_a_published_folder_renames_file_by_file_and_rewrites_nothing(tmp_path, sqlite_url):
    write_docs(tmp_path, 30)
    first, *_ = run_plugin(Docs(), doc_flags(tmp_path, sqlite_url))
    folder = tmp_path / "shared" / "docs"
    before = {n: (folder / n).stat().st_ino for n in os.listdir(folder)}
    # the same dataset plus one file: the folder exists, so files move in one by one
    (tmp_path / "docs" / "d0031.txt").write_text("new\n", encoding="utf-8")
    with open(tmp_path / "manifest.csv", "a", encoding="utf-8") as fh:
        fh.write("d0031.txt,a\n")
    with sa.create_engine(sqlite_url).begin() as conn:  # a new dataset under a new table name would be usual;
        conn.exec_driver_sql("DROP TABLE docs")  # here: the same folder, rows written again
        conn.exec_driver_sql("DELETE FROM tracebloc_ingest_runs")
    second, out, _err = run_plugin(Docs(), doc_flags(tmp_path, sqlite_url))
    assert first.exit_code == 0 and second.exit_code == 0, out
    after = {n: (folder / n).stat().st_ino for n in os.listdir(folder)}
    assert {n: after[n] for n in before if not n.startswith(".")} == {n: i for n, i in before.items() if not n.startswith(".")}
    assert "d0031.txt" in after


def test_sigterm_mid_pass_leaves_nothing_visible_and_the_rerun_completes(tmp_path, any_url):
    assert threading.current_thread() is threading.main_thread()
    write_docs(tmp_path, 400)
    report, *_ = run_plugin(Docs(), doc_flags(tmp_path, any_url), plugins=[StopAfterBatches(2)])
    assert report.exit_code == 143
    assert not has_table(any_url, "docs") and not (tmp_path / "shared" / "docs").exists()
    report, out, _err = run_plugin(Docs(), doc_flags(tmp_path, any_url))
    assert report.exit_code == 0, out
    assert row_count(any_url, "docs") == 400 and len(os.listdir(tmp_path / "shared" / "docs")) == 402


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tracebloc_ingestor import FileCategory, hookimpl
    from tracebloc_ingestor.testing.runs import run_plugin

    class Docs(FileCategory):
        category = "doc_classification"
        folder_option = "docs"
        extensions = (".txt",)
        max_batch_rows = 100

    class Hold:
        seen = 0

        @hookimpl
        def tb_load(self, ctx, batch):
            self.seen += 1
            if self.seen == 3:
                Path(sys.argv[2]).write_text("loading")
                time.sleep(120)

    if __name__ == "__main__":
        import json
        run_plugin(Docs(), json.loads(sys.argv[1]), plugins=[Hold()])
    """
)


def test_kill_9_mid_pass_leaves_nothing_visible_and_the_rerun_completes(tmp_path, any_url):
    import json

    write_docs(tmp_path, 500)
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT, encoding="utf-8")
    marker = tmp_path / "loading"
    proc = subprocess.Popen([sys.executable, str(script), json.dumps(doc_flags(tmp_path, any_url)), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it was killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    shared = tmp_path / "shared"
    assert not (shared / "docs").exists()
    assert [n for n in os.listdir(shared) if n.startswith(STAGING_PREFIX)]  # what the killed run left
    assert not row_count(any_url, "docs")  # no table, or an empty one: nothing was committed

    report, out, _err = run_plugin(Docs(), doc_flags(tmp_path, any_url))
    assert report.exit_code == 0, out
    assert row_count(any_url, "docs") == 500
    assert sorted(os.listdir(shared)) == ["docs"]  # the leftover staging folder is gone
    assert len([n for n in os.listdir(shared / "docs") if not n.startswith(".")]) == 500


class LosingDatabase(Database):
    """A real database whose streamed load is lost once, after some batches (as in a server restart).

    The loss is real: the load's transaction is rolled back before StreamLost is raised.
    """

    def __init__(self, url: str, *, losses: int) -> None:
        super().__init__(url)
        self.losses = losses
        self.sent = 0

    def send(self, prepared):
        self.sent += 1
        if self.losses and self.sent % 3 == 0:
            self.losses -= 1
            prepared.discard()
            self.abort_stream()
            raise StreamLost("writing a batch to table 'demo' failed: the connection was lost during the bulk load")
        super().send(prepared)


def pipeline_run(tmp_path, url, database, config):
    settings = load_settings(table_flags(tmp_path, url, config), {}, cwd=tmp_path)
    pm = new_plugin_manager()
    demo = Demo()
    pm.register(demo)
    sink = MetadataFile(tmp_path / "out" / "registration.json")
    return Pipeline(pm, settings, demo.spec(), database=database, metadata_sink=sink).run()


@pytest.fixture(params=["sqlite", "mariadb"])
def stream_capable_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    url = request.getfixturevalue("mysql_url")
    (version,) = sa.create_engine(url).connect().exec_driver_sql("SELECT VERSION()").one()
    if not bulk_load_capable(version):
        pytest.skip(f"{version} has no streamed first load")
    return url


def test_a_lost_load_restarts_from_the_first_record_and_writes_each_row_once(tmp_path, stream_capable_url, caplog):
    config = write_table(tmp_path, 8_000)
    database = LosingDatabase(stream_capable_url, losses=1)
    with caplog.at_level(logging.WARNING, logger="tracebloc_ingestor"):
        report = pipeline_run(tmp_path, stream_capable_url, database, config)
    database.close()
    assert report.exit_code == 0, report.message
    assert report.counters.new_rows == 8_000 and report.passes == 1
    rows = table_rows(stream_capable_url, "demo", "data_id")
    assert len(rows) == 8_000 and len(set(rows)) == 8_000
    assert any("Restarting the pass from the first record (restart 1" in r.getMessage() for r in caplog.records)


def test_a_load_lost_again_and_again_gives_up_with_nothing_written(tmp_path, stream_capable_url):
    config = write_table(tmp_path, 4_000)
    database = LosingDatabase(stream_capable_url, losses=100)
    report = pipeline_run(tmp_path, stream_capable_url, database, config)
    database.close()
    assert report.exit_code == 1 and report.message.startswith("database: ")
    assert "restarted 5 times" in report.message and "nothing of this run was kept" in report.message
    assert not row_count(stream_capable_url, "demo")


def backend_flags(tmp_path, url, config, double) -> tuple[dict, dict]:
    env = {"TRACEBLOC_API_URL": double.url, "BACKEND_TOKEN": double.token, "TRACEBLOC_API_DEADLINE": "1"}
    return table_flags(tmp_path, url, config), env


@pytest.fixture(params=["sqlite", "mariadb"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    return request.getfixturevalue("mysql_url")


def test_after_a_failed_registration_the_next_run_of_the_same_input_only_registers(tmp_path, db_url, backend_double):
    from tracebloc_ingestor.testing.backend_double import Response

    config = write_table(tmp_path, 5_000)
    flags, env = backend_flags(tmp_path, db_url, config, backend_double)
    backend_double.script("global_meta/summary/", *([Response(503)] * 100))  # the backend is down
    first, out, _err = run_plugin(Demo(), flags, env)
    assert first.exit_code == 1 and "registration failed" in first.message, out
    rows = table_rows(db_url, "demo", "id, data_id, ingestor_id, updated_at")
    assert len(rows) == 5_000 and {r[2] for r in rows} == {first.run_id}

    backend_double.clear_scripts()  # the backend is up again
    second, out, _err = run_plugin(Demo(), flags, env)
    assert second.exit_code == 0, out
    assert table_rows(db_url, "demo", "id, data_id, ingestor_id, updated_at") == rows  # not one row rewritten
    assert second.counters.new_rows == 0 and second.counters.already_present == 5_000
    (registered,) = backend_double.registrations("demo")
    assert registered["ingestor_id"] == first.run_id and registered["record_count"] == 5_000
    # the loaded run is registered now: a third run only checks
    third, *_ = run_plugin(Demo(), flags, env)
    assert third.exit_code == 0 and third.counters.new_rows == 0


def test_after_a_failed_registration_a_changed_input_is_written_again(tmp_path, db_url, backend_double):
    from tracebloc_ingestor.testing.backend_double import Response

    config = write_table(tmp_path, 3_000)
    flags, env = backend_flags(tmp_path, db_url, config, backend_double)
    backend_double.script("global_meta/summary/", *([Response(503)] * 100))
    first, *_ = run_plugin(Demo(), flags, env)
    assert first.exit_code == 1
    backend_double.clear_scripts()
    write_table(tmp_path, 3_001)  # one record more
    second, out, _err = run_plugin(Demo(), flags, env)
    assert second.exit_code == 0, out
    assert {r[0] for r in table_rows(db_url, "demo", "ingestor_id")} == {second.run_id}
    assert row_count(db_url, "demo") == 3_001 and second.counters.new_rows == 3_001
    (registered,) = backend_double.registrations("demo")
    assert registered["ingestor_id"] == second.run_id


def test_a_column_changed_before_the_cast_is_cast_again_not_taken_from_validation(tmp_path, sqlite_url):
    """In one pass the cast of validation is reused only for the very column it was made from."""
    import pyarrow.compute as pc

    class Shouting(Demo):
        def transform_batch(self, ctx, batch):
            at = batch.schema.get_field_index("ref")
            return super().transform_batch(ctx, batch.set_column(at, "ref", pc.utf8_upper(batch.column(at))))

    config = write_table(tmp_path, 50)
    report, *_ = run_plugin(Shouting(), table_flags(tmp_path, sqlite_url, config))
    assert report.exit_code == 0 and report.passes == 1
    refs = [r[0] for r in table_rows(sqlite_url, "demo", "ref")]
    assert refs[:3] == ["R1", "R2", "R3"] and len(refs) == 50


def test_a_source_that_answers_slowly_gets_many_reads_in_flight(tmp_path, sqlite_url, caplog):
    from tracebloc_ingestor.files.store import FileStore

    def slow_open(path):
        time.sleep(0.004)  # a network volume's round trip per open
        return open(path, "rb")

    class SlowDocs(Docs):
        def make_store(self, ctx):
            return FileStore(ctx.destination, opener=slow_open)

    write_docs(tmp_path, 120)
    with caplog.at_level(logging.INFO, logger="tracebloc_ingestor"):
        report, out, _err = run_plugin(SlowDocs(), doc_flags(tmp_path, sqlite_url), {"LOG_LEVEL": "INFO"})
    assert report.exit_code == 0, out
    assert any("the source answers slowly" in r.getMessage() and "32 files at a time" in r.getMessage() for r in caplog.records)
    assert row_count(sqlite_url, "docs") == 120
    caplog.clear()
    fast = tmp_path / "fast"
    fast.mkdir()
    write_docs(fast, 20)
    with caplog.at_level(logging.INFO, logger="tracebloc_ingestor"):
        report, *_ = run_plugin(Docs(), doc_flags(fast, f"sqlite:///{fast / 'db.sqlite'}"), {"LOG_LEVEL": "INFO"})
    assert report.exit_code == 0 and not any("answers slowly" in r.getMessage() for r in caplog.records)
