"""The database sink against real SQLite files and a real MariaDB/MySQL server."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tracebloc_ingestor.schema import FRAMEWORK_COLUMNS, Column, TableSchema, parse_sql_type
from tracebloc_ingestor.sinks.database import Database, DatabaseError
from tracebloc_ingestor.testing.mysql import server_url
from tracebloc_ingestor.testing.runs import typed_rows

SALT = bytes(range(32))
SCHEMA = TableSchema.from_mapping({"age": "INT", "name": "VARCHAR(20)", "score": "DECIMAL(10,2)"})
MASK = Column("mask_id", parse_sql_type("VARCHAR(255)"))


@pytest.fixture(params=["sqlite", "mysql"])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def db(url):
    database = Database(url)
    yield database
    database.close()


def prepare(db, run_id="run-1", schema=SCHEMA, table="ds", salt=SALT, **kwargs):
    db.prepare(table, schema, run_id=run_id, category="tabular_classification", salt=salt, **kwargs)


def make_batch(run_id, ids, schema=SCHEMA, **columns):
    """A batch as the pipeline hands it over: framework columns plus typed features."""
    arrays = {
        "data_id": pa.array(ids, pa.string()),
        "ingestor_id": pa.array([run_id] * len(ids), pa.string()),
        "data_intent": pa.array(["train"] * len(ids), pa.string()),
        "label": pa.array(columns.pop("label", ["yes"] * len(ids)), pa.string()),
    }
    for column in schema.features:
        arrays[column.name] = pa.array(columns.pop(column.name, [None] * len(ids)), column.type.arrow_type())
    assert not columns, f"unknown columns {columns}"
    return pa.RecordBatch.from_pydict(arrays)


def fetch(url, table="ds"):
    """All rows, typed by SQLAlchemy's reflection (independent of the code under test)."""
    return typed_rows(url, table)


def execute(url, sql, params=None):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params or {})
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def table_names(url):
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- layout


def test_prepare_creates_the_contract_layout(url, db):
    prepare(db, extra_columns=[MASK])
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    names = [c["name"] for c in inspector.get_columns("ds")]
    assert names == [*FRAMEWORK_COLUMNS, "mask_id", "age", "name", "score"]
    assert [i["column_names"] for i in inspector.get_indexes("ds") if not i["unique"]] == [["ingestor_id"]]
    assert inspector.get_pk_constraint("ds")["constrained_columns"] == ["id"]
    assert {"tracebloc_ingest_runs", "tracebloc_ingest_meta"} <= set(inspector.get_table_names())
    engine.dispose()
    if db.dialect == "mysql":
        (row,) = execute(
            url,
            "SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ds'",
        )
        assert tuple(row) == ("InnoDB", "utf8mb4_bin")
        extras = dict(execute(url, "SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS "
                                   "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ds'"))
        assert "auto_increment" in extras["id"]
        assert "on update current_timestamp" in extras["updated_at"].lower()
    # the defaults fill the bookkeeping columns
    db.write("ds", make_batch("run-1", ["a"]))
    (row,) = fetch(url)
    assert row["id"] == 1 and row["status"] == 0
    assert isinstance(row["created_at"], dt.datetime) and isinstance(row["updated_at"], dt.datetime)
    with pytest.raises(sa.exc.IntegrityError):  # data_id is unique
        execute(url, "INSERT INTO ds (data_id) VALUES ('a')")
    with pytest.raises(sa.exc.DBAPIError):  # and required
        execute(url, "INSERT INTO ds (label) VALUES ('x')")


def test_re_prepare_same_schema_is_fine_other_schema_is_refused(db):
    prepare(db, run_id="run-1")
    prepare(db, run_id="run-2")
    other = TableSchema.from_mapping({"age": "BIGINT", "name": "VARCHAR(20)", "height": "DOUBLE"})
    with pytest.raises(DatabaseError) as caught:
        prepare(db, run_id="run-3", schema=other)
    message = str(caught.value)
    assert "in the schema but not the table: height DOUBLE" in message
    assert "in the table but not the schema: score DECIMAL(10,2)" in message
    assert "age (schema BIGINT, table INT)" in message
    assert "TABLE_NAME" in message
    # nothing of the refused run was recorded
    assert db.run_state("run-3") is None


def test_a_table_without_data_id_is_not_a_dataset(url, db):
    execute(url, "CREATE TABLE ds (x INT)")
    with pytest.raises(DatabaseError, match="not a dataset"):
        prepare(db)


