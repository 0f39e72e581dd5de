"""The tabular categories: templates, samples, formats and what leaves the cluster."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from tracebloc_ingestor.api import FRAMEWORK_COLUMNS
from tracebloc_ingestor.loader import installed_plugins
from tracebloc_ingestor.testing.runs import run_plugin as ingest
from tracebloc_ingestor.testing.runs import table_columns, table_rows
from tracebloc_ingestor_tabular import TabularClassification, TabularRegression

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parent / "templates"


def rows_of(url, table):
    return table_columns(url, table), table_rows(url, table)


def test_entry_points_name_both_categories():
    names = {(p.name, p.distribution) for p in installed_plugins()}
    assert ("tabular_classification", "tracebloc-ingestor-tabular") in names
    assert ("tabular_regression", "tracebloc-ingestor-tabular") in names


def test_declared_dependencies_do_not_pull_pillow():
    seen, todo = set(), ["tracebloc-ingestor-tabular"]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for req in requires:
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0])
    assert "tracebloc-ingestor" in seen
    assert "pillow" not in seen


@pytest.mark.parametrize("category", ["tabular_classification", "tabular_regression"])
def test_template_runs_as_copied(tmp_path, category):
    folder = tmp_path / category
    shutil.copytree(TEMPLATES / category, folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG", "TABLE_NAME"))}
    proc = subprocess.run([sys.executable, "ingestor.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "📊 INGESTION SUMMARY 📊" in proc.stdout
    assert (folder / "tracebloc-output" / "ingest.sqlite").is_file()


def test_regression_target_leaves_only_as_buckets(tmp_path, sqlite_url):
    config = TEMPLATES / "tabular_regression" / "ingest.yaml"
    report, out, err = ingest(TabularRegression(), {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path)})
    assert report.exit_code == 0, err
    payload = json.loads((tmp_path / "houses_sample.registration.json").read_text())["payload"]
    assert all(-1 <= int(k) < 64 for k in payload["labels"]) and sum(payload["labels"].values()) == 50
    assert payload["meta_data"]["label_policy"] == "bucket"
    cols, rows = rows_of(sqlite_url, "houses_sample")
    prices = {r[cols.index("label")] for r in rows}
    text = json.dumps(payload)
    assert not any(p in text for p in prices)  # raw targets stay in the database only
    assert "471384" in prices  # the database keeps the raw target


def test_regression_target_must_be_numeric(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_text("x,price\n1,10\n2,cheap\n3,\n", encoding="utf-8")
    report, _, err = ingest(
        TabularRegression(),
        {"database_url": sqlite_url, "output_dir": str(tmp_path / "o"), "label_column": "price"},
        {"LABEL_FILE": "d.csv", "SRC_PATH": str(tmp_path), "TABLE_NAME": "r"},
    )
    assert report.exit_code == 1
    assert {(i.row, i.rule) for i in report.issues} >= {(2, "number"), (3, "required")}
    assert "cheap" not in err


@pytest.mark.parametrize("fmt", ["json-array", "json-lines", "parquet"])
def test_json_and_parquet_sources(tmp_path, sqlite_url, fmt):
    records = [{"a": 1, "b": "x", "label": "p"}, {"a": 2, "b": None, "label": "q"}, {"a": 3, "b": "z", "label": "p"}]
    if fmt == "json-array":
        path = tmp_path / "d.json"
        path.write_text(json.dumps(records))
    elif fmt == "json-lines":
        path = tmp_path / "d.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        path = tmp_path / "d.parquet"
        pq.write_table(pa.Table.from_pylist(records), path)
    report, out, err = ingest(
        TabularClassification(),
        {"database_url": sqlite_url, "output_dir": str(tmp_path / "o")},
        {"LABEL_FILE": str(path), "TABLE_NAME": "t"},
    )
    assert report.exit_code == 0, err
    cols, rows = rows_of(sqlite_url, "t")
    assert [(r[cols.index("a")], r[cols.index("b")], r[cols.index("label")]) for r in rows] == [(1, "x", "p"), (2, None, "q"), (3, "z", "p")]


def test_cli_into_mariadb_twice_and_bad_csv_creates_nothing(tmp_path, mysql_url):
    tb = shutil.which("tb-ingest", path=os.path.dirname(sys.executable))
    assert tb, "tb-ingest console script is installed"
    src = TEMPLATES / "tabular_classification"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_"))}
    env.update({"DATABASE_URL": mysql_url, "TABLE_NAME": "customers", "TRACEBLOC_OUTPUT_DIR": str(tmp_path)})
    cmd = [tb, "--plugin", "tabular_classification", "--config", str(src / "ingest.yaml")]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    cols, rows = rows_of(mysql_url, "customers")
    assert cols[: len(FRAMEWORK_COLUMNS)] == list(FRAMEWORK_COLUMNS) and len(rows) == 60
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and rows_of(mysql_url, "customers") == (cols, rows)

    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(src / "ingest.yaml", bad / "ingest.yaml")
    lines = (src / "customers.csv").read_text(encoding="utf-8").splitlines()
    fields = lines[5].split(",")
    fields[1] = "not-a-number"  # the age of record 5
    lines[5] = ",".join(fields)
    (bad / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env["TABLE_NAME"] = "customers_bad"
    proc = subprocess.run([tb, "--plugin", "tabular_classification", "--config", str(bad / "ingest.yaml")], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "row 5, column 'age': [integer]" in proc.stderr
    assert "not-a-number" not in proc.stdout + proc.stderr
    engine = sa.create_engine(mysql_url)
    assert not sa.inspect(engine).has_table("customers_bad")
    engine.dispose()
