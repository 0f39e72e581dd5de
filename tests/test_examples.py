"""Every script in examples/ runs as a user would run it, and does what its docstring says."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "CLIENT_", "BACKEND_"))}
    for key in ("DATABASE_URL", "LABEL_FILE", "TABLE_NAME", "SRC_PATH", "INGEST_CONFIG", "TITLE", "LOG_LEVEL", "BATCH_SIZE", "MAX_TEMPERATURE"):
        env.pop(key, None)
    env.update(extra)
    return env


def run_example(name, cwd, **env):
    return subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=300)


def rows(cwd, table, columns="station, temperature"):
    with sqlite3.connect(cwd / "tracebloc-output" / "ingest.sqlite") as db:
        return db.execute(f"SELECT {columns} FROM {table} ORDER BY id").fetchall()


def test_every_example_is_run_here():
    tested = set(re.findall(r'run_example\("(\w+\.py)"', Path(__file__).read_text(encoding="utf-8")))
    assert tested == {p.name for p in EXAMPLES.glob("*.py")}


def test_subclass_changes_each_record(tmp_path):
    proc = run_example("subclass.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = rows(tmp_path, "readings_subclass")
    assert len(got) == 48 and got[3][0] == "Old Town"
    assert (tmp_path / "tracebloc-output" / "readings_subclass.report.html").is_file()


def test_custom_validator_passes_the_sample_and_refuses_a_bad_humidity(tmp_path):
    proc = run_example("custom_validator.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(rows(tmp_path, "readings_checked")) == 48
    bad = tmp_path / "bad.csv"
    text = (EXAMPLES / "data" / "readings.csv").read_text(encoding="utf-8").splitlines()
    text[5] = re.sub(r",\d+,(\d{4}-)", r",140,\1", text[5])  # record 5: humidity 140
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    proc = run_example("custom_validator.py", other, LABEL_FILE=str(bad))
    assert proc.returncode == 1
    assert "row 5, column 'humidity': [humidity_range] humidity must be 0 to 100 (%)" in proc.stderr
    assert "140" not in proc.stderr  # the value only in the local reports


def test_transform_converts_whole_batches(tmp_path):
    proc = run_example("transform.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = rows(tmp_path, "readings_fahrenheit")[0]
    assert (first[0], float(first[1])) == ("NORTH", 45.1)  # 7.3 °C (SQLite keeps a DECIMAL as its exact text)


def test_parquet_input(tmp_path):
    proc = run_example("parquet_input.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "tracebloc-output" / "readings.parquet").is_file()
    assert len(rows(tmp_path, "readings_parquet")) == 48


def test_custom_plugin_with_its_option_and_report_section(tmp_path):
    proc = run_example("custom_plugin.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (tmp_path / "tracebloc-output" / "readings_stations.report.html").read_text(encoding="utf-8")
    assert "Stations" in page and "Readings per station." in page
    strict = tmp_path / "strict"
    strict.mkdir()
    proc = run_example("custom_plugin.py", strict, MAX_TEMPERATURE="25")
    assert proc.returncode == 1 and "[max_temperature] above max_temperature" in proc.stderr


def test_mariadb(tmp_path, mysql_url):
    proc = run_example("mariadb.py", tmp_path)
    assert proc.returncode != 0 and "set MYSQL_HOST" in proc.stderr
    proc = run_example("mariadb.py", tmp_path, DATABASE_URL=mysql_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    engine = sa.create_engine(mysql_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM readings_mariadb")).scalar() == 48
    finally:
        engine.dispose()
    assert not (tmp_path / "tracebloc-output" / "ingest.sqlite").exists()
