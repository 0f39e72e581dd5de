"""``tb-ingest`` as a user runs it: installed console script, real processes, real signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
TB = os.path.join(os.path.dirname(sys.executable), "tb-ingest")
CONTRACT_VARIABLES = [
    "CLIENT_ID", "CLIENT_PASSWORD", "BACKEND_TOKEN", "CLIENT_ENV", "CLIENT_PVC", "MYSQL_HOST", "MYSQL_PORT",
    "DB_USER", "DB_PASSWORD", "DB_NAME", "SRC_PATH", "LABEL_FILE", "TABLE_NAME", "TITLE", "LOG_LEVEL",
    "BATCH_SIZE", "INGEST_CONFIG", "TRACEBLOC_API_URL", "STORAGE_PATH", "TRACEBLOC_API_DEADLINE", "DATABASE_URL",
]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "CLIENT_", "BACKEND_"))}
    for key in ("DATABASE_URL", "LABEL_FILE", "TABLE_NAME", "SRC_PATH", "INGEST_CONFIG", "TITLE", "LOG_LEVEL", "BATCH_SIZE"):
        env.pop(key, None)
    env.update(extra)
    return env


def test_help_documents_every_option_and_variable():
    proc = subprocess.run([TB, "--help"], capture_output=True, text=True, check=True)
    for name in CONTRACT_VARIABLES:
        assert re.search(rf"\b{name}\b", proc.stdout), name
    for option in ("--plugin", "--config", "--validate-only", "--report", "--table"):
        assert option in proc.stdout


def test_plugins_lists_installed_distributions():
    proc = subprocess.run([TB, "plugins"], capture_output=True, text=True, check=True)
    assert "tabular_classification" in proc.stdout and "tracebloc-ingestor-tabular" in proc.stdout


def test_unknown_plugin_lists_installed_and_exits_2(tmp_path):
    proc = subprocess.run(
        [TB, "--plugin", "no_such_thing", "--table", "t"], capture_output=True, text=True, env=clean_env(TRACEBLOC_OUTPUT_DIR=str(tmp_path))
    )
    assert proc.returncode == 2
    assert "no_such_thing" in proc.stderr and "tabular_classification" in proc.stderr


def test_json_report(tmp_path):
    import json

    config = ROOT / "tracebloc-ingestor-tabular/templates/tabular_classification/ingest.yaml"
    proc = subprocess.run(
        [TB, "--config", str(config), "--output-dir", str(tmp_path), "--report", str(tmp_path / "r.json")],
        capture_output=True, text=True, env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exit_code"] == 0 and report["counters"]["inserted"] == 60 and report["category"] == "tabular_classification"


@pytest.mark.parametrize(
    "signum, code, when",
    [(signal.SIGTERM, 143, "validating"), (signal.SIGINT, 130, "validating"), (signal.SIGINT, 130, "validation passed")],
    ids=["SIGTERM", "SIGINT", "SIGINT-while-writing"],
)
def test_a_signal_stops_the_run_with_a_summary(tmp_path, mysql_url, signum, code, when):
    data = tmp_path / "big.csv"
    with open(data, "w") as fh:
        fh.write("a,b,label\n")
        for i in range(400_000):
            fh.write(f"{i},{i * 0.5},{'xy'[i % 2]}\n")
    env = clean_env(DATABASE_URL=mysql_url, LOG_LEVEL="INFO", TRACEBLOC_OUTPUT_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [TB, "--plugin", "tabular_classification", "--label-file", str(data), "--table", "big", "--batch-size", "2000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if when in line or time.monotonic() > deadline:
            break
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, out + err
    assert "terminated" in out and "📊 INGESTION SUMMARY 📊" in out and "Aborted!" not in out + err
    engine = sa.create_engine(mysql_url)
    with engine.connect() as conn:
        runs = sa.inspect(conn).has_table("tracebloc_ingest_runs")
        states = [r[0] for r in conn.execute(sa.text("SELECT state FROM tracebloc_ingest_runs")).all()] if runs else []
    engine.dispose()
    assert states == (["failed"] if when == "validation passed" else []), states  # never left "loading"


def test_seed_readme_example_runs_as_written(tmp_path, sqlite_url):
    script = tmp_path / "my_ingestor.py"
    script.write_text(
        textwrap.dedent(
            """
            from tracebloc_ingestor import BaseIngestor, FileTypeValidator

            class MyIngestor(BaseIngestor):
                validators = [FileTypeValidator(allowed=[".parquet"])]

                def transform(self, record):
                    # your preprocessing
                    return record

            if __name__ == "__main__":
                MyIngestor().ingest()
            """
        )
    )
    pq.write_table(pa.table({"x": [1, 2, 3], "y": ["a", "b", "c"], "label": ["u", "v", "u"]}), tmp_path / "data.parquet")
    env = clean_env(LABEL_FILE="data.parquet", SRC_PATH=str(tmp_path), TABLE_NAME="seed", DATABASE_URL=sqlite_url, TRACEBLOC_OUTPUT_DIR=str(tmp_path / "o"))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM seed")).scalar() == 3
    engine.dispose()
    # The same script refuses a file type it does not allow, before writing anything.
    (tmp_path / "data.csv").write_text("x,label\n1,u\n2,v\n")
    env.update(LABEL_FILE="data.csv", TABLE_NAME="seed_csv")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 1 and "[file_type]" in proc.stderr


def test_mysql_host_variables_select_mariadb(tmp_path, mysql_url):
    database = sa.engine.make_url(mysql_url).database
    config = ROOT / "tracebloc-ingestor-tabular/templates/tabular_regression/ingest.yaml"
    env = clean_env(MYSQL_HOST="127.0.0.1", MYSQL_PORT="3306", DB_USER="root", DB_NAME=database, TRACEBLOC_OUTPUT_DIR=str(tmp_path))
    proc = subprocess.run([TB, "--config", str(config)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    engine = sa.create_engine(mysql_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM houses_sample")).scalar() == 50
    engine.dispose()
    assert not (tmp_path / "ingest.sqlite").exists()
