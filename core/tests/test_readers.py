"""Source tables as people write them: Parquet from pandas, polars and pyarrow, the reader chosen
by content, one null policy in every reader and type, nested JSON; on real SQLite and MariaDB."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tracebloc_ingestor import BaseIngestor, FileTypeValidator
from tracebloc_ingestor.reading import SourceError, detect_format, read_table_batches
from tracebloc_ingestor.testing.runs import has_table, run_plugin, table_rows


class Classes(BaseIngestor):
    category = "demo_classification"


class Targets(BaseIngestor):
    category = "demo_regression"
    label_kind = "regression"


@pytest.fixture(params=["sqlite", "mysql"])
def db_url(request):
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "mysql_url")


def config(folder, body: str, *, category: str = "demo_classification", table: str = "t") -> str:
    path = folder / "ingest.yaml"
    path.write_text(f"apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: {category}\ntable: {table}\nintent: train\n{body}",
                    encoding="utf-8")
    return str(path)


def run(plugin, folder, url, body: str, **flags):
    category = plugin.category
    flags = {"config_path": config(folder, body, category=category, table=flags.pop("table", "t")), "database_url": url,
             "output_dir": str(folder / "out"), **flags}
    return run_plugin(plugin, flags)


def errors(report):
    return [(i.rule, i.row, i.column, i.file) for i in report.issues if i.is_error]


def plain(rows, decimals=(4,)):
    """Rows as SQLite and MySQL both give them back: dates as ISO text, decimals as floats.

    SQLite keeps a DECIMAL's exact text (``DECIMAL_TEXT``), so those columns (by position)
    come back as strings there.
    """
    def one(i, v):
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, Decimal) or (i in decimals and isinstance(v, str)):
            return float(v)
        return v
    return [tuple(one(i, v) for i, v in enumerate(row)) for row in rows]


# -- Parquet as people write it ---------------------------------------------------------------

BERLIN = dt.timezone(dt.timedelta(hours=1))
TYPED = pa.table({
    "name": pa.array(["Ann", "Bo", None, "Dée 🐈"], pa.large_string()),
    "code": pa.array([b"a1", b"b2", b"c3", None], pa.large_binary()),
    "city": pa.array(["Köln", "Bonn", "Köln", "Bonn"]).dictionary_encode(),
    "seen": pa.array([dt.datetime(2024, 5, 1, 13, 30, 0, 250000, tzinfo=BERLIN)] * 4, pa.timestamp("us", tz="Europe/Berlin")),
    "born": pa.array([dt.date(1990, 1, 2), dt.date(2000, 2, 29), None, dt.date(1000, 1, 1)], pa.date32()),
    "price": pa.array([Decimal("12.50"), Decimal("-0.01"), None, Decimal("99999999.99")], pa.decimal128(10, 2)),
    "label": pa.array(["x", "y", "x", "y"], pa.large_string()),
})


def test_typed_parquet_columns_are_stored_exactly(tmp_path, db_url):
    pq.write_table(TYPED, tmp_path / "data.parquet")
    report, out, err = run(Classes(), tmp_path, db_url, "parquet: data.parquet\n")
    assert report.exit_code == 0, (report.message, err)
    assert report.schema == {"name": "VARCHAR(255)", "code": "VARCHAR(255)", "city": "VARCHAR(255)", "seen": "DATETIME",
                             "born": "DATE", "price": "DECIMAL(10,2)"}
    rows = table_rows(db_url, "t", "name, code, city, born, price, label")
    assert plain(rows) == [
        ("Ann", "a1", "Köln", "1990-01-02", 12.5, "x"),
        ("Bo", "b2", "Bonn", "2000-02-29", -0.01, "y"),
        (None, "c3", "Köln", None, None, "x"),
        ("Dée 🐈", None, "Bonn", "1000-01-01", 99999999.99, "y"),
    ]
    # exact decimals: MySQL's DECIMAL, SQLite's exact text
    assert [None if r[4] is None else Decimal(r[4]) for r in rows] == [Decimal("12.50"), Decimal("-0.01"), None, Decimal("99999999.99")]
    # the instant in UTC (whole seconds: the database's own column precision is not this test's concern)
    (seen,) = table_rows(db_url, "t", "seen")[0]
    seen = seen if isinstance(seen, dt.datetime) else dt.datetime.fromisoformat(seen)
    assert seen.replace(microsecond=0) == dt.datetime(2024, 5, 1, 12, 30, 0)
    assert "Parquet (by its content" in out and report.reader.startswith("Parquet")
    assert report.null_counts == {"name": 1, "code": 1, "city": 0, "seen": 0, "born": 1, "price": 1}


@pytest.mark.parametrize("kind", ["struct", "list", "map", "decimal256", "duration"])
def test_unstorable_parquet_columns_are_refused_by_name_before_reading(tmp_path, sqlite_url, kind):
    column = {
        "struct": pa.array([{"a": 1}, {"a": 2}]),
        "list": pa.array([[1, 2], [3]]),
        "map": pa.array([[("k", 1)], [("k", 2)]], pa.map_(pa.string(), pa.int64())),
        "decimal256": pa.array([Decimal("1"), Decimal("2")], pa.decimal256(50, 0)),
        "duration": pa.array([1, 2], pa.duration("s")),
    }[kind]
    pq.write_table(pa.table({"ok": [1, 2], "odd": column, "label": ["x", "y"]}), tmp_path / "data.parquet")
    report, out, err = run(Classes(), tmp_path, sqlite_url, "parquet: data.parquet\n")
    assert report.exit_code == 1
    assert errors(report) == [("column_type", None, "odd", "data.parquet")]
    assert report.counters.total == 0  # refused from the schema: no row was read
    assert not has_table(sqlite_url, "t")


def test_nested_parquet_columns_follow_the_json_text_policy(tmp_path, sqlite_url):
    table = pa.table({
        "tags": pa.array([["a", "b"], None], pa.large_list(pa.large_string())),
        "point": pa.array([{"x": 1, "y": Decimal("2.50")}, {"x": 3, "y": None}], pa.struct([("x", pa.int64()), ("y", pa.decimal128(5, 2))])),
        "label": ["x", "y"],
    })
    pq.write_table(table, tmp_path / "data.parquet")
    body = "parquet: data.parquet\nschema: {tags: TEXT, point: TEXT}\nspec: {json_options: {nested: json_text}}\n"
    report, out, err = run(Classes(), tmp_path, sqlite_url, body)
    assert report.exit_code == 0, err
    assert table_rows(sqlite_url, "t", "tags, point") == [('["a","b"]', '{"x":1,"y":2.5}'), (None, '{"x":3,"y":null}')]


def test_binary_that_is_not_text_is_refused_naming_the_row(tmp_path, sqlite_url):
    pq.write_table(pa.table({"blob": pa.array([b"ok", b"\xff\xfe"], pa.large_binary()), "label": ["x", "y"]}), tmp_path / "d.parquet")
    report, out, err = run(Classes(), tmp_path, sqlite_url, "parquet: d.parquet\n")
    assert report.exit_code == 1 and ("encoding", 2, "blob", "d.parquet") in errors(report)
    assert not has_table(sqlite_url, "t")


SEED = '''
from tracebloc_ingestor import BaseIngestor, FileTypeValidator

class MyIngestor(BaseIngestor):
    validators = [FileTypeValidator(allowed=[".parquet"])]

    def transform(self, record):
        # your preprocessing, one record (a dict of typed values) at a time
        return record
'''


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"name": ["Ann", "Bo", "Cy", None], "age": [31, 42, 53, 64], "score": [0.5, float("nan"), 1.25, 2.0],
                         "label": ["yes", "no", "yes", "no"]})


def test_the_seed_readme_example_runs_on_a_pandas_3_file(tmp_path, db_url):
    frame = _frame()
    frame.to_parquet(tmp_path / "data.parquet")
    if int(pd.__version__.split(".")[0]) >= 3:  # pandas 3 writes text as large_string
        assert pq.read_schema(tmp_path / "data.parquet").field("name").type == pa.large_string()
    namespace: dict = {}
    exec(compile(SEED, "seed_example.py", "exec"), namespace)  # the README's class, as written there
    environ = {"LABEL_FILE": "data.parquet", "SRC_PATH": str(tmp_path), "TABLE_NAME": "seed", "DATABASE_URL": db_url,
               "TRACEBLOC_OUTPUT_DIR": str(tmp_path / "out")}
    report = namespace["MyIngestor"]().ingest(environ=environ, exit=False)
    assert report.exit_code == 0, report.message
    assert table_rows(db_url, "seed", "name, age, score, label") == [
        ("Ann", 31, 0.5, "yes"), ("Bo", 42, None, "no"), ("Cy", 53, 1.25, "yes"), (None, 64, 2.0, "no")]
    assert report.null_counts["score"] == 1 and report.null_counts["name"] == 1


def test_polars_and_pyarrow_large_types_give_the_same_rows(tmp_path, sqlite_url):
    polars = pytest.importorskip("polars")
    polars.DataFrame({"name": ["a", "b", None], "n": [1, 2, 3], "label": ["x", "y", "x"]}).write_parquet(tmp_path / "pl.parquet")
    assert pq.read_schema(tmp_path / "pl.parquet").field("name").type in (pa.large_string(), pa.string_view(), pa.string())
    pq.write_table(pa.table({"name": pa.array(["a", "b", None], pa.large_string()), "n": [1, 2, 3],
                             "label": pa.array(["x", "y", "x"], pa.large_string())}), tmp_path / "pa.parquet")
    ids = []
    for name in ("pl", "pa"):
        report, _, err = run(Classes(), tmp_path, sqlite_url, f"parquet: {name}.parquet\n", table=name)
        assert report.exit_code == 0, err
        assert table_rows(sqlite_url, name, "name, n, label") == [("a", 1, "x"), ("b", 2, "y"), (None, 3, "x")]
        ids.append(report.counters.new_rows)
    assert ids == [3, 3]


# -- which reader ---------------------------------------------------------------------------


def test_the_reader_follows_content_then_extension_not_a_mismatching_key(tmp_path, sqlite_url, caplog):
    pq.write_table(pa.table({"n": [1, 2], "label": ["x", "y"]}), tmp_path / "data.parquet")
    report, out, err = run(Classes(), tmp_path, sqlite_url, "csv: data.parquet\n", log_level="INFO")
    assert report.exit_code == 0, err
    assert table_rows(sqlite_url, "t", "n, label") == [(1, "x"), (2, "y")]
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reading ")]
    assert said == ["reading data.parquet as Parquet (by its content, the Parquet magic bytes), not as ingest.yaml: csv (CSV) says"]
    assert report.reader in out
    (tmp_path / "rows.csv").write_text("n,label\n3,x\n4,y\n", encoding="utf-8")
    report, out, err = run(Classes(), tmp_path, sqlite_url, "json: rows.csv\n", table="t2")
    assert report.exit_code == 0 and report.reader.startswith("CSV (by its extension .csv")
    (tmp_path / "fake.parquet").write_text("n,label\n1,x\n", encoding="utf-8")
    report, out, err = run(Classes(), tmp_path, sqlite_url, "parquet: fake.parquet\n", table="t3")
    assert report.exit_code == 1 and errors(report) == [("format", None, None, "fake.parquet")]
    assert not has_table(sqlite_url, "t3")


def test_detect_format_rules(tmp_path):
    (tmp_path / "a.txt").write_text("[]", encoding="utf-8")
    assert detect_format(tmp_path / "a.txt").format == "csv"
    assert detect_format(tmp_path / "a.txt", declared="json").format == "json"
    assert detect_format(tmp_path / "a.txt", forced="json").reason == "the category"
    pq.write_table(pa.table({"a": [1]}), tmp_path / "p.csv")
    assert detect_format(tmp_path / "p.csv", forced="csv").format == "parquet"
    with pytest.raises(SourceError):
        detect_format(tmp_path / "a.txt", declared="parquet")


# -- one null policy ----------------------------------------------------------------------------

NULLS_CSV = "ref,price,qty,ratio,note,label\n" \
    "r1,NA,nan,NaN,NA,x\n" \
    "r2,,,,,y\n" \
    "r3,1.50,2,0.5,ok,x\n"
NULLS_SCHEMA = "schema:\n  ref: VARCHAR(8)\n  price: DECIMAL(6,2)\n  qty: INT\n  ratio: DOUBLE\n  note: VARCHAR(8)\n"


def test_the_default_null_words_apply_alike_to_every_non_text_type(tmp_path, db_url):
    (tmp_path / "d.csv").write_text(NULLS_CSV, encoding="utf-8")
    report, out, err = run(Classes(), tmp_path, db_url, "csv: d.csv\n" + NULLS_SCHEMA)
    assert report.exit_code == 0, err
    assert plain(table_rows(db_url, "t", "price, qty, ratio, note"), decimals=(0,)) == [
        (None, None, None, "NA"), (None, None, None, None), (1.5, 2, 0.5, "ok")]
    assert report.null_counts == {"ref": 0, "price": 2, "qty": 2, "ratio": 2, "note": 1}
    assert "missing values stored as NULL: price 2, qty 2, ratio 2, note 1" in out


def test_given_null_values_apply_to_every_column_and_reader(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_text(NULLS_CSV, encoding="utf-8")
    body = "csv: d.csv\n" + NULLS_SCHEMA + 'spec: {csv_options: {null_values: ["", "NA"]}}\n'
    report, out, err = run(Classes(), tmp_path, sqlite_url, body)
    # "nan" is no longer a null word: a value that is no number is refused, by row, column and rule
    assert report.exit_code == 1
    assert sorted(errors(report)) == [("finite", 1, "ratio", "d.csv"), ("integer", 1, "qty", "d.csv")]
    assert all(i.value == "nan" or i.value == "NaN" for i in report.issues)  # values only in Issue.value
    assert not has_table(sqlite_url, "t")
    (tmp_path / "d.csv").write_text(NULLS_CSV.replace("nan", "NA").replace("NaN", "NA"), encoding="utf-8")
    report, out, err = run(Classes(), tmp_path, sqlite_url, body)
    assert report.exit_code == 0, err
    assert table_rows(sqlite_url, "t", "note") == [(None,), (None,), ("ok",)]  # "NA" is a null word of the text column too
    # Parquet's NaN is the word "nan": refused here as in the CSV
    pq.write_table(pa.table({"ratio": [0.5, float("nan")], "label": ["x", "y"]}), tmp_path / "p.parquet")
    body = "parquet: p.parquet\nschema: {ratio: DOUBLE}\n" + 'spec: {csv_options: {null_values: [""]}}\n'
    report, out, err = run(Classes(), tmp_path, sqlite_url, body, table="p")
    assert report.exit_code == 1 and errors(report) == [("finite", 2, "ratio", "p.parquet")]


@pytest.mark.parametrize("target", ["NaN", "", "nan", "NA", "inf"])
def test_a_missing_or_nan_regression_target_is_refused_naming_the_row(tmp_path, sqlite_url, target):
    (tmp_path / "d.csv").write_text(f"x,label\n1,2.5\n2,{target}\n3,4.0\n", encoding="utf-8")
    report, out, err = run(Targets(), tmp_path, sqlite_url, "csv: d.csv\n")
    assert report.exit_code == 1
    rule = "number" if target == "inf" else "required"
    assert errors(report) == [(rule, 2, "label", "d.csv")]
    assert not has_table(sqlite_url, "t")


def test_a_nan_target_in_parquet_is_refused_too(tmp_path, sqlite_url):
    pq.write_table(pa.table({"x": [1, 2], "label": [1.5, float("nan")]}), tmp_path / "d.parquet")
    report, _, _ = run(Targets(), tmp_path, sqlite_url, "parquet: d.parquet\n")
    assert report.exit_code == 1 and errors(report) == [("required", 2, "label", "d.parquet")]


def test_csv_without_a_header_row(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_text("# exported\n1,x\n2,y\n", encoding="utf-8")
    body = "csv: d.csv\nlabel: column_2\nspec: {csv_options: {header: false, skip_rows: 1}}\n"
    report, out, err = run(Classes(), tmp_path, sqlite_url, body)
    assert report.exit_code == 0, err
    assert report.schema == {"column_1": "BIGINT"}
    assert table_rows(sqlite_url, "t", "column_1, label") == [(1, "x"), (2, "y")]


# -- nested JSON -------------------------------------------------------------------------------

NESTED = [
    {"id_": "a", "user": {"age": 31, "home": {"city": "Köln"}}, "tags": ["x", "y"], "label": "p"},
    {"id_": "b", "user": {"age": 42, "home": {"city": "Bonn"}}, "tags": [], "label": "q"},
]


def test_nested_json_is_refused_by_default_naming_row_and_key(tmp_path, sqlite_url):
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in NESTED), encoding="utf-8")
    report, out, err = run(Classes(), tmp_path, sqlite_url, "json: d.jsonl\n")
    assert report.exit_code == 1
    assert errors(report) == [("json_scalar", 1, "user", "d.jsonl")]
    assert "spec.json_options.nested" in err and "Köln" not in err + out


def test_nested_json_flattened_into_dotted_columns(tmp_path, db_url):
    (tmp_path / "d.json").write_text(json.dumps(NESTED), encoding="utf-8")
    report, out, err = run(Classes(), tmp_path, db_url, "json: d.json\nspec: {json_options: {nested: flatten}}\n")
    assert report.exit_code == 0, err
    assert list(report.schema) == ["id_", "user.age", "user.home.city", "tags"]
    assert table_rows(db_url, "t", "id_, `user.age`, `user.home.city`, tags" if "mysql" in db_url
                      else 'id_, "user.age", "user.home.city", tags') == [
        ("a", 31, "Köln", '["x","y"]'), ("b", 42, "Bonn", "[]")]


def test_nested_json_kept_as_json_text(tmp_path, sqlite_url):
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in NESTED), encoding="utf-8")
    report, out, err = run(Classes(), tmp_path, sqlite_url, "json: d.jsonl\n", json_nested="json_text")
    assert report.exit_code == 0, err
    stored = table_rows(sqlite_url, "t", "user")
    assert [json.loads(v) for (v,) in stored] == [r["user"] for r in NESTED]


def test_read_table_batches_numbers_rows_and_keeps_csv_text(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n007,x\n,y\n", encoding="utf-8")
    (batch,) = list(read_table_batches(tmp_path / "d.csv"))
    assert batch.to_pydict() == {"a": ["007", ""], "b": ["x", "y"], "_tb_row": [1, 2]}