def test_identifiers_that_need_quoting(url, db):
    schema = TableSchema.from_mapping(
        {"select": "INT", 'we"ird col': "VARCHAR(10)", "back`tick": "TEXT", "pct%": "DOUBLE", "a:b": "INT"}
    )
    prepare(db, schema=schema, table="order")
    db.write("order", make_batch("run-1", ["x"], schema, **{
        "select": [1], 'we"ird col': ["w"], "back`tick": ["b"], "pct%": [0.5], "a:b": [7],
    }))
    db.finish_run("run-1", "registered")
    prepare(db, schema=schema, table="order", run_id="run-2")
    # raw SELECT *: SQLAlchemy's MySQL reflection mangles a name with a backtick
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        quoted = "`order`" if db.dialect == "mysql" else '"order"'
        (row,) = [r._mapping for r in conn.exec_driver_sql(f"SELECT * FROM {quoted}")]
    engine.dispose()
    assert (row["select"], row['we"ird col'], row["back`tick"], row["pct%"], row["a:b"]) == (1, "w", "b", 0.5, 7)
    assert list(db.table_schema("order"))[-5:] == ["select", 'we"ird col', "back`tick", "pct%", "a:b"]
    assert db.count_existing("order", ["x"]) == 1


# ---------------------------------------------------------------- writes


def test_write_is_idempotent(url, db):
    prepare(db)
    batch = make_batch("run-1", ["a", "b", "c"], age=[1, 2, None], name=["x", None, "z"])
    db.write("ds", batch)
    # an old timestamp shows whether the second write touches the rows (MySQL's ON UPDATE would reset it)
    execute(url, "UPDATE ds SET created_at = '2000-01-01 00:00:00', updated_at = '2000-01-01 00:00:00'")
    before = fetch(url)
    db.write("ds", batch)
    assert fetch(url) == before
    assert before[0]["updated_at"] == dt.datetime(2000, 1, 1)
    assert db.count_rows("ds") == 3


def test_a_second_run_never_takes_over_rows(url, db):
    prepare(db, run_id="run-1")
    db.write("ds", make_batch("run-1", ["a", "b"], label=["old", "old"], age=[1, 2]))
    db.finish_run("run-1", "registered", record_count=2)
    prepare(db, run_id="run-2")
    db.write("ds", make_batch("run-2", ["a", "b", "c"], label=["new"] * 3, age=[10, 20, 30]))
    rows = {r["data_id"]: (r["ingestor_id"], r["label"], r["age"]) for r in fetch(url)}
    assert rows == {"a": ("run-1", "old", 1), "b": ("run-1", "old", 2), "c": ("run-2", "new", 30)}
    assert db.count_rows("ds", run_id="run-2") == 1
    assert db.count_rows("ds", run_id="run-1") == 2
    assert db.count_existing("ds", ["a", "c", "c", "missing"]) == 2


TYPES = TableSchema.from_mapping({
    "v": "VARCHAR(40)", "c": "CHAR(3)", "t": "TEXT", "ti": "TINYINT", "si": "SMALLINT", "mi": "MEDIUMINT",
    "i": "INT", "bi": "BIGINT", "f": "FLOAT", "d": "DOUBLE", "dec": "DECIMAL(12,3)", "b": "BOOLEAN",
    "day": "DATE", "ts": "DATETIME", "tm": "TIME",
})


def test_values_round_trip(url, db):
    prepare(db, schema=TYPES)
    long_text = "x" * 9_999 + "😀"
    values = {
        "v": ["naïve 😀 日本", None, "", "plain"],
        "c": ["abc", "ü", None, "z"],
        "t": [long_text, None, "tab\tnew\nline", "'; DROP TABLE ds; --"],
        "ti": [-128, 127, None, 0],
        "si": [-32768, 32767, None, 1],
        "mi": [-8388608, 8388607, None, 2],
        "i": [-(2**31), 2**31 - 1, None, 3],
        "bi": [-(2**63), 2**63 - 1, None, 4],
        "f": [1.5, -0.25, None, 0.0],
        "d": [1e300, -2.5e-300, None, 0.1],
        "dec": [Decimal("123456789.123"), Decimal("-0.001"), None, Decimal("0.000")],
        "b": [True, False, None, True],
        "day": [dt.date(1000, 1, 1), dt.date(9999, 12, 31), None, dt.date(2024, 2, 29)],
        "ts": [dt.datetime(1999, 12, 31, 23, 59, 59), dt.datetime(2024, 2, 29, 12), None, dt.datetime(1970, 1, 1)],
        "tm": [dt.time(0, 0), dt.time(23, 59, 59), None, dt.time(12, 30, 1)],
    }
    db.write("ds", make_batch("run-1", ["Ab", "ab", "AB", "aB"], TYPES, label=["😀", None, "x", "y"], **values))
    rows = fetch(url)
    assert [r["data_id"] for r in rows] == ["Ab", "ab", "AB", "aB"]  # case-sensitive keys
    assert [r["label"] for r in rows] == ["😀", None, "x", "y"]
    for name, expected in values.items():
        got = [r[name] for r in rows]
        if name == "b":
            got = [None if g is None else bool(g) for g in got]
        assert got == expected, name


