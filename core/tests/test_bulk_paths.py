"""The MySQL write paths (streamed bulk LOAD DATA, chunked LOAD DATA LOCAL INFILE, multi-row
INSERT) and SQLite store the same table.

Real MariaDB/MySQL and real SQLite files; the LOAD DATA path is forced off through the
constructor, the environment variable and, once, the server's own ``local_infile`` switch.
The streamed load is used only where the server's InnoDB bulk insert is known to work,
so its tests first check that the server is one.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from contextlib import contextmanager
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
import sqlalchemy as sa

from tracebloc_ingestor import identity
from tracebloc_ingestor.schema import TableSchema, parse_sql_type
from tracebloc_ingestor.sinks.db.bulk import text as bulk_text
from tracebloc_ingestor.sinks.database import DISABLE_LOAD_DATA_ENV, Database, DatabaseError
from tracebloc_ingestor.sinks.db.bulk.load_stream import bulk_load_capable
from tracebloc_ingestor.sinks.writer import BackgroundWriter
from tracebloc_ingestor.summary import summary_block
from tracebloc_ingestor.testing.runs import demo_input, run_demo, typed_rows
from tracebloc_ingestor.validation.columns import cast_column

SALT = bytes(range(32))
SCHEMA = TableSchema.from_mapping({
    "v": "VARCHAR(64)", "t": "TEXT", "c": "CHAR(2)", "ti": "TINYINT", "i": "INT", "bi": "BIGINT",
    "f": "FLOAT", "d": "DOUBLE", "dec": "DECIMAL(20,6)", "b": "BOOLEAN", "day": "DATE", "ts": "DATETIME", "tm": "TIME",
})
TRICKY = [
    "tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "quote'single", 'quote"double', "nul\x00byte",
    "ctrl-z\x1a", "\\N", "NULL", "\\", "'", "", " padded ", "emoji 😀🎉 日本 naïve", "%s %(x)s %%", "a\\tb\\nc",
]
LONG = ("long 😀 \t\\' " * 1000)[:10_000]


def rows_of_values():
    n = len(TRICKY) + 4
    pad = lambda values: (values + [None] * n)[:n]  # noqa: E731
    return {
        "v": pad(TRICKY + [None]),
        "t": pad([LONG, None, "x" * 10_000] + TRICKY),
        "c": pad(["ab", "😀", None, "", "\t\n"]),
        "ti": pad([-128, 127, None, 0]),
        "i": pad([-(2**31), 2**31 - 1, None, 0]),
        "bi": pad([-(2**63), 2**63 - 1, None, 0, 1]),
        "f": pad([1.5, -0.25, None, float("nan"), 3.0e38]),
        "d": pad([1e300, -2.5e-300, None, float("nan"), 0.1, -0.0, 123456789.123456789]),
        # the last one has 20 digits: more than a double keeps, exact on every path
        "dec": pad([Decimal("123456789.123456"), Decimal("-0.000001"), None, Decimal("0"), Decimal("99999999999999.999999")]),
        "b": pad([True, False, None]),
        "day": pad([dt.date(1000, 1, 1), dt.date(9999, 12, 31), None, dt.date(2024, 2, 29)]),
        "ts": pad([dt.datetime(1000, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59), None, dt.datetime(2024, 2, 29, 12, 30, 1)]),
        "tm": pad([dt.time(0, 0), dt.time(23, 59, 59), None, dt.time(12, 30, 1)]),
    }


def make_batch(run_id, ids, columns, schema=SCHEMA):
    arrays = {
        "data_id": pa.array(ids, pa.string()),
        "ingestor_id": pa.array([run_id] * len(ids), pa.string()),
        "data_intent": pa.array(["train"] * len(ids), pa.string()),
        "label": pa.array([TRICKY[i % len(TRICKY)] for i in range(len(ids))], pa.string()),
    }
    for column in schema.features:
        arrays[column.name] = pa.array(columns[column.name], column.type.arrow_type())
    return pa.RecordBatch.from_pydict(arrays)


def fetch(url, table="ds"):
    """All rows, typed by SQLAlchemy's reflection (independent of the code under test)."""
    return typed_rows(url, table)


