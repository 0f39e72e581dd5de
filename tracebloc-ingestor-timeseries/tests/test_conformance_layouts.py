"""The conformance kit over the new layouts: a forecasting panel of quarterly periods
(the panel template) and time-to-event indicators spelled many ways.

Each bad sample's ingest.yaml says what is wrong with it; the test below checks that
exactly those records, columns and rules are named.
"""

from pathlib import Path

import pytest
from tracebloc_ingestor.testing.conformance import conformance_suite
from tracebloc_ingestor.testing.runs import run_plugin
from tracebloc_ingestor_timeseries import TimeSeriesForecasting, TimeToEventPrediction

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "layouts"

TestForecastingPanel = conformance_suite(
    "time_series_forecasting",
    sample=ROOT / "templates" / "time_series_forecasting_panel" / "ingest.yaml",
    bad_sample=DATA / "bad_panel" / "ingest.yaml",
    readme=ROOT / "README.md",
)
TestTimeToEventSpellings = conformance_suite(
    "time_to_event_prediction",
    sample=DATA / "events_mixed" / "ingest.yaml",
    bad_sample=DATA / "bad_events" / "ingest.yaml",
    readme=ROOT / "README.md",
)


@pytest.mark.parametrize(
    "plugin,folder,expected",
    [
        (TimeSeriesForecasting, "bad_panel", {(14, "quarter", "time_order"), (27, "quarter", "period")}),
        (TimeToEventPrediction, "bad_events", {(5, "relapse", "event_indicator"), (9, "relapse", "event_indicator")}),
    ],
)
def test_bad_samples_fail_where_they_say(tmp_path, plugin, folder, expected):
    flags = {"config_path": str(DATA / folder / "ingest.yaml"), "database_url": f"sqlite:///{tmp_path / 'x.sqlite'}", "output_dir": str(tmp_path)}
    report, out, err = run_plugin(plugin(), flags)
    assert report.exit_code == 1, out + err
    assert {(i.row, i.column, i.rule) for i in report.issues if i.is_error} == expected
