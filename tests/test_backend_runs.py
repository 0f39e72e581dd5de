"""Runs that talk to a real HTTP backend double: registration, failures, and privacy.

The privacy guard ingests every bundled sample of every installed category plugin
through the real client and then searches everything the backend received for the
sample's raw data.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tracebloc_ingestor.testing.backend_double import Response
from tracebloc_ingestor.testing.privacy import leaked, raw_strings

ROOT = Path(__file__).resolve().parents[1]
TB = os.path.join(os.path.dirname(sys.executable), "tb-ingest")


def installed_categories() -> set[str]:
    return {ep.name for ep in md.entry_points(group="tracebloc_ingestor")}


def label_kind(category: str) -> str:
    """The category's label kind, from its registration (what decides whether labels may leave)."""
    from tracebloc_ingestor.loader import category_table, load_plugins, new_plugin_manager

    pm = new_plugin_manager()
    load_plugins(pm, [category])
    return category_table(pm)[category][0].label_kind


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


@pytest.mark.parametrize("category,config", samples())
def test_privacy_guard_nothing_raw_reaches_the_backend(tmp_path, backend_double, mysql_url, category, config):
    env = backend_env(backend_double, tmp_path, DATABASE_URL=mysql_url)
    proc = subprocess.run([TB, "--config", str(config)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(backend_double.registrations()) == 1
    received = backend_double.all_bytes()
    found = leaked(received, raw_strings(config, labels_leave=label_kind(category) == "classification"))
    assert found == [], f"raw values reached the backend: {found[:5]}"
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
    # the committed rows are exactly this input's: they are registered as they are, not rewritten
    assert "new rows: 0; already present from an earlier identical run: 60" in second.stdout
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customers_sample")).scalar() == 60
        assert conn.execute(sa.text("SELECT count(*) FROM customers_sample WHERE ingestor_id = :r"), {"r": run_id}).scalar() == 60
    engine.dispose()
    assert [r["ingestor_id"] for r in backend_double.registrations()] == [run_id]
