"""The layouts time-series data comes in: event indicators in every spelling, forecasting
panels (many series in one file) and period strings, written the way pandas writes them."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tracebloc_ingestor.testing.privacy import leaked
from tracebloc_ingestor.testing.runs import has_table, run_plugin, table_columns, table_rows
from tracebloc_ingestor_timeseries import TimeSeriesForecasting, TimeToEventPrediction

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parent / "templates"


def ingest(tmp_path, url, plugin, frame: pd.DataFrame, name="d.csv", environ=None, **flags):
    """Write ``frame`` as pandas writes it (CSV, Parquet or JSON lines, by extension) and ingest
    it into table ``t``; returns (report, everything the run printed)."""
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif name.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        frame.to_csv(path, index=False)
    flags = {"database_url": url, "output_dir": str(tmp_path / "o"), "category": plugin.category, **flags}
    env = {"LABEL_FILE": name, "SRC_PATH": str(tmp_path), "TABLE_NAME": "t", **(environ or {})}
    report, out, err = run_plugin(plugin, flags, env)
    return report, out + err


def errors(report):
    return {(i.row, i.column, i.rule) for i in report.issues if i.is_error}


def payload(tmp_path):
    return json.loads((tmp_path / "o" / "t.registration.json").read_text())["payload"]


def column(url, name):
    cols = table_columns(url, "t")
    return [row[cols.index(name)] for row in table_rows(url, "t")]


def moment(value):
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


# -- time to event: one canonical event indicator ---------------------------------------------------


def recidivism(n: int = 48, seed: int = 7) -> pd.DataFrame:
    """Follow-up of released prisoners, shaped like the classic recidivism study: weeks to
    re-arrest (censored at 52) and whether it happened."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        arrested = rng.random() < 0.3
        rows.append(
            {
                "week": rng.randint(1, 51) if arrested else 52,
                "fin": rng.randint(0, 1),
                "age": rng.randint(17, 44),
                "prio": rng.randint(0, 18),
                "arrest": arrested,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("db", ["sqlite_url", "mysql_url"])
def test_event_indicators_in_every_spelling_are_two_classes(tmp_path, request, db):
    url = request.getfixturevalue(db)
    frame = recidivism()
    spellings = {True: ["true", "1", "1.0", "TRUE", " True "], False: ["false", "0", "0.0", "False", "0.00"]}
    frame["arrest"] = [spellings[event][i % 5] for i, event in enumerate(frame["arrest"])]
    events = sum(frame["arrest"].isin(spellings[True]))
    report, text = ingest(tmp_path, url, TimeToEventPrediction(), frame, time_column="week", label_column="arrest", batch_size="7")
    assert report.exit_code == 0, text
    assert payload(tmp_path)["labels"] == {"0": len(frame) - events, "1": events}
    assert column(url, "label") == ["1" if v.strip().lower() in ("true", "1", "1.0") else "0" for v in frame["arrest"]]


@pytest.mark.parametrize(
    "name,convert",
    [
        ("d.csv", bool),  # pandas writes True/False
        ("d.csv", float),  # a float column (as after a merge with gaps): 1.0/0.0
        ("d.parquet", bool),
        ("d.parquet", float),
        ("d.parquet", int),
        ("d.jsonl", bool),  # JSON true/false
        ("d.jsonl", float),
    ],
    ids=["csv-bool", "csv-float", "parquet-bool", "parquet-float", "parquet-int", "jsonl-bool", "jsonl-float"],
)
def test_event_indicators_as_pandas_writes_them(tmp_path, sqlite_url, name, convert):
    frame = recidivism()
    frame["arrest"] = frame["arrest"].astype(convert)
    report, text = ingest(tmp_path, sqlite_url, TimeToEventPrediction(), frame, name, time_column="week", label_column="arrest")
    assert report.exit_code == 0, text
    events = int(frame["arrest"].astype(bool).sum())
    assert payload(tmp_path)["labels"] == {"0": len(frame) - events, "1": events}
    assert set(column(sqlite_url, "label")) == {"0", "1"}


@pytest.mark.parametrize("value", ["2", "-1", "0.5", "yes", "rearrested", "1e0", "NA"])
def test_any_other_indicator_is_refused_naming_row_column_and_rule(tmp_path, sqlite_url, value):
    frame = recidivism(6)
    frame["arrest"] = ["1", "0", "1", value, "0", "1"]
    report, text = ingest(tmp_path, sqlite_url, TimeToEventPrediction(), frame, time_column="week", label_column="arrest")
    assert report.exit_code == 1, text
    assert errors(report) == {(4, "arrest", "event_indicator")}
    assert "row 4, column 'arrest': [event_indicator]" in text
    if len(value) >= 4:
        assert value not in text
    assert not has_table(sqlite_url, "t")


def test_true_and_1_are_one_class(tmp_path, sqlite_url):
    frame = recidivism(4)
    frame["arrest"] = ["true", "1", "1.0", "True"]
    report, text = ingest(tmp_path, sqlite_url, TimeToEventPrediction(), frame, time_column="week", label_column="arrest")
    assert report.exit_code == 1, text
    assert errors(report) == {(None, "arrest", "label_diversity")}
    assert "the input has 1" in text


# -- forecasting panels: many series in one file ----------------------------------------------------


def retail_panel(stores: int = 4, items: int = 5, days: int = 60, by_date: bool = True) -> pd.DataFrame:
    """Daily unit sales per store and item in the long layout: one row per (store/item, day)."""
    rng = random.Random(2013)
    rows = []
    for day in range(days):
        date = dt.date(2017, 1, 2) + dt.timedelta(days=day)
        for store in range(1, stores + 1):
            for item in range(1, items + 1):
                weekly = 1.25 if date.weekday() >= 5 else 1.0
                rows.append(
                    {
                        "date": date.isoformat(),
                        "store_item": f"store_{store:02d}/item_{item:03d}",
                        "price": round(2.5 + item * 0.75, 2),
                        "promo": int(rng.random() < 0.1),
                        "sales": round((8 + 3 * store + 2 * item) * weekly * rng.uniform(0.7, 1.3)),
                    }
                )
    frame = pd.DataFrame(rows)
    return frame if by_date else frame.sort_values(["store_item", "date"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("db", ["sqlite_url", "mysql_url"])
@pytest.mark.parametrize("by_date", [True, False], ids=["interleaved", "series-by-series"])
def test_retail_panel_in_the_long_layout(tmp_path, request, db, by_date):
    url = request.getfixturevalue(db)
    frame = retail_panel(by_date=by_date)
    report, text = ingest(
        tmp_path, url, TimeSeriesForecasting(), frame, time_column="date", series_column="store_item", label_column="sales", batch_size="97"
    )
    assert report.exit_code == 0, text
    assert report.schema == {"store_item": "VARCHAR(255)", "date": "DATETIME", "price": "DOUBLE", "promo": "BIGINT"}
    assert len(table_rows(url, "t")) == 1200
    assert sorted(set(column(url, "store_item"))) == sorted(set(frame["store_item"]))
    meta = payload(tmp_path)["meta_data"]
    assert meta["series"] == 20
    assert meta["series_length"] == {"count": 20, "nulls": 0, "mean": 60.0, "std": 0.0}
    assert meta["series_length_buckets"] == {"32-63": 20}
    sent = (tmp_path / "o" / "t.registration.json").read_bytes()
    assert leaked(sent, {s.encode() for s in frame["store_item"]} | {b"item_0"}) == []


def test_sensor_panel_with_series_of_different_lengths(tmp_path, sqlite_url):
    # sensors installed at different times: 1, 3, 12 and 100 readings of 15 minutes
    rows = []
    for sensor, count in (("b7-roof", 1), ("b7-hall", 3), ("b2-lab", 12), ("b2-cellar", 100)):
        start = dt.datetime(2023, 3, 1) - dt.timedelta(minutes=15 * count)
        for k in range(count):
            rows.append({"sensor": sensor, "at": (start + dt.timedelta(minutes=15 * k)).isoformat(sep=" "), "humidity": 40 + k % 7, "kwh": 1.5 + k % 5})
    frame = pd.DataFrame(rows)
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="at", series_column="sensor", label_column="kwh", batch_size="10")
    assert report.exit_code == 0, text
    meta = payload(tmp_path)["meta_data"]
    assert meta["series"] == 4
    assert meta["series_length_buckets"] == {"1": 1, "2-3": 1, "8-15": 1, "64-127": 1}
    assert meta["series_length"]["mean"] == pytest.approx(29.0)
    assert meta["series_length"]["std"] == pytest.approx(41.20, abs=0.01)


def test_without_series_column_a_panel_is_one_series_out_of_order(tmp_path, sqlite_url):
    frame = retail_panel(stores=1, items=2, days=3, by_date=False)  # item 1's days, then item 2's
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="date", label_column="sales")
    assert report.exit_code == 1
    assert errors(report) >= {(4, "date", "time_order")}
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="date", label_column="sales", series_column="store_item")
    assert report.exit_code == 0, text


@pytest.mark.parametrize("db", ["sqlite_url", "mysql_url"])
def test_order_is_checked_per_series_across_batches(tmp_path, request, db):
    url = request.getfixturevalue(db)
    frame = pd.DataFrame(
        {
            "series": ["north", "south", "north", "south", "north", "south"],
            "week_start": ["2024-03-04", "2024-03-04", "2024-03-11", "2024-03-11", "2024-03-08", "2024-03-18"],
            "visits": [120, 80, 131, 77, 140, 90],
        }
    )
    # batches of two: row 5 (north) is earlier than row 3, two batches back
    report, text = ingest(tmp_path, url, TimeSeriesForecasting(), frame, time_column="week_start", series_column="series", label_column="visits", batch_size="2")
    assert report.exit_code == 1, text
    assert errors(report) == {(5, "week_start", "time_order")}
    assert "earlier than the timestamp of row 3 of the same series" in text
    assert "2024-03-08" not in text and "north" not in text
    assert not has_table(url, "t")


def test_series_id_rules(tmp_path, sqlite_url):
    frame = pd.DataFrame({"shop": ["a", " ", "b", "a"], "day": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-02"], "sold": [1, 2, 3, 4]})
    run = lambda f=frame, **flags: ingest(  # noqa: E731
        tmp_path, sqlite_url, TimeSeriesForecasting(), f, time_column="day", label_column="sold", **{"series_column": "shop", **flags}
    )
    report, text = run()
    assert errors(report) == {(2, "shop", "required")}
    assert "a series id is required" in text
    report, text = run(series_column="store")
    assert (None, "store", "series_column") in errors(report)  # shop is then a (non-numeric) feature
    assert "the series column is not in the source (the name from --series-column" in text
    report, _ = run(series_column="sold")
    assert (None, "sold", "series_column") in errors(report)
    ok = frame.assign(shop=["a", "b", "b", "a"])
    report, _ = run(ok, schema={"shop": "DOUBLE", "day": "DATETIME"})
    assert errors(report) == {(None, "shop", "series_column")}
    report, text = run(ok.assign(shop=["a" * 40, "b", "b", "a"]), schema={"shop": "VARCHAR(32)", "day": "DATETIME"})
    assert errors(report) == {(1, "shop", "max_length")}
    # whole-number ids compare by value: "007" and "7" are one series, so row 4 is out of order
    numbered = pd.DataFrame({"shop": ["007", "8", "7"], "day": ["2024-01-02", "2024-01-01", "2024-01-01"], "sold": [1, 2, 3]})
    report, _ = run(numbered.astype(str), schema={"shop": "INT", "day": "DATETIME"})
    assert errors(report) == {(3, "day", "time_order")}
    report, text = run(numbered.assign(day=["2024-01-01", "2024-01-01", "2024-01-02"]).astype(str), schema={"shop": "INT", "day": "DATETIME"})
    assert report.exit_code == 0, text
    assert report.schema["shop"] == "INT" and payload(tmp_path)["meta_data"]["series"] == 2


def test_series_column_from_the_environment_and_ingest_yaml(tmp_path, sqlite_url):
    frame = retail_panel(stores=2, items=1, days=4)
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, environ={"SERIES_COLUMN": "store_item", "TIME_COLUMN": "date", "LABEL_COLUMN": "sales"})
    assert report.exit_code == 0, text
    assert payload(tmp_path)["meta_data"]["series"] == 2
    frame.to_csv(tmp_path / "panel.csv", index=False)
    config = tmp_path / "ingest.yaml"
    config.write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: time_series_forecasting\ntable: t2\nintent: train\n"
        "csv: panel.csv\ntime_column: date\nseries_column: store_item\nlabel: sales\n",
        encoding="utf-8",
    )
    report, out, err = run_plugin(TimeSeriesForecasting(), {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path / "o")})
    assert report.exit_code == 0, out + err
    assert list(report.schema)[:2] == ["store_item", "date"]


