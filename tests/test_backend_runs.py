"""Runs that talk to a real HTTP backend double: registration, failures, and privacy.

The privacy guard ingests every bundled sample of every installed category plugin
through the real client and then searches everything the backend received for the
sample's raw data.
"""

from __future__ import annotations

import csv
import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tracebloc_ingestor.testing.backend_double import Response

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"[-+]?[0-9.eE]+")
TB = os.path.join(os.path.dirname(sys.executable), "tb-ingest")


def installed_categories() -> set[str]:
    return {ep.name for ep in md.entry_points(group="tracebloc_ingestor")}


def samples():
    """Every bundled template of an installed category: (category, ingest.yaml)."""
    found = []
    for config in sorted(ROOT.glob("*/templates/*/ingest.yaml")):
        category = yaml.safe_load(config.read_text())["category"]
        if category in installed_categories():
            found.append(pytest.param(category, config, id=category))
    return found


def backend_env(double, tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "CLIENT_", "BACKEND_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        TRACEBLOC_API_URL=double.url,
        BACKEND_TOKEN=double.token,
        TRACEBLOC_OUTPUT_DIR=str(tmp_path / "out"),
        STORAGE_PATH=str(tmp_path / "store"),
        **extra,
    )
    return env


def raw_values(config: Path, category_label_is_class: bool) -> set[bytes]:
    """Strings from the sample that must never reach the backend."""
    doc = yaml.safe_load(config.read_text())
    folder = config.parent
    label = doc.get("label", "label")
    label = label["column"] if isinstance(label, dict) else label
    values: set[bytes] = set()
    table = doc.get("csv")
    if table:
        with open(folder / table, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for column, cell in row.items():
                    if column == label and category_label_is_class:
                        continue  # class names are allowed to leave, with their counts
                    cell = (cell or "").strip()
                    # Short cells, short numbers and JSON words turn up by chance inside counts,
                    # statistics and the run id; they would make the guard fail without a leak.
                    short = 6 if NUMBER.fullmatch(cell) else 4
                    if len(cell) >= short and cell not in ("true", "false", "null"):
                        values.add(cell.encode())
    for path in folder.rglob("*"):
        if path.is_file() and path.name not in ("ingest.yaml", "ingestor.py"):
            values.add(path.name.encode())
            if path.suffix.lower() not in (".csv", ".json", ".jsonl"):
                data = path.read_bytes()
                for start in range(0, max(len(data) - 16, 1), max(len(data) // 8, 1)):
                    values.add(data[start : start + 16])
    return values


@pytest.mark.parametrize("category,config", samples())
def test_privacy_guard_nothing_raw_reaches_the_backend(tmp_path, backend_double, mysql_url, category, config):
    env = backend_env(backend_double, tmp_path, DATABASE_URL=mysql_url)
    proc = subprocess.run([TB, "--config", str(config)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(backend_double.registrations()) == 1
    received = backend_double.all_bytes()
    is_class = "regression" not in category and "forecasting" not in category and "time_to_event" not in category
    leaked = sorted(v for v in raw_values(config, is_class) if v in received)
    assert leaked == [], f"raw values reached the backend: {leaked[:5]}"
    assert b"Token " + backend_double.token.encode() in received  # the guard saw the real requests


def test_registration_failure_exits_1_and_rerun_registers_without_duplicates(tmp_path, backend_double, mysql_url):
    config = ROOT / "tracebloc-ingestor-tabular/templates/tabular_classification/ingest.yaml"
    backend_double.script("global_meta/summary/", *([Response(500)] * 50))
    env = backend_env(backend_double, tmp_path, DATABASE_URL=mysql_url, TRACEBLOC_API_DEADLINE="2")
    first = subprocess.run([TB, "--config", str(config)], capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 1
    assert "registration failed" in first.stdout and "🚀 Sent to API: 0" in first.stdout
    run_id = next(line.split(": ", 1)[1] for line in first.stdout.splitlines() if line.startswith("Ingestor ID: "))
    assert backend_double.failures() == [{"ingestor_id": run_id, "reason": "http_500"}]
    engine = sa.create_engine(mysql_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customers_sample WHERE ingestor_id = :r"), {"r": run_id}).scalar() == 60

    backend_double.clear_scripts()  # back to normal answers
    second = subprocess.run([TB, "--config", str(config)], capture_output=True, text=True, env=backend_env(backend_double, tmp_path, DATABASE_URL=mysql_url), timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customers_sample")).scalar() == 60
    engine.dispose()
    assert len(backend_double.registrations()) == 1
