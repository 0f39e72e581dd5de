"""The conformance kit over the two tabular categories: the checks every category plugin passes.

Each category runs it on its bundled template and on ``data/bad_<category>/`` (its
ingest.yaml says what is wrong with it).
"""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import distribution_suite

ROOT = Path(__file__).resolve().parents[1]

TestTabularClassification = distribution_suite(ROOT, "tabular_classification")
TestTabularRegression = distribution_suite(ROOT, "tabular_regression")