class SmallMemory(TimeSeriesForecasting):
    series_in_memory = 5  # a panel of more series moves its state to disk


def many_series(count: int, days: int) -> pd.DataFrame:
    rows = [
        {"meter": f"meter-{m:05d}", "day": (dt.date(2022, 5, 1) + dt.timedelta(days=d)).isoformat(), "kwh": 10 + (m * 7 + d) % 13}
        for d in range(days)
        for m in range(count)
    ]
    return pd.DataFrame(rows)


def test_many_series_move_to_disk_with_the_same_outcome(tmp_path, sqlite_url, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    frame = many_series(60, 5)
    flags = dict(time_column="day", series_column="meter", label_column="kwh", batch_size="23")
    (tmp_path / "a").mkdir()
    report, text = ingest(tmp_path / "a", sqlite_url, SmallMemory(), frame, **flags)
    assert report.exit_code == 0, text
    spilled = payload(tmp_path / "a")["meta_data"]
    (tmp_path / "b").mkdir()
    report, text = ingest(tmp_path / "b", f"sqlite:///{tmp_path / 'b.sqlite'}", TimeSeriesForecasting(), frame, **flags)
    assert report.exit_code == 0, text
    in_memory = payload(tmp_path / "b")["meta_data"]
    for key in ("series", "series_length", "series_length_buckets"):
        assert spilled[key] == in_memory[key]
    assert spilled["series"] == 60 and spilled["series_length_buckets"] == {"4-7": 60}
    # a break after the state moved to disk is still found, naming the earlier row of that series
    broken = frame.copy()
    broken.loc[len(broken) - 1, "day"] = "2022-05-02"  # meter 59's last day goes back before its 4th
    (tmp_path / "c").mkdir()
    report, text = ingest(tmp_path / "c", f"sqlite:///{tmp_path / 'c.sqlite'}", SmallMemory(), broken, **flags)
    assert errors(report) == {(300, "day", "time_order")}
    assert "earlier than the timestamp of row 240 of the same series" in text
    assert list(scratch.iterdir()) == []  # the spill file went with the run


# -- period strings --------------------------------------------------------------------------------


def air_passengers() -> pd.DataFrame:
    """Monthly airline passengers 1949-1960 (a trend with a summer peak), months as pandas writes them."""
    months = pd.period_range("1949-01", "1960-12", freq="M")
    season = [0.9, 0.88, 1.0, 0.97, 0.98, 1.1, 1.22, 1.21, 1.06, 0.92, 0.8, 0.9]
    values = [round((112 + 2.6 * i) * season[p.month - 1]) for i, p in enumerate(months)]
    return pd.DataFrame({"month": months.astype(str), "passengers": values})


@pytest.mark.parametrize("db", ["sqlite_url", "mysql_url"])
def test_monthly_periods_are_stored_as_their_first_moment(tmp_path, request, db):
    url = request.getfixturevalue(db)
    frame = air_passengers()
    assert frame["month"].iloc[0] == "1949-01"
    report, text = ingest(tmp_path, url, TimeSeriesForecasting(), frame, time_column="month", time_format="period", label_column="passengers", batch_size="50")
    assert report.exit_code == 0, text
    assert report.schema == {"month": "DATETIME"}
    months = [moment(v) for v in column(url, "month")]
    assert months[0] == dt.datetime(1949, 1, 1) and months[13] == dt.datetime(1950, 2, 1) and months[-1] == dt.datetime(1960, 12, 1)
    assert payload(tmp_path)["meta_data"]["time_periods"] == {"month": 144}


@pytest.mark.parametrize(
    "values,firsts",
    [
        (list(pd.period_range("1959Q1", periods=3, freq="Q").astype(str)), [(1959, 1, 1), (1959, 4, 1), (1959, 7, 1)]),
        (["1998 Q1", "1998-Q2", "1998q3"], [(1998, 1, 1), (1998, 4, 1), (1998, 7, 1)]),
        (["1975", "1976", "1977"], [(1975, 1, 1), (1976, 1, 1), (1977, 1, 1)]),
        (["2020-W52", "2020-W53", "2021W01"], [(2020, 12, 21), (2020, 12, 28), (2021, 1, 4)]),
        (list(pd.period_range("2023-02-27", periods=3, freq="D").astype(str)), [(2023, 2, 27), (2023, 2, 28), (2023, 3, 1)]),
    ],
    ids=["pandas-quarters", "quarter-spellings", "years", "iso-weeks", "days"],
)
def test_period_forms(tmp_path, sqlite_url, values, firsts):
    frame = pd.DataFrame({"period": values, "y": [1.5, 2.5, 3.5]})
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="period", time_format="period", label_column="y")
    assert report.exit_code == 0, text
    assert [moment(v) for v in column(sqlite_url, "period")] == [dt.datetime(*f) for f in firsts]