def test_nan_is_stored_as_null(url, db):
    prepare(db, schema=TableSchema.from_mapping({"d": "DOUBLE"}))
    batch = make_batch("run-1", ["a", "b"], TableSchema.from_mapping({"d": "DOUBLE"}), d=[float("nan"), 2.0])
    db.write("ds", batch)
    assert [r["d"] for r in fetch(url)] == [None, 2.0]


def test_infinity_is_refused(db):
    schema = TableSchema.from_mapping({"d": "DOUBLE"})
    prepare(db, schema=schema)
    with pytest.raises(DatabaseError, match="'d': infinite"):
        db.write("ds", make_batch("run-1", ["a"], schema, d=[float("-inf")]))


def test_a_schema_label_is_the_framework_label(db):
    prepare(db, schema=TableSchema.from_mapping({"label": "INT", "age": "INT"}))
    assert list(db.table_schema("ds"))[len(FRAMEWORK_COLUMNS):] == ["age"]
    with pytest.raises(DatabaseError, match="framework column"):
        prepare(db, table="other", schema=TableSchema(), extra_columns=[Column("Filename", parse_sql_type("TEXT"))])


def test_large_batch_goes_through_executemany(url, db):
    prepare(db)
    ids = [f"id-{n}" for n in range(5_000)]
    db.write("ds", make_batch("run-1", ids, age=list(range(5_000))))
    assert db.count_rows("ds", run_id="run-1") == 5_000
    assert db.count_existing("ds", ids + ["nope"]) == 5_000


def test_a_bad_value_is_refused_without_quoting_it(url, db):
    prepare(db)
    secret = "secret-value-4711"
    batch = pa.RecordBatch.from_pydict({
        "data_id": pa.array(["a"]), "ingestor_id": pa.array(["run-1"]), "age": pa.array([secret]),
    })
    with pytest.raises(DatabaseError) as caught:
        db.write("ds", batch)
    message = str(caught.value)
    assert secret not in message and caught.value.__cause__ is None
    assert "'ds'" in message and "'age'" in message
    if db.dialect == "mysql":
        assert "DataError 1366" in message
    assert db.count_rows("ds") == 0


def test_too_long_text_is_refused_on_both_engines(db):
    prepare(db)
    with pytest.raises(DatabaseError, match="'name'"):
        db.write("ds", make_batch("run-1", ["a"], name=["x" * 21]))


def test_write_refuses_columns_it_does_not_own(db):
    prepare(db)
    with pytest.raises(DatabaseError, match="data_id"):
        db.write("ds", pa.RecordBatch.from_pydict({"data_id": ["a"], "id": [5]}))
    with pytest.raises(DatabaseError, match="no such column"):
        db.write("ds", pa.RecordBatch.from_pydict({"data_id": ["a"], "nope": [5]}))
    with pytest.raises(DatabaseError, match="unstorable"):
        db.write("ds", pa.RecordBatch.from_pydict({"data_id": ["a"], "name": [["x", "y"]]}))
    with pytest.raises(DatabaseError, match="bookkeeping"):
        prepare(db, table="tracebloc_ingest_runs")
    assert db.count_rows("ds") == 0


# ---------------------------------------------------------------- runs, salt, read-only


def test_killed_runs_are_cleaned_registered_runs_kept(url, db):
    prepare(db, run_id="run-0")
    db.write("ds", make_batch("run-0", ["a", "b"]))
    db.finish_run("run-0", "registered", record_count=2)
    prepare(db, run_id="run-1")
    db.write("ds", make_batch("run-1", ["c", "d"]))  # then killed: state stays 'loading'
    prepare(db, run_id="run-f")
    db.write("ds", make_batch("run-f", ["e"]))
    db.finish_run("run-f", "failed")
    prepare(db, run_id="run-2")
    assert sorted(r["data_id"] for r in fetch(url)) == ["a", "b"]
    assert {r: db.run_state(r) for r in ("run-0", "run-1", "run-f", "run-2")} == {
        "run-0": "registered", "run-1": "abandoned", "run-f": "abandoned", "run-2": "loading",
    }
    assert db.registered_owner("ds") == "run-0"
    with pytest.raises(DatabaseError, match="removed its rows"):
        db.finish_run("run-1", "registered")


