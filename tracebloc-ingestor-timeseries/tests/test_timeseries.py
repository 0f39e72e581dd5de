"""The time-series categories: samples, templates, every rule, and what leaves the cluster."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tracebloc_ingestor.api import FRAMEWORK_COLUMNS
from tracebloc_ingestor.cli import main as tb_ingest
from tracebloc_ingestor.loader import installed_plugins
from tracebloc_ingestor.testing.runs import run_plugin as ingest
from tracebloc_ingestor.testing.runs import table_columns, table_rows, has_table
from tracebloc_ingestor_timeseries import TimeSeriesClassification, TimeSeriesForecasting, TimeToEventPrediction

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parent / "templates"
SAMPLES = {
    "time_series_forecasting": (TimeSeriesForecasting, "daily_demand_sample", 31),
    "time_to_event_prediction": (TimeToEventPrediction, "heart_failure_sample", 30),
    "time_series_classification": (TimeSeriesClassification, "activity_sample", 48),
}


def rows_of(url, table):
    return table_columns(url, table), table_rows(url, table)


def run_csv(tmp_path, url, plugin, text, environ=None, **flags):
    """Ingest ``text`` as d.csv into table ``t``; returns (report, out + err)."""
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    flags = {"database_url": url, "output_dir": str(tmp_path / "o"), "category": plugin.category, **flags}
    env = {"LABEL_FILE": "d.csv", "SRC_PATH": str(tmp_path), "TABLE_NAME": "t", **(environ or {})}
    report, out, err = ingest(plugin, flags, env)
    return report, out + err


def where(report):
    return {(i.row, i.column, i.rule) for i in report.issues if i.is_error}


def utc_now():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# -- packaging -----------------------------------------------------------------------------


def test_entry_points_name_every_category():
    names = {(p.name, p.distribution) for p in installed_plugins()}
    for category in SAMPLES:
        assert (category, "tracebloc-ingestor-timeseries") in names


@pytest.mark.parametrize(
    "category,flags",
    [
        ("time_series_forecasting", ["--time-column"]),
        ("time_to_event_prediction", ["--time-column"]),
        ("time_series_classification", ["--time-column", "--sequence-column"]),
    ],
)
def test_help_lists_the_category_options(category, flags):
    result = CliRunner().invoke(tb_ingest, ["--plugin", category, "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # help text is wrapped
    for flag in flags:
        assert f"{flag} TEXT" in text
    assert "TIME_COLUMN" in text and "ingest.yaml time_column" in text
    default = {"time_series_forecasting": "timestamp", "time_to_event_prediction": "time"}.get(category, "timestamp")
    assert f"default {default}" in text


@pytest.mark.parametrize("category", sorted(SAMPLES))
def test_template_runs_as_copied(tmp_path, category):
    folder = tmp_path / category
    shutil.copytree(TEMPLATES / category, folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG", "TABLE_NAME"))}
    proc = subprocess.run([sys.executable, "ingestor.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "📊 INGESTION SUMMARY 📊" in proc.stdout
    assert (folder / "tracebloc-output" / "ingest.sqlite").is_file()


# -- the samples, into SQLite and MariaDB ------------------------------------------------------


@pytest.mark.parametrize("db", ["sqlite_url", "mysql_url"])
@pytest.mark.parametrize("category", sorted(SAMPLES))
def test_sample_ingests(tmp_path, request, db, category):
    url = request.getfixturevalue(db)
    cls, table, count = SAMPLES[category]
    config = TEMPLATES / category / "ingest.yaml"
    report, out, err = ingest(cls(), {"config_path": str(config), "database_url": url, "output_dir": str(tmp_path)})
    assert report.exit_code == 0, out + err
    assert not report.schema_inferred  # the templates declare their schema
    cols, rows = rows_of(url, table)
    assert cols[: len(FRAMEWORK_COLUMNS)] == list(FRAMEWORK_COLUMNS) and len(rows) == count
    payload = json.loads((tmp_path / f"{table}.registration.json").read_text())["payload"]
    assert payload["category"] == category and payload["data_format"] == "tabular"
    assert payload["record_count"] == count
    if category == "time_series_forecasting":
        # The time column is the first feature, stored as DATETIME(6) (microseconds); the target only as buckets.
        assert cols[len(FRAMEWORK_COLUMNS)] == "timestamp" and payload["schema"]["timestamp"] == "DATETIME(6)"
        first = rows[0][cols.index("timestamp")]
        first = dt.datetime.fromisoformat(first) if isinstance(first, str) else first
        assert first == dt.datetime(2024, 1, 1)
        assert all(-1 <= int(k) < 64 for k in payload["labels"]) and sum(payload["labels"].values()) == count
        assert payload["meta_data"]["label_policy"] == "bucket"
        assert rows[0][cols.index("label")] == "108"  # the database keeps the raw target
    elif category == "time_to_event_prediction":
        # The event indicator leaves as it is (never bucketed); time stays an ordinary feature.
        assert payload["labels"] == {"0": 14, "1": 16}
        assert payload["schema"]["time"] == "INT" and "feature.time" in payload["meta_data"]
    else:
        assert payload["labels"] == {"running": 16, "sitting": 16, "walking": 16}
        assert payload["meta_data"]["sequences"] == 6
        assert payload["meta_data"]["sequences_per_label"] == {"running": 2, "sitting": 2, "walking": 2}
        assert cols[len(FRAMEWORK_COLUMNS) : len(FRAMEWORK_COLUMNS) + 2] == ["sequence_id", "timestamp"]
        assert payload["schema"]["sequence_id"] == "VARCHAR(32)" and payload["schema"]["timestamp"] == "DATETIME(6)"
        assert {r[cols.index("sequence_id")] for r in rows} == {f"seq_{i:02d}" for i in range(1, 7)}


# -- time_series_forecasting rules -------------------------------------------------------------

FORECAST_HEADER = "timestamp,load,label\n"


@pytest.mark.parametrize(
    "body,expected,secret",
    [
        ("2024-01-01,1,5\n2024-13-45,2,6\n", (2, "timestamp", "datetime"), "2024-13-45"),
        ("2024-01-01,1,5\n2024-01-03,2,6\n2024-01-02,3,7\n", (3, "timestamp", "time_order"), "2024-01-02"),
        ("2024-01-01,1,5\n2999-06-01 12:00:00,2,6\n", (2, "timestamp", "future_time"), "2999-06-01"),
        ("2024-01-01,1,5\n,2,6\n", (2, "timestamp", "required"), None),
        ("2024-01-01,1,5\n2024-01-02,heavy-rain,6\n", (2, "load", "numeric_feature"), "heavy-rain"),
        ("2024-01-01,1,5\n2024-01-02,2,lots-of\n", (2, "label", "number"), "lots-of"),
    ],
    ids=["datetime", "time_order", "future_time", "required", "numeric_feature", "numeric_target"],
)
def test_forecasting_rule_fails_naming_row_column_rule(tmp_path, sqlite_url, body, expected, secret):
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesForecasting(), FORECAST_HEADER + body)
    assert report.exit_code == 1, text
    assert where(report) == {expected}
    row, column, rule = expected
    assert f"row {row}, column {column!r}: [{rule}]" in text
    if secret:
        assert secret not in text
    assert not has_table(sqlite_url, "t")


@pytest.mark.parametrize("db", ["sqlite_url", "mysql_url"])
def test_out_of_order_across_a_batch_boundary(tmp_path, request, db):
    url = request.getfixturevalue(db)
    # Batches of two: rows 1-2 and 3-4 are each in order; row 3 is earlier than row 2.
    body = "2024-01-01,1,5\n2024-01-05,2,6\n2024-01-04,3,7\n2024-01-06,4,8\n"
    report, text = run_csv(tmp_path, url, TimeSeriesForecasting(), FORECAST_HEADER + body, batch_size="2")
    assert report.exit_code == 1, text
    assert where(report) == {(3, "timestamp", "time_order")}
    assert "earlier than the timestamp of row 2" in text
    assert not has_table(url, "t")


def test_equal_timestamps_offsets_and_the_recent_past_pass(tmp_path, sqlite_url):
    just_before = (utc_now() - dt.timedelta(minutes=2)).isoformat(sep=" ", timespec="seconds")
    body = (
        "2024-01-01T00:00:00Z,1,5\n"
        "2024-01-01T02:00:00+02:00,2,6\n"  # the same instant as the row before
        "2024-01-01 00:00:00,3,7\n"
        f"{just_before},4,8\n"
    )
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesForecasting(), FORECAST_HEADER + body, batch_size="3")
    assert report.exit_code == 0, text
    cols, rows = rows_of(sqlite_url, "t")
    assert len(rows) == 4 and cols.index("timestamp") == len(FRAMEWORK_COLUMNS)


def test_a_timestamp_moments_after_the_start_is_refused(tmp_path, sqlite_url):
    soon = (utc_now() + dt.timedelta(minutes=5)).isoformat(sep=" ", timespec="seconds")
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesForecasting(), FORECAST_HEADER + f"2024-01-01,1,5\n{soon},2,6\n")
    assert report.exit_code == 1
    assert where(report) == {(2, "timestamp", "future_time")}
    assert soon not in text


def test_forecasting_missing_time_column_and_declared_text_feature(tmp_path, sqlite_url):
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesForecasting(), "when,load,label\n2024-01-01,1,5\n2024-01-02,2,6\n")
    assert report.exit_code == 1
    assert (None, "timestamp", "time_column") in where(report)

    report, text = run_csv(
        tmp_path,
        sqlite_url,
        TimeSeriesForecasting(),
        FORECAST_HEADER.replace("load", "city") + "2024-01-01,Berlin,5\n2024-01-02,Paris,6\n",
        schema={"timestamp": "DATETIME", "city": "VARCHAR(20)"},
    )
    assert report.exit_code == 1
    assert where(report) == {(None, "city", "numeric_feature")}
    assert "Berlin" not in text and not has_table(sqlite_url, "t")


def test_forecasting_inferred_schema_and_custom_time_column(tmp_path, sqlite_url):
    body = "ts,load,temp,label\n2024-01-01 08:00,1,2.5,5\n2024-01-01 09:00,2,,6\n2024-01-01 10:00,3,3.5,7\n"
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesForecasting(), body, time_column="ts")
    assert report.exit_code == 0, text
    assert report.schema == {"ts": "DATETIME", "load": "BIGINT", "temp": "DOUBLE"}
    assert report.schema_inferred


# -- time_to_event_prediction rules ------------------------------------------------------------

TTE_HEADER = "age,time,label\n"


@pytest.mark.parametrize(
    "body,expected,secret",
    [
        ("61,10,1\n70,-3.5,0\n", (2, "time", "non_negative"), "-3.5"),
        ("61,10,1\n70,soon-ish,0\n", (2, "time", "number"), "soon-ish"),
        ("61,10,1\n70,20,0\n55,30,dead\n", (3, "label", "event_indicator"), "dead"),
        ("61,10,1\n70,20,0\n55,30,2\n", (3, "label", "event_indicator"), None),
    ],
    ids=["non_negative", "number", "event_word", "event_two"],
)
def test_time_to_event_rule_fails_naming_row_column_rule(tmp_path, sqlite_url, body, expected, secret):
    report, text = run_csv(tmp_path, sqlite_url, TimeToEventPrediction(), TTE_HEADER + body)
    assert report.exit_code == 1, text
    assert where(report) == {expected}
    row, column, rule = expected
    assert f"row {row}, column {column!r}: [{rule}]" in text
    if secret:
        assert secret not in text
    assert not has_table(sqlite_url, "t")


def test_time_to_event_missing_time_column(tmp_path, sqlite_url):
    report, _ = run_csv(tmp_path, sqlite_url, TimeToEventPrediction(), "age,days,label\n61,10,1\n70,20,0\n")
    assert report.exit_code == 1
    assert where(report) == {(None, "time", "time_column")}
    # The same file with time_column naming the duration column passes.
    report, text = run_csv(tmp_path, sqlite_url, TimeToEventPrediction(), "age,days,label\n61,10,1\n70,20,0\n", time_column="days")
    assert report.exit_code == 0, text
    assert report.schema == {"age": "BIGINT", "days": "BIGINT"} and report.schema_inferred


def test_time_to_event_empty_time_warns_and_true_false_events_pass(tmp_path, sqlite_url):
    report, text = run_csv(tmp_path, sqlite_url, TimeToEventPrediction(), TTE_HEADER + "61,10.5,True\n70,,false\n55,3,TRUE\n")
    assert report.exit_code == 0, text
    warnings = {(i.row, i.column, i.rule) for i in report.issues if not i.is_error}
    assert (2, "time", "time_missing") in warnings
    cols, rows = rows_of(sqlite_url, "t")
    assert [r[cols.index("time")] for r in rows] == [10.5, None, 3.0]
    assert [r[cols.index("label")] for r in rows] == ["1", "0", "1"]  # normalised


def test_time_to_event_declared_text_time_is_refused(tmp_path, sqlite_url):
    report, _ = run_csv(
        tmp_path, sqlite_url, TimeToEventPrediction(), TTE_HEADER + "61,10,1\n70,20,0\n", schema={"age": "INT", "time": "VARCHAR(10)"}
    )
    assert report.exit_code == 1
    assert where(report) == {(None, "time", "time_column")}


# -- time_series_classification rules ---------------------------------------------------------

TSC_HEADER = "sequence_id,step,x,label\n"


@pytest.mark.parametrize(
    "body,expected,batch_size",
    [
        ("a,1,5,up\nb,1,6,down\na,2,7,up\na,3,8,down\n", (4, "label", "label_constant"), None),
        ("a,1,5,up\nb,1,6,down\nb,2,7,down\na,2,8,down\n", (4, "label", "label_constant"), "2"),
        ("a,1,5,up\nb,5,6,down\na,3,7,up\nb,4,8,down\n", (4, "step", "sequence_order"), None),
        ("a,1,5,up\na,5,6,up\nb,1,7,down\na,4,8,up\n", (4, "step", "sequence_order"), "2"),
        ("a,1,5,up\n ,2,6,up\nb,1,7,down\n", (2, "sequence_id", "required"), None),
        ("a,1,5,up\na,two,6,up\nb,1,7,down\n", (2, "step", "number"), None),
    ],
    ids=["label_constant", "label_constant_across_batches", "sequence_order", "sequence_order_across_batches", "required_id", "step_number"],
)
def test_sequence_rule_fails_naming_row_column_rule(tmp_path, sqlite_url, body, expected, batch_size):
    flags = {"time_column": "step", **({"batch_size": batch_size} if batch_size else {})}
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesClassification(), TSC_HEADER + body, **flags)
    assert report.exit_code == 1, text
    assert where(report) == {expected}
    row, column, rule = expected
    assert f"row {row}, column {column!r}: [{rule}]" in text
    assert not has_table(sqlite_url, "t")


def test_interleaved_sequences_with_numeric_steps_pass(tmp_path, sqlite_url):
    # Globally the steps jump back and forth; within each sequence they never decrease.
    body = "a,1,5,up\nb,7,6,down\na,2,7,up\nb,7,8,down\nc,0,9,up\na,9,1,up\n"
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesClassification(), TSC_HEADER + body, time_column="step", batch_size="2")
    assert report.exit_code == 0, text
    assert report.schema == {"sequence_id": "VARCHAR(255)", "step": "BIGINT", "x": "BIGINT"} and report.schema_inferred
    payload = json.loads((tmp_path / "o" / "t.registration.json").read_text())["payload"]
    assert payload["meta_data"]["sequences"] == 3
    assert payload["meta_data"]["sequences_per_label"] == {"down": 1, "up": 2}


def test_sequence_column_and_time_type_are_checked(tmp_path, sqlite_url):
    report, _ = run_csv(tmp_path, sqlite_url, TimeSeriesClassification(), "series,step,x,label\na,1,5,up\nb,1,6,down\n", time_column="step")
    assert report.exit_code == 1
    assert where(report) == {(None, "sequence_id", "sequence_column")}
    # Date-times decided by the first batch: a bare number later is not a date-time.
    body = "a,2024-01-01 10:00,5,up\nb,2024-01-01 10:00,6,down\na,12,7,up\n"
    report, text = run_csv(tmp_path, sqlite_url, TimeSeriesClassification(), TSC_HEADER + body, time_column="step", batch_size="2")
    assert report.exit_code == 1
    assert where(report) == {(3, "step", "datetime")}


# -- the column options in their three forms -----------------------------------------------------

FORECAST_BODY = "2024-01-01,1,5\n2024-01-02,2,6\n"


def test_time_column_from_the_environment(tmp_path, sqlite_url):
    text = "ts,load,label\n" + FORECAST_BODY
    report, out = run_csv(tmp_path, sqlite_url, TimeSeriesForecasting(), text, environ={"TIME_COLUMN": "ts"})
    assert report.exit_code == 0, out
    assert report.schema == {"ts": "DATETIME", "load": "BIGINT"}
    # TRACEBLOC_TIME_COLUMN wins over TIME_COLUMN; a missing column names where its name came from
    environ = {"TIME_COLUMN": "ts", "TRACEBLOC_TIME_COLUMN": "when"}
    report, out = run_csv(tmp_path, sqlite_url, TimeSeriesForecasting(), text, environ=environ)
    assert report.exit_code == 1
    assert (None, "when", "time_column") in where(report)  # ts is an ordinary (non-numeric) feature then
    assert "the name from environment TRACEBLOC_TIME_COLUMN" in out


def test_time_column_from_ingest_yaml_and_the_flag_wins(tmp_path, sqlite_url):
    (tmp_path / "d.csv").write_text("ts,load,label\n" + FORECAST_BODY, encoding="utf-8")
    config = tmp_path / "ingest.yaml"
    config.write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: time_series_forecasting\n"
        "table: t\nintent: train\ncsv: d.csv\ntime_column: ts\n",
        encoding="utf-8",
    )
    flags = {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path / "o")}
    report, out, err = ingest(TimeSeriesForecasting(), flags)
    assert report.exit_code == 0, out + err
    assert list(report.schema) == ["ts", "load"]
    # the environment wins over ingest.yaml, the flag over both
    report, out, err = ingest(TimeSeriesForecasting(), flags, {"TIME_COLUMN": "load"})
    assert where(report) >= {(1, "load", "datetime")}
    report, out, err = ingest(TimeSeriesForecasting(), {**flags, "time_column": "ts"}, {"TIME_COLUMN": "load"})
    assert report.exit_code == 0, out + err


def test_an_empty_time_column_in_ingest_yaml_is_refused_at_start(tmp_path, sqlite_url):
    config = tmp_path / "ingest.yaml"
    config.write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: time_to_event_prediction\n"
        "table: t\nintent: train\ncsv: d.csv\ntime_column: ''\n",
        encoding="utf-8",
    )
    report, out, err = ingest(TimeToEventPrediction(), {"config_path": str(config), "database_url": sqlite_url})
    assert report.exit_code == 2
    assert "time_column" in err


def test_sequence_column_option(tmp_path, sqlite_url):
    body = "series,step,x,label\na,1,5,up\nb,1,6,down\na,2,7,up\n"
    report, text = run_csv(
        tmp_path, sqlite_url, TimeSeriesClassification(), body, environ={"SEQUENCE_COLUMN": "series"}, time_column="step"
    )
    assert report.exit_code == 0, text
    assert list(report.schema) == ["series", "step", "x"]
    payload = json.loads((tmp_path / "o" / "t.registration.json").read_text())["payload"]
    assert payload["meta_data"]["sequences"] == 2
    # a sequence column that is also the label, or a framework column's name, is refused
    report, _ = run_csv(tmp_path, sqlite_url, TimeSeriesClassification(), body, time_column="step", sequence_column="label")
    assert (None, "label", "sequence_column") in where(report)
    renamed = body.replace("series", "data_id")
    report, _ = run_csv(tmp_path, sqlite_url, TimeSeriesClassification(), renamed, time_column="step", sequence_column="data_id")
    assert where(report) == {(None, "data_id", "column_name")}


def test_the_local_data_report_describes_the_series(tmp_path, sqlite_url):
    for category, text in (
        ("time_series_classification", "sequences of"),
        ("time_series_forecasting", "One series of 31 time steps from 2024-01-01 00:00 to 2024-01-31 00:00."),
    ):
        plugin, _table, _count = SAMPLES[category]
        flags = {"config_path": str(TEMPLATES / category / "ingest.yaml"), "database_url": sqlite_url, "output_dir": str(tmp_path / category)}
        report, out, err = ingest(plugin(), flags)
        assert report.exit_code == 0, out + err
        page = Path(report.data_report).read_text(encoding="utf-8")
        assert text in page, category
    assert "Time steps per sequence" in Path(tmp_path / "time_series_classification").joinpath("activity_sample.report.html").read_text(encoding="utf-8")