@pytest.mark.parametrize("value", ["1975Q5", "2021-W53", "1949-13", "0999", "Q3 1975", "2023-02-29", "1975-07-01 10:00"])
def test_unparsable_periods_are_refused_naming_row_and_rule(tmp_path, sqlite_url, value):
    frame = pd.DataFrame({"period": ["1975", value, "1977"], "y": [1, 2, 3]})
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="period", time_format="period", label_column="y")
    assert report.exit_code == 1, text
    assert errors(report) == {(2, "period", "period")}
    assert "row 2, column 'period': [period] not a period" in text
    assert value not in text
    assert not has_table(sqlite_url, "t")


def test_periods_of_mixed_frequency_are_refused(tmp_path, sqlite_url):
    frame = pd.DataFrame({"period": ["1975Q1", "1975Q2", "1975-07", "1975Q4"], "y": [1, 2, 3, 4]})
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="period", time_format="period", label_column="y", batch_size="2")
    assert errors(report) == {(3, "period", "period_frequency")}
    assert "the frequency of the first one (row 1: a quarter, YYYYQn)" in text


def test_periods_without_the_option_are_refused_with_a_hint(tmp_path, sqlite_url):
    frame = pd.DataFrame({"period": ["1975Q1", "1975Q2"], "y": [1, 2]})
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="period", label_column="y")
    assert errors(report) == {(1, "period", "datetime"), (2, "period", "datetime")}
    assert "it reads as a calendar period: set time_format to period" in text
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame.assign(period=["soon", "later"]), time_column="period", label_column="y")
    assert "calendar period" not in text  # no hint for what is no period either