def normalised(rows):
    out = []
    for row in rows:
        row = {k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at")}
        row["b"] = None if row["b"] is None else bool(row["b"])
        if row["f"] is not None:
            row["f"] = float(np.float32(row["f"]))  # FLOAT is single precision on MySQL, double on SQLite
        out.append(row)
    return out


def prepare(db, run_id="run-1", schema=SCHEMA, table="ds"):
    db.prepare(table, schema, run_id=run_id, category="tabular_classification", salt=SALT)


def execute(url, sql):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.exec_driver_sql(sql)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


@contextmanager
def server_local_infile_off(url):
    """Switch the server's local_infile off for the block; always switched back on."""
    (before,) = execute(url, "SELECT @@GLOBAL.local_infile")[0]
    execute(url, "SET GLOBAL local_infile = 0")
    try:
        yield
    finally:
        execute(url, f"SET GLOBAL local_infile = {int(before)}")


def write_twice_unchanged(db, url, batch):
    db.write("ds", batch)
    execute(url, "UPDATE ds SET updated_at = '2001-01-01 00:00:00'")
    before = fetch(url)
    db.write("ds", batch)  # the same rows again: nothing may change, not even updated_at
    after = fetch(url)
    assert after == before
    assert {r["updated_at"] for r in after} == {dt.datetime(2001, 1, 1)}
    return normalised(after)


def test_all_paths_store_identical_tables_and_rerun_changes_nothing(mysql_url, sqlite_url, tmp_path):
    values = rows_of_values()
    ids = [f"id-{k:02d}" for k in range(len(values["v"]))]
    batch = make_batch("run-1", ids, values)
    tables = {}

    db = Database(mysql_url)
    prepare(db)
    tables["load_data"] = write_twice_unchanged(db, mysql_url, batch)
    assert db.write_path == "load_data"
    db.close()

    insert_url = mysql_url  # the same database, the table made again
    execute(mysql_url, "DROP TABLE ds")
    db = Database(insert_url, load_data=False)
    prepare(db, run_id="run-1")
    tables["insert"] = write_twice_unchanged(db, insert_url, batch)
    assert db.write_path == "insert"
    db.close()

    db = Database(sqlite_url)
    prepare(db)
    tables["sqlite"] = write_twice_unchanged(db, sqlite_url, batch)
    db.close()

    assert tables["load_data"] == tables["insert"]
    assert tables["load_data"][4]["dec"] == Decimal("99999999999999.999999")
    assert tables["load_data"] == tables["sqlite"]
    rows = tables["load_data"]
    assert [r["data_id"] for r in rows] == ids
    assert [r["v"] for r in rows][: len(TRICKY)] == TRICKY  # escapes, NUL, \N, NULL, emoji exact
    assert rows[0]["t"] == LONG and len(rows[2]["t"]) == 10_000
    assert [r["bi"] for r in rows][:2] == [-(2**63), 2**63 - 1]
    assert [r["i"] for r in rows][:2] == [-(2**31), 2**31 - 1]
    assert rows[3]["d"] is None and rows[3]["f"] is None  # NaN is stored as NULL
    assert rows[0]["d"] == 1e300 and rows[6]["d"] == 123456789.123456789
    assert rows[0]["dec"] == Decimal("123456789.123456")
    assert rows[1]["ts"] == dt.datetime(9999, 12, 31, 23, 59, 59)
    assert all(r["v"] is None for r in rows[len(TRICKY):])


@pytest.mark.parametrize("load_data", [None, False])
def test_mysql_paths_keep_existing_rows_and_add_new_ones(mysql_url, load_data):
    db = Database(mysql_url, load_data=load_data)
    schema = TableSchema.from_mapping({"n": "INT"})
    prepare(db, schema=schema)
    db.write("ds", make_batch("run-1", ["a", "b"], {"n": [1, 2]}, schema))
    # a later batch repeats "b" with another value and brings "c": b is kept as it was
    db.write("ds", make_batch("run-1", ["b", "c", "c2"], {"n": [20, 3, None]}, schema))
    rows = {r["data_id"]: r["n"] for r in fetch(mysql_url)}
    assert rows == {"a": 1, "b": 2, "c": 3, "c2": None}
    assert db.write_path == ("load_data" if load_data is None else "insert")
    db.close()


@pytest.mark.parametrize("load_data", [None, False])
def test_bad_values_roll_back_and_name_only_the_column(mysql_url, load_data):
    db = Database(mysql_url, load_data=load_data)
    schema = TableSchema.from_mapping({"n": "INT", "s": "VARCHAR(3)"})
    prepare(db, schema=schema)
    secret = "secret-4711"
    good = pa.array(["1"] * 3)
    for column, values in (("n", pa.array(["1", secret, "3"])), ("s", pa.array(["ok", secret, None]))):
        batch = pa.RecordBatch.from_pydict({
            "data_id": pa.array(["a", "b", "c"]), "ingestor_id": pa.array(["run-1"] * 3),
            "n": values if column == "n" else good, "s": values if column == "s" else pa.array(["x"] * 3),
        })
        with pytest.raises(DatabaseError) as caught:
            db.write("ds", batch)
        assert secret not in str(caught.value) and f"column {column!r}" in str(caught.value)
        assert db.count_rows("ds") == 0  # the whole chunk was rolled back
    db.close()


def test_infinity_is_refused_on_every_path(mysql_url, sqlite_url):
    schema = TableSchema.from_mapping({"d": "DOUBLE"})
    for url, load_data in ((mysql_url, None), (mysql_url, False), (sqlite_url, None)):
        db = Database(url, load_data=load_data)
        prepare(db, schema=schema)
        with pytest.raises(DatabaseError, match="'d': infinite"):
            db.write("ds", make_batch("run-1", ["a"], {"d": [float("inf")]}, schema))
        db.close()


def test_validation_refuses_infinity_and_reads_nan_as_null():
    result = cast_column(pa.array(["1.5", "inf", "-Infinity", "NaN", ""]), parse_sql_type("DOUBLE"))
    assert result.failed.to_pylist() == [1, 2] and set(result.rules.to_pylist()) == {"finite"}
    assert result.array.to_pylist()[3:] == [None, None]
    allowed = cast_column(pa.array(["inf"]), parse_sql_type("DOUBLE"), allow_non_finite=True)
    assert allowed.ok and math.isinf(allowed.array[0].as_py())


def test_server_with_local_infile_off_falls_back_to_insert(mysql_url):
    schema = TableSchema.from_mapping({"n": "INT"})
    with server_local_infile_off(mysql_url):
        db = Database(mysql_url)
        prepare(db, schema=schema)
        db.write("ds", make_batch("run-1", ["a", "b"], {"n": [1, 2]}, schema))
        assert db.write_path == "insert"
        db.close()
    assert {r["data_id"]: r["n"] for r in fetch(mysql_url)} == {"a": 1, "b": 2}


def test_load_data_refused_mid_run_falls_back_without_failing(mysql_url):
    schema = TableSchema.from_mapping({"n": "INT"})
    db = Database(mysql_url)
    prepare(db, schema=schema)
    db.write("ds", make_batch("run-1", ["a"], {"n": [1]}, schema))
    assert db.write_path == "load_data"
    with server_local_infile_off(mysql_url):
        db.write("ds", make_batch("run-1", ["b", "a"], {"n": [2, 9]}, schema))
    assert db.write_path == "insert"
    assert {r["data_id"]: r["n"] for r in fetch(mysql_url)} == {"a": 1, "b": 2}
    db.close()


def test_environment_variable_forces_the_insert_path(mysql_url, monkeypatch):
    monkeypatch.setenv(DISABLE_LOAD_DATA_ENV, "1")
    db = Database(mysql_url)
    assert db.write_path == "insert"
    schema = TableSchema.from_mapping({"n": "INT"})
    prepare(db, schema=schema)
    db.write("ds", make_batch("run-1", ["a"], {"n": [1]}, schema))
    assert db.write_path == "insert" and db.count_rows("ds") == 1
    db.close()


def test_insert_statements_stay_under_the_packet_limit(mysql_url):
    db = Database(mysql_url, load_data=False)
    schema = TableSchema.from_mapping({"t": "TEXT"})
    prepare(db, schema=schema)
    db._writer.packet_limit = 4_000  # many statements, one row longer than a statement on its own
    texts = [f"row {k} " + "é" * (k % 50) for k in range(300)] + ["x" * 9_000]
    ids = [f"id{k}" for k in range(len(texts))]
    db.write("ds", make_batch("run-1", ids, {"t": texts}, schema))
    assert [r["t"] for r in fetch(mysql_url)] == texts
    db.close()


def test_statement_slices_cover_every_row_once():
    offsets = np.array([0, 10, 25, 26, 100, 101, 120], dtype=np.int64)
    slices = list(bulk_text.statement_slices(offsets, 20))
    assert slices[0][0] == 0 and slices[-1][1] == 120
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:]))
    assert (26, 100) in slices  # a row longer than the limit stands alone


