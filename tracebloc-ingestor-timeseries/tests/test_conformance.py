"""The conformance kit over the three time-series categories: the checks every category plugin passes.

Each category runs it on its bundled template and on ``data/bad_<category>/`` (its
ingest.yaml says what is wrong with it).
"""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import conformance_suite

ROOT = Path(__file__).resolve().parents[1]


def suite(category: str) -> type:
    return conformance_suite(
        category,
        sample=ROOT / "templates" / category / "ingest.yaml",
        bad_sample=ROOT / "tests" / "data" / f"bad_{category}" / "ingest.yaml",
        readme=ROOT / "README.md",
    )


TestTimeSeriesForecasting = suite("time_series_forecasting")
TestTimeToEventPrediction = suite("time_to_event_prediction")
TestTimeSeriesClassification = suite("time_series_classification")