def test_a_future_period_and_an_empty_one(tmp_path, sqlite_url):
    frame = pd.DataFrame({"period": ["2024Q1", "", "2999Q1"], "y": [1, 2, 3]})
    report, _ = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, time_column="period", time_format="period", label_column="y")
    assert errors(report) == {(2, "period", "required"), (3, "period", "future_time")}


def test_time_format_from_the_environment_and_ingest_yaml(tmp_path, sqlite_url):
    frame = air_passengers().head(24)
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, environ={"TIME_FORMAT": "period", "TIME_COLUMN": "month", "LABEL_COLUMN": "passengers"})
    assert report.exit_code == 0, text
    frame.to_csv(tmp_path / "air.csv", index=False)
    config = tmp_path / "ingest.yaml"
    base = "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: time_series_forecasting\ntable: t2\nintent: train\ncsv: air.csv\ntime_column: month\nlabel: passengers\n"
    flags = {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path / "o")}
    config.write_text(base + "time_format: period\n", encoding="utf-8")
    report, out, err = run_plugin(TimeSeriesForecasting(), flags)
    assert report.exit_code == 0, out + err
    config.write_text(base + "time_format: monthly\n", encoding="utf-8")
    report, out, err = run_plugin(TimeSeriesForecasting(), flags)
    assert report.exit_code == 2
    assert "ingest.yaml: time_format" in err and "datetime, period" in err


