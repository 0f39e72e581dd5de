"""The local HTML data report: bounded aggregation, what the page shows, where it goes, and what it never changes."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracebloc_ingestor import BaseIngestor
from tracebloc_ingestor.api import BarChart, Histogram, Issue, ReportSection, Table, Thumbnail
from tracebloc_ingestor.report import charts
from tracebloc_ingestor.report.profile import MAX_BINS, Bins, DataProfile, TopValues
from tracebloc_ingestor.testing.runs import run_plugin, table_flags

HEADER = "ref,age,income,city,joined,note,label\n"


def rows(n=40, bad_age_at=()):
    out = []
    for i in range(1, n + 1):
        age = "old" if i in bad_age_at else str(18 + i % 60)
        income = "" if i % 10 == 0 else f"{1000 + 37 * i}.5"
        city = ("Berlin", "Köln", "Zürich")[i % 3]
        note = "a fairly long free text note that goes on and on for a while in row " + str(i)
        out.append(f"r{i},{age},{income},{city},2024-01-{1 + i % 28:02d},{note},{'yes' if i % 4 else 'no'}\n")
    return out


class Demo(BaseIngestor):
    category = "demo_classification"


def run(tmp_path, lines, plugin=None, environ=None, **flags):
    (tmp_path / "data.csv").write_text(HEADER + "".join(lines), encoding="utf-8")
    return run_plugin(plugin or Demo(), table_flags(tmp_path, batch_size=16, quiet=True, **flags), environ)


# -- aggregation --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50), min_size=1, max_size=6))
def test_bins_count_every_value_exactly_in_at_most_max_bins(batches):
    bins = Bins()
    for batch in batches:
        bins.add(np.asarray(batch))
    values = np.concatenate([np.asarray(b) for b in batches])
    edges, counts = bins.edges_and_counts(most=MAX_BINS)
    assert sum(counts) == len(values) == bins.total
    assert len(counts) <= MAX_BINS and len(edges) == len(counts) + 1
    assert edges[0] <= values.min() and values.max() < edges[-1]
    # the same edges applied to all values at once give the same counts
    again, _ = np.histogram(values, bins=np.asarray(edges))
    assert again.sum() == len(values)


def test_bins_of_whole_numbers_are_never_narrower_than_one():
    bins = Bins()
    bins.add(np.array([1.0, 2.0, 3.0]))
    edges, counts = bins.edges_and_counts()
    assert counts == [1, 1, 1] and edges == [1.0, 2.0, 3.0, 4.0]


def test_top_values_are_exact_while_few_and_bounded_when_many():
    top = TopValues(capacity=4)
    top.add(pa.array(["a", "b", "a", "c"]))
    top.add(pa.array(["a", "c"]))
    assert top.top(2) == [("a", 3), ("c", 2)] and not top.approximate
    for i in range(10):
        top.add(pa.array([f"v{i}-{j}" for j in range(50)] + ["a"] * 100))
    assert top.approximate and len(top.counts) <= 8 and top.top(1)[0][0] == "a"


def test_profile_tells_numbers_dates_text_and_nulls_apart():
    profile = DataProfile()
    profile.add(pa.record_batch({"n": ["1", " 2.5", ""], "d": ["2024-01-02", "2023-05-06", None], "t": ["x", "y", "x"], "_tb_row": [1, 2, 3]}))
    profile.add(pa.record_batch({"n": ["4", None, "5"], "d": ["2024-02-01", "2024-03-01", "2022-01-01"], "t": ["z", "1", "x"], "_tb_row": [4, 5, 6]}))
    n, d, t = (profile.columns[k] for k in "ndt")
    assert "_tb_row" not in profile.columns and profile.rows == 6
    assert (n.kind, n.present, n.nulls, n.minimum, n.maximum) == ("numeric", 4, 2, 1.0, 5.0)
    assert d.kind == "date" and d.nulls == 1
    assert t.kind == "text" and t.top.top(1) == [("x", 3)]


def test_a_few_values_that_are_not_numbers_leave_a_column_numeric_and_are_counted():
    profile = DataProfile()
    profile.add(pa.record_batch({"n": [str(i) for i in range(500)]}))
    profile.add(pa.record_batch({"n": [str(i) for i in range(498)] + ["old", "n/a"]}))
    column = profile.columns["n"]
    assert (column.kind, column.not_numbers, column.numbers.total) == ("numeric", 2, 998)
    profile.add(pa.record_batch({"n": ["x"] * 100}))
    assert column.kind == "text" and column.top.approximate  # counted only from the batch that made it text


def test_profile_of_typed_columns_as_parquet_gives_them():
    profile = DataProfile()
    profile.add(pa.record_batch({"i": pa.array([1, None, 3]), "b": pa.array([True, False, None]), "ts": pa.array([0, 86400, None], pa.timestamp("s"))}))
    assert profile.columns["i"].kind == "numeric" and profile.columns["i"].nulls == 1
    assert profile.columns["b"].kind == "text" and profile.columns["b"].top.top(1)[0][1] == 1
    assert profile.columns["ts"].kind == "date" and profile.columns["ts"].last_date == 86400


# -- the page -----------------------------------------------------------------------------


def page_of(report):
    assert report.data_report, report
    with open(report.data_report, encoding="utf-8") as fh:
        return fh.read()


def test_a_run_writes_a_self_contained_report_next_to_the_rejects_report(tmp_path):
    report, out, _err = run(tmp_path, rows())
    assert report.exit_code == 0
    html = page_of(report)
    assert report.data_report == str(tmp_path / "out" / "demo.report.html")
    assert f"data report (stays local): {report.data_report}" in out
    # everything is inside the file: no address outside it is referenced
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, flags=re.I)
    assert "<script" not in html.lower()
    for text in ("Label distribution", "Columns", "age", "income", "city", "joined", "note", "Validation issues"):
        assert text in html
    # kinds, nulls, ranges and top values
    assert re.search(r">age</a></td><td>numeric</td><td>40</td><td>0</td>", html)
    assert re.search(r">income</a></td><td>numeric</td><td>36</td><td>4</td><td>10.0%</td>", html)
    assert re.search(r">joined</a></td><td>date</td>", html) and "2024-01-01 to 2024-01-28" in html
    assert re.search(r">note</a></td><td>long text</td>", html)
    assert "Zürich" in html and "Berlin" in html
    if charts.available():
        assert html.count("data:image/svg+xml;base64,") >= 6
    else:
        assert 'pip install &quot;tracebloc-ingestor[report]&quot;' in html


def test_the_issues_are_grouped_by_rule_and_column_with_examples(tmp_path):
    config = tmp_path / "ingest.yaml"
    config.write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: demo_classification\ntable: demo\nintent: train\n"
        "csv: data.csv\nschema:\n  ref: VARCHAR(8)\n  age: INT\n  income: DOUBLE\n  city: VARCHAR(16)\n  joined: DATE\n  note: TEXT\n",
        encoding="utf-8",
    )
    report, _out, _err = run(tmp_path, rows(bad_age_at=(3, 17, 33)), config_path=str(config), label_file=None)
    assert report.exit_code == 1 and report.status == "invalid"
    html = page_of(report)
    assert re.search(r"<td><span class=\"sev error\">error</span></td><td>integer</td><td>age</td><td>3</td>", html)
    assert "row 3: &#x27;old&#x27;; row 17: &#x27;old&#x27;; row 33: &#x27;old&#x27;" in html  # values stay in the local report


def test_the_report_can_go_elsewhere_or_nowhere(tmp_path):
    elsewhere = tmp_path / "reports" / "mine.html"
    report, _out, _err = run(tmp_path, rows(), report_html=str(elsewhere))
    assert report.data_report == str(elsewhere) and elsewhere.is_file()
    report, out, _err = run(tmp_path, rows(), data_report=False)
    assert report.data_report is None and "data report" not in out
    report, out, _err = run(tmp_path, rows(), environ={"TRACEBLOC_DATA_REPORT": "false"})
    assert report.data_report is None


def test_the_registration_is_the_same_with_and_without_the_report(tmp_path):
    def payload(sub, **flags):
        folder = tmp_path / sub
        folder.mkdir()
        report, _out, _err = run(folder, rows(), **flags)
        assert report.exit_code == 0
        data = json.loads((folder / "out" / "demo.registration.json").read_text(encoding="utf-8"))["payload"]
        data.pop("ingestor_id"), data.pop("dataset_title")
        return data

    assert payload("with") == payload("without", data_report=False)


class Sectioned(Demo):
    def report_sections(self, ctx, statistics):
        return [
            ReportSection(
                "Extra look",
                "written by the category",
                (
                    BarChart({"x": 2, "y": 1}, title="Bars"),
                    Histogram.of([1, 2, 2, 3], title="Spread"),
                    Table(("k", "v"), [("records", statistics["records"].n if "records" in statistics else "?")]),
                    Thumbnail(b"\x89PNG\r\n\x1a\n", "a caption"),
                ),
            )
        ]


def test_a_category_adds_sections_and_a_failing_one_only_loses_its_own(tmp_path):
    report, _out, _err = run(tmp_path, rows(), Sectioned())
    html = page_of(report)
    assert "Extra look" in html and "written by the category" in html and "a caption" in html
    assert "<td>records</td><td>40</td>" in html

    class Failing(Demo):
        def report_sections(self, ctx, statistics):
            raise RuntimeError("a section that cannot be drawn")

    report, _out, _err = run(tmp_path, rows(), Failing())
    assert report.exit_code == 0
    assert "category demo_classification failed to add its sections (RuntimeError)" in page_of(report)


def test_report_sections_refuse_what_they_cannot_draw():
    with pytest.raises(TypeError):
        ReportSection("bad", items=("text",))
    with pytest.raises(ValueError):
        Histogram((0, 1), (1, 2))


def test_an_unwritable_report_is_named_and_the_run_stands(tmp_path, caplog):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    report, _out, _err = run(tmp_path, rows(), report_html=str(blocker / "r.html"))
    assert report.exit_code == 0 and report.data_report is None
    assert any("the data report could not be written" in r.getMessage() for r in caplog.records)


def test_an_issue_from_the_start_is_in_the_report_too(tmp_path):
    class Closed(Demo):
        def start(self, ctx):
            return [Issue("closed", "the source is closed")]

    report, _out, _err = run(tmp_path, rows(), Closed())
    assert report.exit_code == 1
    assert "<td>closed</td>" in page_of(report)


def test_the_off_switch_wins_over_the_environment(tmp_path):
    from tracebloc_ingestor.settings import load_settings

    settings = load_settings({"data_report": False, "quiet": False}, {"TRACEBLOC_DATA_REPORT": "true", "TRACEBLOC_QUIET": "true"}, cwd=tmp_path)
    assert settings.data_report is False and settings.quiet is False
    assert settings.origins["data_report"] == "--data-report"


def test_without_matplotlib_every_chart_is_a_titled_table(tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "available", lambda: False)
    report, _out, _err = run(tmp_path, rows(), Sectioned())
    html = page_of(report)
    assert "data:image/svg+xml" not in html
    assert "<h4>Bars</h4>" in html and "<h4>Spread</h4>" in html and "<td>Berlin</td>" in html
    assert 'pip install &quot;tracebloc-ingestor[report]&quot;' in html


def test_the_report_never_fails_the_run(tmp_path):
    import datetime as dt

    from tracebloc_ingestor.monitor import RunMonitor

    monitor = RunMonitor(report_path=tmp_path / "r.html")
    stamps = pa.array([dt.datetime(2024, 5, 1, 12, 30, 0, 250000)], pa.timestamp("us", tz="Europe/Berlin"))
    monitor.profile.add(pa.record_batch({"seen": stamps}))  # fractions and time zones: whole seconds

    class Broken:
        issues = monitor.profile.issues

        def add(self, batch):
            raise ValueError("a column the report cannot describe")

    monitor.profile = Broken()

    class Ctx:
        phase = "validate"

        class category:
            file_bearing = False

        class stats:
            stored_files = 0

    batches = [pa.record_batch({"x": [1, 2]})]
    assert list(monitor.watch(Ctx(), batches)) == batches and monitor.profile is None