def test_same_run_again_keeps_its_rows(url, db):
    prepare(db, run_id="run-1")
    db.write("ds", make_batch("run-1", ["a"]))
    db.finish_run("run-1", "failed")
    prepare(db, run_id="run-1")  # a retried pod of the same run
    assert db.run_state("run-1") == "loading"
    assert db.count_rows("ds", run_id="run-1") == 1


def test_finish_run_records_state_count_and_time(url, db):
    assert db.run_state("run-1") is None
    db.finish_run("nobody", "failed")  # unknown run, no database yet: ignored
    prepare(db)
    assert db.run_state("run-1") == "loading"
    db.finish_run("run-1", "loaded", record_count=3)
    (row,) = execute(url, "SELECT state, record_count, finished_at, task, table_name FROM tracebloc_ingest_runs")
    assert row[:2] == ("loaded", 3) and row[2] is not None and row[3:] == ("tabular_classification", "ds")
    with pytest.raises(ValueError):
        db.finish_run("run-1", "done")


def test_salt_is_stored_once_and_never_overwritten(db):
    prepare(db, run_id="run-1", salt=SALT)
    assert db.read_salt("ds") == SALT
    prepare(db, run_id="run-2", salt=b"\xff" * 32)
    assert db.read_salt("ds") == SALT
    assert db.read_salt("other") is None


def test_read_only_calls_create_nothing_on_sqlite(tmp_path):
    folder = tmp_path / "not" / "yet"
    db = Database(f"sqlite:///{folder / 'ingest.sqlite'}")
    assert db.read_salt("ds") is None
    assert db.table_exists("ds") is False
    assert db.existing_columns("ds") is None
    assert db.registered_owner("ds") is None
    assert db.run_state("run-1") is None
    assert db.count_rows("ds") == 0
    db.finish_run("run-1", "failed")
    assert not (tmp_path / "not").exists()
    prepare(db)
    assert db.read_salt("ds") == SALT and (folder / "ingest.sqlite").is_file()
    db.close()


def test_read_only_calls_create_nothing_on_mysql(mysql_url):
    db = Database(mysql_url)
    assert (db.read_salt("ds"), db.registered_owner("ds"), db.existing_columns("ds")) == (None, None, None)
    assert db.table_exists("ds") is False and db.run_state("r") is None
    assert table_names(mysql_url) == []
    db.close()


def test_a_missing_mysql_database_is_created_by_prepare_only(mysql_url):
    base, _, query = mysql_url.rpartition("?")
    name = base.rsplit("/", 1)[1] + "_new"
    url = f"{base}_new?{query}"
    exists = "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :n"
    db = Database(url)
    try:
        assert db.read_salt("ds") is None and db.table_exists("ds") is False
        assert execute(mysql_url, exists, {"n": name})[0][0] == 0
        prepare(db)
        assert execute(mysql_url, exists, {"n": name})[0][0] == 1
        assert db.read_salt("ds") == SALT
    finally:
        db.close()
        execute(mysql_url, f"DROP DATABASE IF EXISTS `{name}`")


def test_table_schema_reports_real_types(db):
    prepare(db, schema=TYPES, extra_columns=[MASK])
    assert db.table_schema("ds") == {
        "id": "BIGINT", "created_at": "DATETIME", "updated_at": "DATETIME", "status": "INT",
        "label": "VARCHAR(255)", "data_intent": "VARCHAR(100)", "data_id": "VARCHAR(255)",
        "filename": "VARCHAR(255)", "extension": "VARCHAR(10)", "annotation": "TEXT",
        "ingestor_id": "VARCHAR(255)", "mask_id": "VARCHAR(255)",
        "v": "VARCHAR(40)", "c": "CHAR(3)", "t": "TEXT", "ti": "TINYINT", "si": "SMALLINT", "mi": "MEDIUMINT",
        "i": "INT", "bi": "BIGINT", "f": "FLOAT", "d": "DOUBLE", "dec": "DECIMAL(12,3)", "b": "BOOLEAN",
        "day": "DATE", "ts": "DATETIME(6)", "tm": "TIME(6)",  # what the columns keep: microseconds
    }
    with pytest.raises(DatabaseError, match="does not exist"):
        db.table_schema("nope")