@pytest.mark.parametrize(
    "freq,start",
    [("M", "1949-01"), ("Q", "1959Q1"), ("Y", "1975"), ("W", "2020-12-14"), ("D", "2023-02-27")],
)
def test_pandas_period_columns_in_parquet_are_read_as_periods(tmp_path, sqlite_url, freq, start):
    periods = pd.period_range(start, periods=3, freq=freq)
    frame = pd.DataFrame({"period": periods, "y": [1.5, 2.5, 3.5]})
    # whatever time_format says: the column's type says what it holds
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, "d.parquet", time_column="period", label_column="y")
    assert report.exit_code == 0, text
    assert [moment(v) for v in column(sqlite_url, "period")] == [p.start_time.to_pydatetime() for p in periods]


def test_pandas_periods_of_another_frequency_are_refused(tmp_path, sqlite_url):
    frame = pd.DataFrame({"period": pd.period_range("2020Q1", periods=3, freq="Q-MAR"), "y": [1, 2, 3]})
    report, text = ingest(tmp_path, sqlite_url, TimeSeriesForecasting(), frame, "d.parquet", time_column="period", label_column="y")
    assert errors(report) == {(None, "period", "period")}
    assert "pandas periods of frequency Q-MAR" in text and not has_table(sqlite_url, "t")


