"""Hostile and awkward sources: every refusal names file, row, column and rule, echoes no value,
writes nothing and exits 1 (data) or 2 (configuration); columns and schemas that do not match."""

from __future__ import annotations

import os
import resource
import time

import pytest

from tracebloc_ingestor import BaseIngestor
from tracebloc_ingestor.testing.runs import has_table, run_plugin, table_columns, table_rows


class Classes(BaseIngestor):
    category = "demo_classification"


@pytest.fixture(params=["sqlite", "mysql"])
def db_url(request):
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "mysql_url")


def run(folder, url, body: str = "csv: d.csv\n", *, table: str = "t", environ=None, **flags):
    path = folder / "ingest.yaml"
    path.write_text(f"apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: demo_classification\ntable: {table}\n"
                    f"intent: train\n{body}", encoding="utf-8")
    flags = {"config_path": str(path), "database_url": url, "output_dir": str(folder / "out"), **flags}
    return run_plugin(Classes(), flags, environ)


def errors(report):
    return [(i.rule, i.row, i.column, i.file) for i in report.issues if i.is_error]


# -- bytes and sizes ------------------------------------------------------------------------


def test_a_latin1_byte_deep_in_a_utf8_csv_is_named_by_row_and_column(tmp_path, sqlite_url):
    rows = [f"{i},name{i},{'x' if i % 2 else 'y'}\n".encode() for i in range(1, 20_001)]
    rows[14_999] = b"15000,Jos\xe9,x\n"  # Latin-1 'é' in record 15,000
    (tmp_path / "d.csv").write_bytes(b"n,name,label\n" + b"".join(rows))
    report, out, err = run(tmp_path, sqlite_url)
    assert report.exit_code == 1
    assert ("encoding", 15_000, "name", "d.csv") in errors(report)
    assert not any(e[0] == "encoding" and e[1] in (None, 0) for e in errors(report))
    assert "Jos" not in out + err
    assert not has_table(sqlite_url, "t")


