"""The template's own rules: what it stores, the bad code it refuses, its option in every form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracebloc_ingestor.testing.runs import has_table, run_plugin, table_rows
from tracebloc_ingestor_myplugin import MyCategory

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "ingest.yaml"
BAD = ROOT / "tests" / "data" / "bad"
SECRET = "secret-code-77"  # the bad sample's code of record 3
# a pattern that also accepts the bad sample's code
WIDER = r"[A-Z]{2}-[0-9]{4}|secret-code-[0-9]+"


def ingest(tmp_path, flags=None, environ=None):
    """One run of the category registered inline, with a fresh plugin manager."""
    url = f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    base = {"config_path": str(SAMPLE), "database_url": url, "output_dir": str(tmp_path / "out")}
    report, out, err = run_plugin(MyCategory(), {**base, **(flags or {})}, environ)
    return report, out + err, url


def test_sample_lands_typed_with_its_labels(tmp_path):
    report, text, url = ingest(tmp_path)
    assert report.exit_code == 0, text
    rows = table_rows(url, "items", "item_code, weight_g, label")
    assert len(rows) == 8
    assert rows[0] == ("AB-0001", 340, "small")  # weight_g was inferred as a whole number
    payload = json.loads((tmp_path / "out" / "items.registration.json").read_text())["payload"]
    assert (payload["category"], payload["data_format"], payload["record_count"]) == ("my_category", "tabular", 8)
    assert payload["labels"] == {"large": 4, "small": 4}


def test_a_bad_code_is_refused_by_place_not_value(tmp_path):
    report, text, url = ingest(tmp_path, {"config_path": str(BAD / "ingest.yaml")})
    assert report.exit_code == 1
    assert [(i.row, i.column, i.rule) for i in report.issues] == [(3, "item_code", "code_format")]
    assert "row 3, column 'item_code': [code_format]" in text
    assert SECRET not in text
    # Nothing was written: validation failed before the table was created.
    assert not has_table(url, "items_bad")
    # The value is kept only in the local rejects report, for the data owner to fix it.
    assert SECRET in Path(report.rejects_path).read_text(encoding="utf-8")


def test_a_missing_code_column_is_reported_once(tmp_path):
    src = tmp_path / "items.csv"
    src.write_text("length_cm,label\n1,a\n2,b\n3,a\n", encoding="utf-8")
    flags = {"config_path": None, "label_file": str(src), "table": "items", "batch_size": 1}
    report, _, _ = ingest(tmp_path, flags)
    assert report.exit_code == 1
    assert [(i.row, i.column, i.rule) for i in report.issues] == [(None, "item_code", "code_format")]


@pytest.mark.parametrize("form", ["flag", "environment", "ingest.yaml"])
def test_code_pattern_is_read_in_every_form(tmp_path, form):
    flags, environ = {"config_path": str(BAD / "ingest.yaml")}, {}
    if form == "flag":
        flags["code_pattern"] = WIDER
    elif form == "environment":
        environ["CODE_PATTERN"] = WIDER
    else:
        config = tmp_path / "ingest.yaml"
        extra = f"spec:\n  my_category:\n    code_pattern: '{WIDER}'\n"
        config.write_text((BAD / "ingest.yaml").read_text(encoding="utf-8") + extra, encoding="utf-8")
        (tmp_path / "items.csv").write_bytes((BAD / "items.csv").read_bytes())
        flags["config_path"] = str(config)
    report, text, url = ingest(tmp_path, flags, environ)
    assert report.exit_code == 0, text
    assert len(table_rows(url, "items_bad", "id")) == 4


def test_a_pattern_re2_cannot_compile_is_refused_at_start(tmp_path):
    report, text, url = ingest(tmp_path, environ={"CODE_PATTERN": "[A-Z"})
    assert report.exit_code == 2
    assert "environment CODE_PATTERN" in text and "not a valid regular expression" in text
    assert "[A-Z" not in text  # configuration stays out of messages
    assert not has_table(url, "items")
