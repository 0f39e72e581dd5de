"""The template's category: discoverable when installed, ingests its sample, refuses bad codes."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from tracebloc_ingestor.loader import category_table, installed_plugins, load_plugins, new_plugin_manager
from tracebloc_ingestor.runner import run_ingestion
from tracebloc_ingestor_myplugin import MyCategory

SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "items.csv"
DISTRIBUTION = "tracebloc-ingestor-myplugin"


def ingest(tmp_path, environ, *, flags=None, plugins=(), database_url=None):
    """One run with a fresh plugin manager, so that nothing else installed takes part."""
    db = tmp_path / "ingest.sqlite"
    base = {"database_url": database_url or f"sqlite:///{db}", "output_dir": str(tmp_path / "out")}
    out, err = io.StringIO(), io.StringIO()
    report = run_ingestion({**base, **(flags or {})}, environ, plugins=plugins, pm=new_plugin_manager(), out=out, err=err)
    return report, out.getvalue() + err.getvalue(), db


def test_entry_point_is_discoverable():
    found = {(p.name, p.distribution, p.value) for p in installed_plugins()}
    assert ("my_category", DISTRIBUTION, "tracebloc_ingestor_myplugin.plugin:MyCategory") in found


def test_entry_point_loads_the_category():
    pm = new_plugin_manager()
    load_plugins(pm, ["my_category"])
    spec, provider = category_table(pm)["my_category"]
    assert provider == DISTRIBUTION
    assert (spec.data_format, spec.label_kind, spec.file_bearing) == ("tabular", "classification", False)


def test_sample_ingests_into_sqlite(tmp_path):
    report, text, db = ingest(tmp_path, {"LABEL_FILE": str(SAMPLE), "TABLE_NAME": "items"}, flags={"plugins": ["my_category"]})
    assert report.exit_code == 0, text
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT item_code, weight_g, label FROM items ORDER BY id").fetchall()
    assert len(rows) == 8
    assert rows[0] == ("AB-0001", 340, "small")  # weight_g was inferred as a whole number
    payload = json.loads((tmp_path / "out" / "items.registration.json").read_text())["payload"]
    assert payload["category"] == "my_category"
    assert payload["record_count"] == 8
    assert payload["labels"] == {"large": 4, "small": 4}


def test_a_bad_code_is_refused_by_place_not_value(tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("AC-0003", "secret-code-77")  # record 3
    bad = tmp_path / "items.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report, text, db = ingest(tmp_path, {"LABEL_FILE": str(bad), "TABLE_NAME": "items"}, plugins=[MyCategory()], flags={"category": "my_category"})
    assert report.exit_code == 1
    assert [(i.row, i.column, i.rule) for i in report.issues] == [(3, "item_code", "code_format")]
    assert "row 3, column 'item_code': [code_format]" in text
    assert "secret-code-77" not in text
    # Nothing was written: validation failed before the table was created.
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'items'").fetchone() is None
    # The value is kept only in the local rejects report, for the data owner to fix it.
    assert report.rejects_path is not None and "secret-code-77" in Path(report.rejects_path).read_text()


def test_a_missing_code_column_is_reported_once(tmp_path):
    src = tmp_path / "items.csv"
    src.write_text("length_cm,label\n1,a\n2,b\n3,a\n", encoding="utf-8")
    report, text, _ = ingest(tmp_path, {"LABEL_FILE": str(src), "TABLE_NAME": "items", "BATCH_SIZE": "1"}, plugins=[MyCategory()], flags={"category": "my_category"})
    assert report.exit_code == 1
    assert [(i.row, i.column, i.rule) for i in report.issues] == [(None, "item_code", "code_format")]


def test_sample_ingests_into_mysql(tmp_path, mysql_url):
    report, text, _ = ingest(tmp_path, {"LABEL_FILE": str(SAMPLE), "TABLE_NAME": "items"}, flags={"plugins": ["my_category"]}, database_url=mysql_url)
    assert report.exit_code == 0, text
    engine = sa.create_engine(mysql_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM items")).scalar_one() == 8
    finally:
        engine.dispose()

