"""The conformance kit over the template's category: every check a category plugin passes.

It installs nothing: it needs the distribution installed (``pip install -e '.[test]'``),
loads ``my_category`` through its entry point, ingests ``sample/`` into SQLite and
MariaDB/MySQL, runs it twice, watches what reaches a stand-in backend, feeds it the bad
sample, and checks that every option is documented and that ``src/`` imports only
``tracebloc_ingestor.api``.
"""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import CategoryConformance

ROOT = Path(__file__).resolve().parents[1]


class TestConformance(CategoryConformance):
    category = "my_category"
    sample = ROOT / "sample" / "ingest.yaml"
    bad_sample = ROOT / "tests" / "data" / "bad" / "ingest.yaml"
    readme = ROOT / "README.md"
