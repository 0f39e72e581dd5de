"""Lists and objects inside JSON records: refused by default, kept as JSON text on request."""

from __future__ import annotations

import json

import pytest

from tracebloc_ingestor.api import BaseIngestor, SourceError, read_table_batches
from tracebloc_ingestor.testing.runs import run_plugin, table_rows

LINES = [
    {"ref": "a", "tokens": ["EU", "rejects", "Zürich"], "meta": {"n": 12345678901234567890, "w": 0.5}},
    {"ref": "b", "tokens": [], "meta": None},
]


def write_lines(path):
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in LINES), encoding="utf-8")
    return path


def test_a_nested_value_is_refused_by_default_naming_row_and_column(tmp_path):
    with pytest.raises(SourceError) as caught:
        list(read_table_batches(write_lines(tmp_path / "d.jsonl")))
    assert (caught.value.rule, caught.value.row, caught.value.column) == ("json_scalar", 1, "tokens")


def test_nested_values_become_their_json_text_on_request(tmp_path):
    (batch,) = read_table_batches(write_lines(tmp_path / "d.jsonl"), nested="json_text")
    tokens = batch.column("tokens").to_pylist()
    assert tokens == ['["EU","rejects","Zürich"]', "[]"]
    assert json.loads(tokens[0]) == LINES[0]["tokens"]
    meta = batch.column("meta").to_pylist()
    assert json.loads(meta[0]) == {"n": 12345678901234567890, "w": 0.5} and meta[1] is None  # whole numbers stay exact


def test_a_category_asks_for_json_text(tmp_path, sqlite_url):
    class Lists(BaseIngestor):
        category = "list_demo"
        label_kind = "none"
        nested_values = "json"

    write_lines(tmp_path / "d.jsonl")
    flags = {"label_file": str(tmp_path / "d.jsonl"), "table": "lists", "database_url": sqlite_url,
             "output_dir": str(tmp_path / "out"), "schema": {"ref": "VARCHAR(8)", "tokens": "TEXT", "meta": "TEXT"}}
    report, out, err = run_plugin(Lists(), flags)
    assert report.exit_code == 0, out + err
    assert [r[0] for r in table_rows(sqlite_url, "lists", "tokens")] == ['["EU","rejects","Zürich"]', "[]"]
