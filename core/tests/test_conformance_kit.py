"""The conformance kit on a category built from the public API, and proof that its checks can fail."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tracebloc_ingestor.api import Issue, Option, Tally
from tracebloc_ingestor.testing.backend_double import BackendDouble
from tracebloc_ingestor.testing.conformance import CategoryConformance, conformance_suite

DATA = Path(__file__).parent / "data" / "conformance"


def _load_demo():
    spec = importlib.util.spec_from_file_location("demo_plugin", DATA / "plugin" / "demo_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DemoCategory


DemoCategory = _load_demo()


class TestKitOnAnInlineCategory(CategoryConformance):
    category = "demo_conformance"
    plugin = DemoCategory()
    sample = DATA / "good" / "ingest.yaml"
    bad_sample = DATA / "bad" / "ingest.yaml"
    package = DATA / "plugin"


TestKitBuiltByOneCall = conformance_suite(
    "demo_conformance", sample=DATA / "good" / "ingest.yaml", bad_sample=DATA / "bad" / "ingest.yaml",
    plugin=DemoCategory(), package=DATA / "plugin",
)


# -- every check can fail -------------------------------------------------------------------


def kit_for(category) -> CategoryConformance:
    kit = conformance_suite(category.category, sample=DATA / "good" / "ingest.yaml", bad_sample=DATA / "bad" / "ingest.yaml",
                            plugin=category, package=DATA / "plugin")()
    return kit


class Leaky(DemoCategory):
    def describe(self, ctx, batch):
        out = dict(super().describe(ctx, batch))
        out["codes"] = Tally({code: 1 for code in batch.column("patient_code").to_pylist()})
        return out


class Talkative(DemoCategory):
    def validate(self, ctx, batch):
        issues = list(super().validate(ctx, batch))
        for row, code in zip(batch.column("_tb_row").to_pylist(), batch.column("patient_code").to_pylist()):
            if len(code) > 16:
                issues.append(Issue("code", f"code {code} is too long", row=row, value=code))
        return issues


class Undocumented(DemoCategory):
    options = (Option("min_age", int, default=0),)


class Forgetful(DemoCategory):
    """Drops rows in its transform: the sample does not land completely."""

    def transform_batch(self, ctx, batch):
        batch = super().transform_batch(ctx, batch)
        return batch.slice(0, max(batch.num_rows - 1, 0))


def test_a_leak_to_the_backend_fails_the_privacy_check(tmp_path):
    with BackendDouble() as double:
        with pytest.raises(AssertionError, match="raw data reached the backend"):
            kit_for(Leaky()).test_nothing_raw_reaches_the_backend(tmp_path, double)


def test_a_value_in_a_message_fails_the_message_check(tmp_path):
    with pytest.raises(AssertionError, match="values of the input appear in messages"):
        kit_for(Talkative()).test_messages_carry_no_values(tmp_path)


def test_an_option_without_help_fails_the_documentation_check():
    with pytest.raises(AssertionError, match="option 'min_age' has no help text"):
        kit_for(Undocumented()).test_every_option_is_documented()


def test_lost_rows_fail_the_ingest_check(tmp_path):
    with pytest.raises(AssertionError):
        kit_for(Forgetful()).test_sample_ingests_into_sqlite(tmp_path)


def test_a_private_import_fails_the_import_check(tmp_path):
    (tmp_path / "plugin.py").write_text("from tracebloc_ingestor.pipeline import Pipeline\n", encoding="utf-8")
    kit = conformance_suite("demo_conformance", sample=DATA / "good" / "ingest.yaml", bad_sample=DATA / "bad" / "ingest.yaml",
                            plugin=DemoCategory(), package=tmp_path)()
    with pytest.raises(AssertionError, match="plugin.py:1: imports tracebloc_ingestor.pipeline"):
        kit.test_sources_import_only_the_public_api()


def test_a_bad_sample_that_passes_fails_the_refusal_check(tmp_path):
    kit = conformance_suite("demo_conformance", sample=DATA / "good" / "ingest.yaml", bad_sample=DATA / "good" / "ingest.yaml",
                            plugin=DemoCategory(), package=DATA / "plugin")()
    with BackendDouble() as double:
        with pytest.raises(AssertionError, match="the bad sample was not refused"):
            kit.test_bad_sample_is_refused_and_nothing_is_written(tmp_path, double)


def test_the_option_reaches_the_category(tmp_path):
    result = kit_for(DemoCategory()).run(tmp_path, DATA / "good" / "ingest.yaml", environ={"MIN_AGE": "50"})
    assert result.report.exit_code == 1 and {i.rule for i in result.report.issues} == {"min_age"}