def test_load_data_text_escapes_exactly():
    column = pa.array(["a\tb", "c\nd", "e\\f", None, "\x00", "\\N", "plain"])
    fields = bulk_text.text_column(column, literal=False).to_pylist()
    assert fields == ["a\\tb", "c\\nd", "e\\\\f", "\\N", "\\0", "\\\\N", "plain"]
    literals = bulk_text.text_column(pa.array(["it's", None, "\x1a\r"]), literal=True).to_pylist()
    assert literals == ["'it\\'s'", "NULL", "'\\Z\\r'"]
    assert bulk_text.text_column(pa.array([True, None, False]), literal=True).to_pylist() == ["1", "NULL", "0"]


def test_repeat_tracker_counts_earlier_copies_in_stream_order_in_memory_and_spilled():
    rng = np.random.default_rng(7)
    digests = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)) for _ in range(3_000)]
    # repeats inside one batch, across batches, and after the first copies were spilled to disk
    stream = digests + digests[:500] + digests[:10] + [digests[2999]] * 3
    small, spilled = identity.RepeatTracker(), identity.RepeatTracker(hold_rows=1_000)
    answers = {id(small): [], id(spilled): []}
    for start in range(0, len(stream), 700):
        for tracker in (small, spilled):
            answers[id(tracker)].extend(tracker.observe(stream[start : start + 700]).tolist())
    assert spilled._runs._runs and not small._runs._runs
    expected = [0] * 3_000 + [1] * 500 + [2] * 10 + [1, 2, 3]
    assert answers[id(small)] == answers[id(spilled)] == expected
    assert small.repeats == spilled.repeats == 513
    # a key that matches in its first 64 bits only is new content
    twin = digests[5][:8] + bytes(24)
    assert small.observe([twin, twin]).tolist() == [0, 1]
    small.discard()
    spilled.discard()


