"""The conformance kit over the three text categories: the checks every category plugin passes.

Each category runs it on its bundled template and on ``data/bad_<category>/`` (its
ingest.yaml says what is wrong with it).
"""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import distribution_suite

ROOT = Path(__file__).resolve().parents[1]

TestTextClassification = distribution_suite(ROOT, "text_classification")
TestTokenClassification = distribution_suite(ROOT, "token_classification")
TestMaskedLanguageModeling = distribution_suite(ROOT, "masked_language_modeling")
