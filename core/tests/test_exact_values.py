"""Every SQL type of the schema vocabulary is stored exactly, on every write path (property-based).

Random values of each type, extremes included, go through the streamed first LOAD DATA into
an empty MariaDB table, LOAD DATA chunks into a table that has rows, multi-row INSERTs and
SQLite, and are read back with the driver alone (no code of the sink) and compared with what
was written. FLOAT is single precision by definition: the value kept is the nearest
single-precision number on every path. NaN is stored as NULL (the platform's missing value).
Values a column cannot hold exactly are refused, naming the column; the last tests show it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracebloc_ingestor.schema import SqlType, TableSchema
from tracebloc_ingestor.sinks.database import Database, DatabaseError
from tracebloc_ingestor.sinks.db.bulk.load_stream import bulk_load_capable
from tracebloc_ingestor.testing.fixtures import require_mysql
from tracebloc_ingestor.testing.mysql import temporary_database

SALT = bytes(range(32))
# one column of each type of the vocabulary (with the precisions and lengths at their limits)
SCHEMA = TableSchema.from_mapping({
    "ti": "TINYINT", "si": "SMALLINT", "mi": "MEDIUMINT", "i": "INT", "bi": "BIGINT",
    "dec_int": "DECIMAL(38,0)", "dec_frac": "DECIMAL(38,38)", "dec_mixed": "DECIMAL(38,10)",
    "dec_small": "DECIMAL(1,0)", "money": "DECIMAL(12,2)",
    "f": "FLOAT", "d": "DOUBLE", "b": "BOOLEAN", "day": "DATE",
    "ts": "DATETIME", "ts_ms": "DATETIME(3)", "ts_s": "DATETIME(0)", "tm": "TIME", "tm_s": "TIME(0)",
    "v1": "VARCHAR(1)", "v": "VARCHAR(255)", "c": "CHAR(5)", "t": "TEXT",
})
TEXT_BYTES = 65_535
FLOAT32_OVERFLOW = 3.4028235677973366e38
MIN_DATETIME, MAX_DATETIME = dt.datetime(1000, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999_999)
# every code point a string may hold (surrogates are not text), astral planes included
CHARACTERS = st.characters(exclude_categories=("Cs",))
PATHS = ("load_data_stream", "load_data", "insert", "sqlite")
EXAMPLES = settings(
    max_examples=40, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def decimals(precision: int, scale: int) -> st.SearchStrategy:
    """Exact Decimals of DECIMAL(p,s), the largest magnitudes weighted in (built from digits, no context rounding)."""
    largest = 10**precision - 1
    units = st.one_of(st.integers(-largest, largest), st.sampled_from([largest, -largest, 1, -1, 0]))
    return units.map(lambda n: Decimal((int(n < 0), tuple(int(d) for d in str(abs(n))), -scale)))


def long_text() -> st.SearchStrategy:
    """A repeated piece up to TEXT's byte limit (non-BMP pieces count four bytes per character)."""
    return st.text(CHARACTERS, min_size=1, max_size=8).flatmap(
        lambda piece: st.integers(1, TEXT_BYTES // len(piece.encode())).map(lambda n: piece * n)
    )


def values_of(sql_type: SqlType) -> st.SearchStrategy:
    """Values a column of ``sql_type`` accepts after validation (NULL included)."""
    name = sql_type.name
    if sql_type.is_integer:
        low, high = sql_type.integer_bounds
        values = st.integers(low, high) | st.sampled_from([low, high])
    elif name == "DECIMAL":
        values = decimals(sql_type.precision, sql_type.scale)
    elif name == "FLOAT":
        values = st.floats(allow_infinity=False).filter(lambda x: abs(x) < FLOAT32_OVERFLOW or x != x)
    elif name == "DOUBLE":
        values = st.floats(allow_infinity=False) | st.sampled_from([5e-324, -1.7976931348623157e308, -0.0])
    elif name == "BOOLEAN":
        values = st.booleans()
    elif name == "DATE":
        values = st.dates(MIN_DATETIME.date(), MAX_DATETIME.date())
    elif name in ("DATETIME", "TIME"):
        values = st.datetimes(MIN_DATETIME, MAX_DATETIME) if name == "DATETIME" else st.times()
        step = 10 ** (6 - (6 if sql_type.precision is None else sql_type.precision))
        values = values.map(lambda v: v.replace(microsecond=v.microsecond // step * step))
    elif name == "TEXT":
        values = st.text(CHARACTERS, max_size=300) | long_text()
    elif name == "CHAR":
        # CHAR drops trailing spaces when read; such values are refused (test below)
        values = st.text(CHARACTERS, max_size=sql_type.length).map(lambda s: s.rstrip(" "))
    else:
        values = st.text(CHARACTERS, max_size=sql_type.length)
    return st.none() | values


ROWS = st.lists(st.fixed_dictionaries({c.name: values_of(c.type) for c in SCHEMA.features}), min_size=1, max_size=8)


def expected(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        row = dict(row)
        for name in ("f", "d"):
            if row[name] is not None and row[name] != row[name]:
                row[name] = None  # NaN is stored as NULL
        if row["f"] is not None:
            row["f"] = float(np.float32(row["f"]))  # FLOAT keeps single precision
        out.append(row)
    return out


def make_batch(run_id: str, ids: list[str], rows: list[dict]) -> pa.RecordBatch:
    arrays = {
        "data_id": pa.array(ids, pa.string()),
        "ingestor_id": pa.array([run_id] * len(ids), pa.string()),
        "data_intent": pa.array(["train"] * len(ids), pa.string()),
    }
    for column in SCHEMA.features:
        arrays[column.name] = pa.array([row[column.name] for row in rows], column.type.arrow_type())
    return pa.RecordBatch.from_pydict(arrays)


def read_back(engine: sa.Engine, ids: list[str]) -> list[dict]:
    """The rows of ``ids`` in id order, converted from the driver's values with the standard library only."""
    mysql = engine.dialect.name == "mysql"
    selected = []
    for column in SCHEMA.features:
        quoted = f"`{column.name}`" if mysql else f'"{column.name}"'
        # MySQL prints FLOAT with 6 significant digits; as a DOUBLE it shows the single-precision value exactly
        selected.append(f"CAST({quoted} AS DOUBLE)" if mysql and column.type.name == "FLOAT" else quoted)
    marks = ", ".join(["%s" if mysql else "?"] * len(ids))
    sql = f"SELECT {', '.join(selected)} FROM ds WHERE data_id IN ({marks}) ORDER BY id"
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(sql, tuple(ids)).all()
    return [{c.name: _python(c.type, value) for c, value in zip(SCHEMA.features, row)} for row in raw]


def _python(sql_type: SqlType, value):
    if value is None:
        return None
    name = sql_type.name
    if name == "BOOLEAN":
        return bool(value)
    if name == "DECIMAL":
        return Decimal(value) if isinstance(value, str) else value  # SQLite keeps DECIMAL as its exact text
    if name == "DATE" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if name == "DATETIME" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if name == "TIME":
        if isinstance(value, dt.timedelta):  # PyMySQL reads TIME as a duration
            return (dt.datetime.min + value).time()
        return dt.time.fromisoformat(value)
    return value


class Target:
    """One write path with its table; ``write`` stores rows, ``rows`` reads them back."""

    def __init__(self, path: str, url: str) -> None:
        self.path, self.url = path, url
        self.db = Database(url, load_data=False if path == "insert" else None)
        self.db.prepare("ds", SCHEMA, run_id="run-1", category="tabular_classification", salt=SALT)
        self.engine = sa.create_engine(url)
        self.ids = (f"id-{n}" for n in itertools.count())
        if path in ("load_data", "insert"):
            self.db.write("ds", make_batch("run-1", [next(self.ids)], [dict.fromkeys(SCHEMA.names())]))

    def write(self, rows: list[dict]) -> list[str]:
        ids = [next(self.ids) for _ in rows]
        batch = make_batch("run-1", ids, rows)
        if self.path == "load_data_stream":
            with self.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM ds")
            assert self.db.begin_stream("ds")
            self.db.send(self.db.prepare_write("ds", batch))
            self.db.finish_stream()
        else:
            self.db.write("ds", batch)
        assert self.db.write_path == self.path
        return ids

    def close(self) -> None:
        self.db.close()
        self.engine.dispose()


@pytest.fixture(scope="module", params=PATHS)
def target(request, tmp_path_factory):
    if request.param == "sqlite":
        found = Target("sqlite", f"sqlite:///{tmp_path_factory.mktemp('exact') / 'ingest.sqlite'}")
        yield found
        found.close()
        return
    require_mysql()
    with temporary_database() as url:
        if request.param == "load_data_stream":
            engine = sa.create_engine(url)
            with engine.connect() as conn:
                version = conn.exec_driver_sql("SELECT VERSION()").scalar()
            engine.dispose()
            if not bulk_load_capable(version):
                pytest.skip(f"{version} has no safe InnoDB bulk insert: no streamed load there")
        found = Target(request.param, url)
        yield found
        found.close()


@EXAMPLES
@given(rows=ROWS)
def test_every_type_round_trips_exactly_on_every_write_path(target, rows):
    ids = target.write(rows)
    assert read_back(target.engine, ids) == expected(rows)


# -- what a column cannot hold exactly is refused, naming the column, with nothing written


@pytest.fixture(params=["sqlite", "mysql"])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


def batch_of(schema: TableSchema, ids: list[str], **columns) -> pa.RecordBatch:
    arrays = {"data_id": pa.array(ids, pa.string()), "ingestor_id": pa.array(["run-1"] * len(ids))}
    for column in schema.features:
        arrays[column.name] = pa.array(columns[column.name], column.type.arrow_type())
    return pa.RecordBatch.from_pydict(arrays)


@pytest.mark.parametrize("load_data", [None, False])
def test_values_a_column_cannot_hold_are_refused_naming_it(url, load_data):
    schema = TableSchema.from_mapping({"c": "CHAR(3)", "whole": "DATETIME(0)", "f": "FLOAT", "t": "TEXT"})
    db = Database(url, load_data=load_data)
    db.prepare("ds", schema, run_id="run-1", category="c", salt=SALT)
    good = {"c": ["ab"], "whole": [dt.datetime(2024, 1, 1, 12)], "f": [1.5], "t": ["x"]}
    bad = {
        "c": (["ab "], "ends in a space, which CHAR(3) drops"),
        "whole": ([dt.datetime(2024, 1, 1, 12, 0, 0, 500_000)], "keeps whole seconds"),
        "f": ([3.41e38], "outside the range of FLOAT"),
        "t": (["é" * 40_000], "longer than 65,535 bytes"),
    }
    for name, (values, words) in bad.items():
        with pytest.raises(DatabaseError, match=f"column {name!r}: .*{re.escape(words)}") as caught:
            db.write("ds", batch_of(schema, ["x"], **{**good, name: values}))
        assert "é" not in str(caught.value)
    assert db.count_rows("ds") == 0
    db.write("ds", batch_of(schema, ["ok"], **good))
    assert db.count_rows("ds") == 1
    db.close()


def test_a_mysql_table_made_before_keeps_working_and_refuses_fractions(mysql_url):
    """A table whose DATETIME keeps whole seconds (as tables made before this version do)."""
    old = TableSchema.from_mapping({"ts": "DATETIME(0)", "tm": "TIME(0)"})
    db = Database(mysql_url)
    db.prepare("ds", old, run_id="run-1", category="c", salt=SALT)
    db.close()
    db = Database(mysql_url)
    new = TableSchema.from_mapping({"ts": "DATETIME", "tm": "TIME"})
    db.prepare("ds", new, run_id="run-2", category="c", salt=SALT)  # accepted: whole seconds still fit
    assert {k: v for k, v in db.table_schema("ds").items() if k in ("ts", "tm")} == {"ts": "DATETIME", "tm": "TIME"}
    whole = batch_of(new, ["a"], ts=[dt.datetime(2024, 1, 1, 12)], tm=[dt.time(8)])
    db.write("ds", whole)
    with pytest.raises(DatabaseError, match="column 'ts': a value has a fraction of a second .* keeps whole seconds"):
        db.write("ds", batch_of(new, ["b"], ts=[dt.datetime(2024, 1, 1, 12, 0, 0, 1)], tm=[None]))
    with pytest.raises(DatabaseError, match=r"column 'tm': .*change the column to TIME\(6\)"):
        db.write("ds", batch_of(new, ["c"], ts=[None], tm=[dt.time(8, 0, 0, 250_000)]))
    assert db.count_rows("ds") == 1
    with pytest.raises(DatabaseError, match=r"typed differently: ts \(schema DATETIME\(6\), table DATETIME\)"):
        Database(mysql_url).prepare("ds", TableSchema.from_mapping({"ts": "DATETIME(6)", "tm": "TIME"}),
                                    run_id="run-3", category="c", salt=SALT)
    db.close()


def test_a_sqlite_table_made_before_keeps_what_it_kept(sqlite_url):
    """SQLite tables made before declared bare DATETIME (which kept microseconds) and numeric DECIMAL."""
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'CREATE TABLE ds (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at DATETIME, updated_at DATETIME, '
            'status INT, label VARCHAR(255), data_intent VARCHAR(100), data_id VARCHAR(255) NOT NULL UNIQUE, '
            'filename VARCHAR(255), extension VARCHAR(10), annotation TEXT, ingestor_id VARCHAR(255), '
            'ts DATETIME, amount DECIMAL(30,6))'
        )
    schema = TableSchema.from_mapping({"ts": "DATETIME", "amount": "DECIMAL(30,6)"})
    db = Database(sqlite_url)
    db.prepare("ds", schema, run_id="run-1", category="c", salt=SALT)
    assert db.table_schema("ds")["ts"] == "DATETIME(6)"
    stamp = dt.datetime(2024, 1, 1, 12, 0, 0, 123_456)
    db.write("ds", batch_of(schema, ["a"], ts=[stamp], amount=[Decimal("123456789.123456")]))
    with pytest.raises(DatabaseError, match="column 'amount': a value has more than 15 significant digits"):
        db.write("ds", batch_of(schema, ["b"], ts=[None], amount=[Decimal("1234567890.123456")]))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT ts, amount FROM ds").all() == [("2024-01-01 12:00:00.123456", 123456789.123456)]
    engine.dispose()
    db.close()
