"""tb-ingest new and tb-ingest categories with every installed distribution: each template runs as written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TB = os.path.join(os.path.dirname(sys.executable), "tb-ingest")
FIRST_PARTY = {
    "tracebloc-ingestor-tabular": {"tabular_classification", "tabular_regression"},
    "tracebloc-ingestor-image": {"image_classification", "object_detection", "keypoint_detection", "semantic_segmentation"},
    "tracebloc-ingestor-text": {"text_classification", "token_classification", "masked_language_modeling"},
    "tracebloc-ingestor-timeseries": {"time_series_forecasting", "time_to_event_prediction", "time_series_classification"},
}
CATEGORIES = sorted(set().union(*FIRST_PARTY.values()))


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "CLIENT_", "BACKEND_"))
            and k not in ("DATABASE_URL", "LABEL_FILE", "TABLE_NAME", "SRC_PATH", "INGEST_CONFIG", "STORAGE_PATH")}


def test_categories_lists_each_with_its_summary():
    proc = subprocess.run([TB, "categories", "--json"], capture_output=True, text=True, check=True)
    listed = {item["name"]: item for item in json.loads(proc.stdout)}
    for dist, names in FIRST_PARTY.items():
        for name in names:
            assert listed[name]["distribution"] == dist and listed[name]["summary"] and listed[name]["problem"] is None


@pytest.mark.parametrize("category", CATEGORIES)
def test_new_writes_a_template_that_runs(category, tmp_path):
    proc = subprocess.run([TB, "new", category, "demo"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    demo = tmp_path / "demo"
    assert {"ingestor.py", "ingest.yaml", "README.md"} <= {p.name for p in demo.iterdir()}
    assert f"`{category}` template" in (demo / "README.md").read_text(encoding="utf-8")
    run = subprocess.run([sys.executable, "ingestor.py"], cwd=demo, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    out = demo / "tracebloc-output"
    assert list(out.glob("*.registration.json")) and list(out.glob("*.report.html"))
