"""The conformance kit over the two tabular categories: the checks every category plugin passes.

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


TestTabularClassification = suite("tabular_classification")
TestTabularRegression = suite("tabular_regression")