def test_digest_cache_only_serves_matching_batches():
    cache = identity.DigestCache()
    first = [bytes([k]) * 32 for k in range(5)]
    cache.put(1, first)
    cache.put(6, first[:2])
    assert cache.get(1, 5) == first
    assert cache.get(7, 2) is None  # out of step: the cache gives up for good
    assert cache.get(6, 2) is None
    cache.close()


def test_ids_from_digests_match_hexdigest():
    digests = [bytes(range(k, k + 32)) for k in range(4)]
    ids = identity.ids_from_digests(digests, [0, 0, 1, 0]).to_pylist()
    assert ids[0] == digests[0].hex() and ids[3] == digests[3].hex()
    import hashlib

    assert ids[2] == hashlib.sha256(digests[2] + b"#1").hexdigest()


def test_background_writer_raises_the_first_error_and_stops():
    written = []

    def write(table, batch):
        if batch.num_rows == 2:
            raise DatabaseError("boom")
        written.append(batch.num_rows)

    writer = BackgroundWriter(write, depth=1)
    writer.submit("t", pa.record_batch({"x": [1]}))
    writer.submit("t", pa.record_batch({"x": [1, 2]}))
    with pytest.raises(DatabaseError, match="boom"):
        writer.flush()
    writer.submit("t", pa.record_batch({"x": [1, 2, 3]}))  # the error was raised once; writing goes on
    writer.flush()
    writer.close()
    assert written == [1, 3]