# -- the panel template ----------------------------------------------------------------------------


def test_panel_template_runs_as_copied(tmp_path):
    folder = tmp_path / "panel"
    shutil.copytree(TEMPLATES / "time_series_forecasting_panel", folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG", "TABLE_NAME"))}
    proc = subprocess.run([sys.executable, "ingestor.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sent = json.loads((folder / "tracebloc-output" / "regional_trips_sample.registration.json").read_text())["payload"]
    assert sent["meta_data"]["series"] == 6 and sent["meta_data"]["time_periods"] == {"quarter": 120}
    url = f"sqlite:///{folder / 'tracebloc-output' / 'ingest.sqlite'}"
    first = table_rows(url, "regional_trips_sample", "region, quarter")[0]
    assert first[0] == "alpine" and moment(first[1]) == dt.datetime(1998, 1, 1)


# -- the README's ingest.yaml examples, run as written ---------------------------------------------


def readme_example(title: str) -> str:
    text = (HERE.parent / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    (block,) = [b for b in blocks if b.startswith(f"# example: {title}\n")]
    return block


@pytest.mark.parametrize("db", ["sqlite_url", "mysql_url"])
@pytest.mark.parametrize(
    "title,file,frame",
    [("retail panel", "sales.csv", retail_panel), ("monthly periods", "air_passengers.csv", air_passengers)],
)
def test_readme_examples_ingest(tmp_path, request, db, title, file, frame):
    url = request.getfixturevalue(db)
    (tmp_path / "ingest.yaml").write_text(readme_example(title), encoding="utf-8")
    data = frame()
    data.to_csv(tmp_path / file, index=False)
    flags = {"config_path": str(tmp_path / "ingest.yaml"), "database_url": url, "output_dir": str(tmp_path / "o")}
    report, out, err = run_plugin(TimeSeriesForecasting(), flags)
    assert report.exit_code == 0, out + err
    assert report.counters.total == len(data)
    assert report.schema_inferred is (title == "monthly periods")  # the panel example declares its schema
