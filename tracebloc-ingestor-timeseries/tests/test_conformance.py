"""The conformance kit over the three time-series categories: the checks every category plugin passes.

Each category runs it on its bundled template and on ``data/bad_<category>/`` (its
ingest.yaml says what is wrong with it).
"""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import distribution_suite

ROOT = Path(__file__).resolve().parents[1]

TestTimeSeriesForecasting = distribution_suite(ROOT, "time_series_forecasting")
TestTimeToEventPrediction = distribution_suite(ROOT, "time_to_event_prediction")
TestTimeSeriesClassification = distribution_suite(ROOT, "time_series_classification")