def test_prepared_load_files_are_deleted_when_sent_or_dropped(mysql_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    schema = TableSchema.from_mapping({"n": "INT"})
    db = Database(mysql_url)
    prepare(db, schema=schema)
    sent = db.prepare_write("ds", make_batch("run-1", ["a", "b"], {"n": [1, 2]}, schema))
    dropped = db.prepare_write("ds", make_batch("run-1", ["c"], {"n": [3]}, schema))
    assert len(list(tmp_path.glob("tb_load_*"))) == 2
    db.send(sent)
    dropped.discard()
    assert list(tmp_path.glob("tb_load_*")) == []
    assert {r["data_id"] for r in fetch(mysql_url)} == {"a", "b"}
    db.close()


def test_background_writer_discards_what_it_does_not_write():
    discarded = []
    writer = BackgroundWriter(lambda item: None, discard=discarded.append, depth=4)
    writer._closing = True  # as after close(): queued items are dropped
    writer.submit("x")
    writer.close()
    assert discarded == ["x"]


# ---------------------------------------------------------------- re-runs of a registered table (end to end)

ROWS5 = ["a,1,cat\n", "b,2,dog\n", "a,1,cat\n", "c,,dog\n", "d,4,cat\n"]  # one repeated record


def test_rerun_of_a_registered_table_by_fingerprint_and_by_lookup(tmp_path, mysql_url):
    config = demo_input(tmp_path, ROWS5)
    first = run_demo(tmp_path, mysql_url, config)
    assert first.exit_code == 0 and first.counters.new_rows == 5
    before = fetch(mysql_url, "demo")
    db = Database(mysql_url)
    assert db.id_fingerprint("demo")[0] == 5
    db.close()
    again = run_demo(tmp_path, mysql_url, config)  # the same input: the fingerprints agree
    assert again.exit_code == 0 and again.counters.already_present == 5
    subset = run_demo(tmp_path, mysql_url, demo_input(tmp_path, ROWS5[:4]))  # fingerprints differ: exact lookups
    assert subset.exit_code == 0 and subset.counters.already_present == 4
    other = run_demo(tmp_path, mysql_url, demo_input(tmp_path, ROWS5[:4] + ["e,5,dog\n"]))
    assert other.exit_code == 1 and "1 records of this input are not in it" in other.message
    assert fetch(mysql_url, "demo") == before


# -- the streamed bulk load (sinks/db/bulk/load_stream.py) -----------------------------


@pytest.fixture
def stream_url(mysql_url):
    (version,) = execute(mysql_url, "SELECT VERSION()")[0]
    if not bulk_load_capable(version):
        pytest.skip(f"{version} has no safe InnoDB bulk insert; the chunked path is used there")
    return mysql_url


def stream(db, table, *batches):
    assert db.begin_stream(table)
    for batch in batches:
        db.send(db.prepare_write(table, batch))
    db.finish_stream()


def ready(url, mapping=None):
    """A Database with table ds prepared for the given feature columns (default: n INT)."""
    schema = TableSchema.from_mapping(mapping or {"n": "INT"})
    db = Database(url)
    prepare(db, schema=schema)
    return db, schema


def session_checks(db):
    with db._writer.bulk_engine.connect() as conn:
        return tuple(conn.exec_driver_sql("SELECT @@unique_checks, @@foreign_key_checks").one())


@pytest.mark.parametrize(
    "version, capable",
    [
        ("10.11.19-MariaDB-0+deb12u1", True),
        ("10.11.11-MariaDB", True),
        ("10.11.10-MariaDB-log", False),
        ("10.6.20-MariaDB", False),
        ("11.4.5-MariaDB", True),
        ("11.4.4-MariaDB", False),
        ("11.7.2-MariaDB", True),
        ("11.8.1-MariaDB-ubu2404", True),
        ("12.0.2-MariaDB", True),
        ("8.0.36", False),
        ("8.4.0-commercial", False),
        ("", False),
    ],
)
def test_bulk_load_only_on_mariadb_versions_with_a_working_bulk_insert(version, capable):
    assert bulk_load_capable(version) is capable


def test_stream_stores_the_same_table_as_the_chunked_path(stream_url):
    values = rows_of_values()
    ids = [f"id-{k:02d}" for k in range(len(values["v"]))]
    half = len(ids) // 2
    first = make_batch("run-1", ids[:half], {k: v[:half] for k, v in values.items()})
    second = make_batch("run-1", ids[half:], {k: v[half:] for k, v in values.items()})

    db = Database(stream_url)
    prepare(db)
    stream(db, "ds", first, second)
    assert db.write_path == "load_data_stream"
    streamed = fetch(stream_url)
    assert session_checks(db) == (1, 1)  # the bulk session's settings never reach the pool
    db.close()

    execute(stream_url, "DROP TABLE ds")
    db = Database(stream_url)
    prepare(db)
    db.write("ds", first)
    db.write("ds", second)
    assert db.write_path == "load_data"
    chunked = fetch(stream_url)
    db.close()

    assert normalised(streamed) == normalised(chunked)
    assert [r["data_id"] for r in streamed] == ids
    assert [r["id"] for r in streamed] == list(range(1, len(ids) + 1))  # file order, no gaps


def test_stream_is_only_begun_for_an_empty_table(stream_url):
    db, schema = ready(stream_url)
    db.write("ds", make_batch("run-1", ["a"], {"n": [1]}, schema))
    assert not db.begin_stream("ds")
    db.write("ds", make_batch("run-1", ["a", "b"], {"n": [9, 2]}, schema))  # the chunked path, as before
    assert {r["data_id"]: r["n"] for r in fetch(stream_url)} == {"a": 1, "b": 2}
    db.close()
    assert not Database(stream_url, load_data=False).begin_stream("ds")


def test_aborted_stream_leaves_the_table_empty_and_usable(stream_url):
    db, schema = ready(stream_url)
    assert db.begin_stream("ds")
    big = make_batch("run-1", [f"id{k}" for k in range(120_000)], {"n": list(range(120_000))}, schema)
    db.send(db.prepare_write("ds", big))  # several chunks, all inside the one statement
    db.abort_stream()
    assert db.count_rows("ds") == 0
    assert db.write_path == "load_data"
    stream(db, "ds", make_batch("run-1", ["a"], {"n": [1]}, schema))  # empty again: streamed again
    assert db.count_rows("ds") == 1
    db.close()


def test_bad_value_in_a_stream_names_the_column_and_keeps_nothing(stream_url):
    db, schema = ready(stream_url, {"n": "TINYINT", "s": "VARCHAR(3)"})
    secret = "secret-4711"
    good = make_batch("run-1", [f"g{k}" for k in range(10)], {"n": [1] * 10, "s": ["ok"] * 10}, schema)
    bad = pa.RecordBatch.from_pydict({
        "data_id": pa.array(["b1", "b2"]), "ingestor_id": pa.array(["run-1"] * 2), "data_intent": pa.array(["train"] * 2),
        "label": pa.array(["x", "y"]), "n": pa.array([1, 2], pa.int8()), "s": pa.array(["ok", secret]),
    })
    with pytest.raises(DatabaseError) as caught:
        stream(db, "ds", good, bad)
    assert "column 's'" in str(caught.value) and secret not in str(caught.value)
    assert db.count_rows("ds") == 0
    db.close()


def test_duplicate_ids_in_a_stream_fail_at_commit_and_keep_nothing(stream_url):
    db, schema = ready(stream_url)
    with pytest.raises(DatabaseError, match="two records share a data_id"):
        stream(db, "ds", make_batch("run-1", ["a", "b"], {"n": [1, 2]}, schema), make_batch("run-1", ["b"], {"n": [3]}, schema))
    assert db.count_rows("ds") == 0
    db.close()


@pytest.mark.parametrize("read_timeout, kept", [(2, False), (None, True)])
def test_stream_survives_long_pauses_between_batches(stream_url, monkeypatch, read_timeout, kept):
    """Storing a batch's files may take minutes; the server must keep waiting for the stream."""
    from tracebloc_ingestor.sinks.db.bulk.load_stream import LoadStream

    if read_timeout is not None:  # the server's default (30 s) in small: the pause below kills the load
        monkeypatch.setattr(LoadStream, "read_timeout", read_timeout)
    db, schema = ready(stream_url)
    assert db.begin_stream("ds")
    db.send(db.prepare_write("ds", make_batch("run-1", ["a"], {"n": [1]}, schema)))
    time.sleep(3.5)
    try:
        db.send(db.prepare_write("ds", make_batch("run-1", ["b"], {"n": [2]}, schema)))
        db.finish_stream()
    except DatabaseError:
        assert not kept
    finally:
        db.abort_stream()
    assert db.count_rows("ds") == (2 if kept else 0)
    db.close()


def test_stream_needs_the_same_run_id_in_every_batch(stream_url):
    db, schema = ready(stream_url)
    assert db.begin_stream("ds")
    db.send(db.prepare_write("ds", make_batch("run-1", ["a"], {"n": [1]}, schema)))
    with pytest.raises(DatabaseError, match="same columns and run id"):
        db.prepare_write("ds", make_batch("run-2", ["b"], {"n": [2]}, schema))
    db.abort_stream()
    assert db.count_rows("ds") == 0
    db.close()


# -- through the pipeline ---------------------------------------------------------------

def _stream_input(tmp_path, rows):
    return demo_input(tmp_path, [f"r{k % 977},{k},c{k % 3}\n" for k in range(rows)])


def test_pipeline_streams_a_first_load_and_rerun_changes_nothing(tmp_path, stream_url):
    config = _stream_input(tmp_path, 5_000)
    first = run_demo(tmp_path, stream_url, config, batch_size=1_000)
    assert first.exit_code == 0 and first.counters.new_rows == 5_000
    assert first.write_path == "load_data_stream"
    assert "rows written with one bulk LOAD DATA" in summary_block(first)
    rows = execute(stream_url, "SELECT COUNT(*), COUNT(DISTINCT data_id), MIN(id), MAX(id) FROM demo")[0]
    assert tuple(rows) == (5_000, 5_000, 1, 5_000)
    before = execute(stream_url, "CHECKSUM TABLE demo")
    again = run_demo(tmp_path, stream_url, config, batch_size=1_000)
    assert again.exit_code == 0 and again.counters.already_present == 5_000
    assert execute(stream_url, "CHECKSUM TABLE demo") == before


def test_run_stopped_during_a_streamed_load_leaves_no_rows(tmp_path, stream_url):
    from tracebloc_ingestor.testing.runs import StopAfterBatches

    config = _stream_input(tmp_path, 10_000)
    assert threading.current_thread() is threading.main_thread()
    report = run_demo(tmp_path, stream_url, config, batch_size=1_000, plugins=[StopAfterBatches(3)])
    assert report.exit_code == 143
    # the run created the table and committed nothing: it is gone again
    assert not execute(stream_url, "SHOW TABLES LIKE 'demo'")
    rerun = run_demo(tmp_path, stream_url, config, batch_size=1_000)
    assert rerun.exit_code == 0 and rerun.counters.new_rows == 10_000


def test_plugin_that_repeats_data_ids_fails_the_streamed_load_cleanly(tmp_path, stream_url):
    from tracebloc_ingestor import hookimpl

    class SameId:
        @hookimpl
        def tb_transform(self, ctx, batch):
            ids = pa.array(["same"] * batch.num_rows, pa.string())
            return batch.set_column(batch.schema.get_field_index("data_id"), "data_id", ids)

    config = _stream_input(tmp_path, 50)
    report = run_demo(tmp_path, stream_url, config, plugins=[SameId()])
    assert report.exit_code == 1 and "two records share a data_id" in report.message
    assert report.counters.inserted == 0
    assert not execute(stream_url, "SHOW TABLES LIKE 'demo'")  # created by the run, dropped empty