# ---------------------------------------------------------------- URLs, credentials, retries


def test_bad_urls_are_refused_without_echoing_them():
    with pytest.raises(DatabaseError) as caught:
        Database("::not a url:: pw=hunter2")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(DatabaseError, match="unsupported"):
        Database("postgresql://u:hunter2@h/db")
    with pytest.raises(DatabaseError, match="names no database"):
        Database("mysql+pymysql://u:hunter2@127.0.0.1:3306")


def test_mysql_charset_is_always_utf8mb4(mysql_url):
    db = Database(mysql_url.replace("charset=utf8mb4", "charset=latin1").replace("mysql+pymysql", "mysql"))
    prepare(db)
    db.write("ds", make_batch("run-1", ["a"], name=["😀 ü"]))
    assert fetch(mysql_url)[0]["name"] == "😀 ü"
    db.close()


@pytest.fixture
def mysql_user(mysql_url):
    """A user with a password, allowed only on the test database."""
    database = mysql_url.rpartition("?")[0].rsplit("/", 1)[1]
    user, password = f"tb_{secrets.token_hex(4)}", f"Pw-{secrets.token_hex(8)}"
    execute(mysql_url, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    try:
        execute(mysql_url, f"GRANT ALL ON `{database}`.* TO '{user}'@'%'")
        host = server_url().split("@", 1)[1]
        yield f"mysql+pymysql://{user}:{password}@{host}/{database}?charset=utf8mb4", password
    finally:
        execute(mysql_url, f"DROP USER '{user}'@'%'")


def test_messages_never_carry_the_password(mysql_user):
    url, password = mysql_user
    db = Database(url)
    prepare(db)
    assert password not in repr(db) and password not in db.describe()
    with pytest.raises(DatabaseError) as caught:
        db.write("ds", pa.RecordBatch.from_pydict({"data_id": ["a"], "age": ["not-a-number-99"]}))
    assert password not in str(caught.value) and "not-a-number-99" not in str(caught.value)
    db.close()
    wrong = Database(url.replace(password, password + "x"))
    with pytest.raises(DatabaseError) as caught:
        wrong.table_exists("ds")
    assert "1045" in str(caught.value) and password not in str(caught.value)
    wrong.close()


def _hold_row_lock(url, data_id):
    """Insert ``data_id`` in an open transaction on another connection; returns its release."""
    engine = sa.create_engine(url)
    conn = engine.connect()
    transaction = conn.begin()
    conn.execute(sa.text("INSERT INTO ds (data_id, ingestor_id) VALUES (:d, 'blocker')"), {"d": data_id})

    def release():
        transaction.rollback()
        conn.close()
        engine.dispose()

    return release


@pytest.fixture
def impatient_url(mysql_url):
    """The test database with the shortest lock wait the server allows (MariaDB 0 s, MySQL 1 s)."""
    url = mysql_url + "&init_command=SET innodb_lock_wait_timeout=0"
    return url, execute(url, "SELECT @@innodb_lock_wait_timeout")[0][0]


def test_a_lock_wait_timeout_is_retried(mysql_url, impatient_url, caplog):
    url, wait = impatient_url
    db = Database(url, retry_delays=(0.2, 0.2, 0.2))
    prepare(db)
    # held past the first attempt (InnoDB may take up to 2 x wait), released before the last
    timer = threading.Timer(0.3 if wait == 0 else 2.5, _hold_row_lock(mysql_url, "a"))
    timer.start()
    db.write("ds", make_batch("run-1", ["a", "b"]))
    timer.join()
    assert "transient OperationalError 1205, retry 1" in caplog.text
    assert {r["data_id"]: r["ingestor_id"] for r in fetch(mysql_url)} == {"a": "run-1", "b": "run-1"}
    db.close()


def test_retries_end_with_a_clear_error(mysql_url, impatient_url):
    url, _ = impatient_url
    db = Database(url, retry_delays=(0.1,))
    prepare(db)
    release = _hold_row_lock(mysql_url, "a")
    try:
        expected = r"writing a batch to table 'ds' failed: OperationalError 1205 \(after 1 retries\)"
        with pytest.raises(DatabaseError, match=expected):
            db.write("ds", make_batch("run-1", ["a"]))
    finally:
        release()
        db.close()
    assert db.count_rows("ds") == 0