def test_a_bad_byte_in_the_header_itself_is_the_header(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_bytes(b"n,na\xefme,label\n1,a,x\n")
    report, _, _ = run(tmp_path, sqlite_url)
    assert report.exit_code == 1 and errors(report) == [("encoding", None, None, "d.csv")]
    assert "header row" in report.issues[0].message


def test_fields_over_a_mebibyte_are_read_whole(tmp_path, db_url):
    big = "é" * 1_500_000  # 3 MB of UTF-8 in one field, past the reader's 512 KiB block
    (tmp_path / "d.csv").write_text("n,note,label\n" + "".join(f"{i},small,x\n" for i in range(1, 6)) + f'6,"{big}",y\n7,after,x\n',
                                    encoding="utf-8")
    # read whole, then held to the column's own rule (TEXT holds 64 KiB), by row and column
    report, out, err = run(tmp_path, db_url, "csv: d.csv\nschema:\n  n: INT\n  note: TEXT\n")
    assert report.exit_code == 1 and errors(report) == [("max_length", 6, "note", "d.csv")]
    assert not has_table(db_url, "t")
    # a field that is not stored does not matter: every row is read, in order
    report, out, err = run(tmp_path, db_url, "csv: d.csv\ncolumns: [n]\n", table="t2")
    assert report.exit_code == 0, err
    assert table_rows(db_url, "t2", "n, label") == [(1, "x"), (2, "x"), (3, "x"), (4, "x"), (5, "x"), (6, "y"), (7, "x")]


def test_a_large_field_is_accepted_up_to_max_field_bytes(tmp_path, sqlite_url):
    body = "csv: d.csv\nschema:\n  n: INT\n  note: VARCHAR(16383)\n"
    (tmp_path / "d.csv").write_text("n,note,label\n1,a,x\n2," + "b" * 16_000 + ",y\n", encoding="utf-8")
    report, _, err = run(tmp_path, sqlite_url, body + "spec: {csv_options: {max_field_bytes: 20000}}\n")
    assert report.exit_code == 0, err
    assert [len(v) for (v,) in table_rows(sqlite_url, "t", "note")] == [1, 16_000]


def test_a_field_over_max_field_bytes_is_refused_naming_row_and_column(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_text("n,note,label\n" + "".join(f"{i},ok,x\n" for i in range(1, 40)) + "40,\"" + "z" * 3_000_000
                                    + "\",y\n41,ok,x\n", encoding="utf-8")
    report, out, err = run(tmp_path, sqlite_url, "csv: d.csv\nspec: {csv_options: {max_field_bytes: 1048576}}\n")
    assert report.exit_code == 1
    assert errors(report) == [("max_field_bytes", 40, "note", "d.csv")]
    assert "max_field_bytes" in report.issues[0].message and "zzz" not in out + err
    assert "cannot be parsed as CSV" not in out + err
    assert not has_table(sqlite_url, "t")


# -- data_id -----------------------------------------------------------------------------------


def test_repeated_data_id_values_name_the_file_and_both_rows(tmp_path, sqlite_url):
    rows = "".join(f"k{i},{i},{'x' if i % 2 else 'y'}\n" for i in range(1, 8)) + "k3,99,x\nk5,98,y\nk3,97,x\n"
    (tmp_path / "d.csv").write_text("key,n,label\n" + rows, encoding="utf-8")
    report, out, err = run(tmp_path, sqlite_url, "csv: d.csv\ndata_id: {strategy: column, column: key}\n", batch_size=3)
    assert report.exit_code == 1
    unique = [(i.row, i.column, i.file, i.message) for i in report.issues if i.rule == "unique"]
    assert [u[:3] for u in unique] == [(8, "key", "d.csv"), (9, "key", "d.csv"), (10, "key", "d.csv")]
    assert [u[3].split("row ")[1].split(";")[0] for u in unique] == ["3", "5", "3"]
    assert "k3" not in out + err
    assert not has_table(sqlite_url, "t")


# -- where the source table is -------------------------------------------------------------


def test_a_label_file_outside_the_source_root_is_refused_with_2(tmp_path, sqlite_url):
    (tmp_path / "outside.csv").write_text("n,label\n1,x\n2,y\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    environ = {"SRC_PATH": str(tmp_path / "src"), "LABEL_FILE": "../outside.csv", "TABLE_NAME": "t",
               "DATABASE_URL": sqlite_url, "TRACEBLOC_OUTPUT_DIR": str(tmp_path / "out")}
    report, out, err = run_plugin(Classes(), {}, environ)
    assert report.exit_code == 2 and "LABEL_FILE" in report.message and "outside the source root" in report.message
    assert not has_table(sqlite_url, "t")


def test_a_symlinked_label_file_leaving_the_source_root_is_refused_like_a_manifest_path(tmp_path, sqlite_url):
    (tmp_path / "secret.csv").write_text("n,label\n1,x\n2,y\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    os.symlink(tmp_path / "secret.csv", tmp_path / "src" / "data.csv")
    environ = {"SRC_PATH": str(tmp_path / "src"), "LABEL_FILE": "data.csv", "TABLE_NAME": "t",
               "DATABASE_URL": sqlite_url, "TRACEBLOC_OUTPUT_DIR": str(tmp_path / "out")}
    report, out, err = run_plugin(Classes(), {}, environ)
    assert report.exit_code == 1 and errors(report) == [("path_escape", None, None, "data.csv")]
    assert report.counters.total == 0 and not has_table(sqlite_url, "t")
    # a link that stays inside is fine
    os.replace(tmp_path / "secret.csv", tmp_path / "src" / "real.csv")
    os.remove(tmp_path / "src" / "data.csv")
    os.symlink(tmp_path / "src" / "real.csv", tmp_path / "src" / "data.csv")
    report, out, err = run_plugin(Classes(), {}, environ)
    assert report.exit_code == 0, err


# -- configuration that explodes -----------------------------------------------------------------


def test_a_yaml_alias_bomb_is_refused_quickly_with_bounded_memory(tmp_path, sqlite_url):
    lines = ["apiVersion: tracebloc.io/v1", "kind: IngestConfig", "category: demo_classification", "table: t", "intent: train",
             "csv: d.csv", 'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"x-{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    lines.append(f"schema: *{prev}")  # 9**9 (387 million) strings under a known key
    (tmp_path / "ingest.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    report, out, err = run_plugin(Classes(), {"config_path": str(tmp_path / "ingest.yaml"), "database_url": sqlite_url})
    assert report.exit_code == 2
    assert "aliases" in report.message and "lol" not in out + err
    assert time.process_time() - started < 30  # CPU, not wall-clock: it never built the expansion
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB


# -- columns, schema, framework names --------------------------------------------------------


ROWS = "ref,age,city,label\nr1,31,Köln,x\nr2,42,Bonn,y\nr3,oops,Bonn,x\n"


def test_a_schema_that_misses_source_columns_is_refused_before_reading(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_text(ROWS, encoding="utf-8")
    report, out, err = run(tmp_path, sqlite_url, "csv: d.csv\nschema:\n  age: INT\n")
    assert report.exit_code == 1
    assert errors(report) == [("unlisted_column", None, "ref", "d.csv"), ("unlisted_column", None, "city", "d.csv")]
    assert report.counters.total == 0  # the header sufficed: the bad age in row 3 was never read
    assert not has_table(sqlite_url, "t")


def test_columns_selects_what_is_kept(tmp_path, db_url):
    (tmp_path / "d.csv").write_text(ROWS.replace("oops", "53"), encoding="utf-8")
    report, out, err = run(tmp_path, db_url, "csv: d.csv\ncolumns: [age]\nschema:\n  age: INT\n")
    assert report.exit_code == 0, err
    assert table_columns(db_url, "t")[-1:] == ["age"] and "city" not in table_columns(db_url, "t")
    report, out, err = run(tmp_path, db_url, "csv: d.csv\ncolumns: [age, city]\n", table="t2")  # inferred
    assert report.exit_code == 0 and report.schema == {"age": "BIGINT", "city": "VARCHAR(255)"}
    report, out, err = run(tmp_path, db_url, "csv: d.csv\ncolumns: [age, town]\n", table="t3")
    assert report.exit_code == 1 and errors(report) == [("missing_column", None, "town", "d.csv")]


def test_a_schema_column_outside_columns_is_a_configuration_error(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_text(ROWS, encoding="utf-8")
    report, out, err = run(tmp_path, sqlite_url, "csv: d.csv\ncolumns: [age]\nschema:\n  age: INT\n  city: TEXT\n")
    assert report.exit_code == 2 and "schema.city" in report.message


def test_a_framework_column_name_is_refused_from_the_header_with_a_way_out(tmp_path, db_url):
    (tmp_path / "d.csv").write_text("id,created_at,age,label\n7,2024-01-01,31,x\n8,2024-01-02,oops,y\n", encoding="utf-8")
    report, out, err = run(tmp_path, db_url)
    assert report.exit_code == 1
    assert errors(report) == [("column_name", None, "id", "d.csv"), ("column_name", None, "created_at", "d.csv")]
    assert "rename" in report.issues[0].message and report.counters.total == 0
    body = "csv: d.csv\nrename: {created_at: signup}\ndata_id: {strategy: column, column: id}\n"
    (tmp_path / "d.csv").write_text("id,created_at,age,label\n7,2024-01-01,31,x\n8,2024-01-02,42,y\n", encoding="utf-8")
    report, out, err = run(tmp_path, db_url, body)
    assert report.exit_code == 0, err
    assert table_rows(db_url, "t", "data_id, age") == [("7", 31), ("8", 42)]
    assert report.schema == {"signup": "DATE", "age": "BIGINT"}
    report, out, err = run(tmp_path, db_url, "csv: d.csv\nrename: {id: source_id, created: c}\n", table="t2")
    assert report.exit_code == 1 and ("missing_column", None, "created", "d.csv") in errors(report)


def test_a_rerun_with_other_columns_is_refused_naming_them(tmp_path, db_url):
    (tmp_path / "d.csv").write_text(ROWS.replace("oops", "53"), encoding="utf-8")
    first, _, err = run(tmp_path, db_url, "csv: d.csv\ncolumns: [age]\nschema:\n  age: INT\n")
    assert first.exit_code == 0, err
    # the same input with a fuller schema: not "already present", but refused by column
    report, out, err = run(tmp_path, db_url, "csv: d.csv\nschema:\n  ref: VARCHAR(8)\n  age: INT\n  city: VARCHAR(16)\n")
    assert report.exit_code == 1 and report.status == "failed"
    assert "ref VARCHAR(8)" in report.message and "city VARCHAR(16)" in report.message and "already present" not in out
    report, out, err = run(tmp_path, db_url, "csv: d.csv\ncolumns: [age]\nschema:\n  age: BIGINT\n")
    assert report.exit_code == 1 and "age (schema BIGINT, table INT)" in report.message
    assert table_columns(db_url, "t")[-1] == "age" and len(table_rows(db_url, "t")) == 3
    again, _, _ = run(tmp_path, db_url, "csv: d.csv\ncolumns: [age]\nschema:\n  age: INT\n")
    assert again.exit_code == 0 and again.counters.already_present == 3
