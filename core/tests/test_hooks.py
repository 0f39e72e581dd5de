"""One test per hook, with a fresh plugin manager and plugins defined inline.

The last tests keep the hook surface honest: every spec in hookspecs.py has a test
here and a heading in docs/hooks.md.
"""

from __future__ import annotations

import inspect
import io
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tracebloc_ingestor import hookspecs
from tracebloc_ingestor.api import Category, CategorySpec, Issue, Option, ReportSection, Table, TableSchema, hookimpl
from tracebloc_ingestor.loader import DuplicatePluginError, category_table, new_plugin_manager, register_builtin
from tracebloc_ingestor.runner import run_ingestion
from tracebloc_ingestor.stats import Tally

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


class MemoryCategory(Category):
    """A complete category without BaseIngestor: records come from memory."""

    category = "memory_demo"
    data_format = "tabular"

    def discover(self, ctx):
        batch = pa.record_batch({"x": ["1", "2", "3"], "label": ["a", "b", "a"], "_tb_row": pa.array([1, 2, 3], pa.int64())})
        return iter([batch])

    def table_schema(self, ctx):
        return TableSchema.from_mapping({"x": "INT"})

    def transform_batch(self, ctx, batch):
        return batch.set_column(batch.schema.get_field_index("x"), "x", batch.column("x").cast(pa.int32()))


def run(tmp_path, *plugins, environ=None):
    pm = new_plugin_manager()
    for i, plugin in enumerate(plugins):
        register_builtin(pm, plugin, f"test:{i}")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    flags = {"database_url": url, "output_dir": str(tmp_path / "out"), "table": "mem", "category": plugins[0].category}
    report = run_ingestion(flags, environ or {}, pm=pm, out=io.StringIO(), err=io.StringIO())
    return report, url


def table(url):
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table("mem"):
            return None
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text("SELECT x, label FROM mem ORDER BY x")).all()]
    finally:
        engine.dispose()


def test_tb_categories():
    pm = new_plugin_manager()
    register_builtin(pm, MemoryCategory(), "one")
    spec, provider = category_table(pm)["memory_demo"]
    assert spec.data_format == "tabular" and provider == "one"
    register_builtin(pm, MemoryCategory(), "two")
    with pytest.raises(DuplicatePluginError, match="one.*two|two.*one"):
        category_table(pm)


def test_category_stages_discover_schema_and_transform(tmp_path):
    report, url = run(tmp_path, MemoryCategory())
    assert report.exit_code == 0, report.message
    assert table(url) == [(1, "a"), (2, "b"), (3, "a")]
    assert report.schema == {"x": "INT"}


def test_only_the_selected_categorys_stages_run(tmp_path):
    calls = []

    class Other(MemoryCategory):
        category = "other_demo"

        def discover(self, ctx):
            calls.append("other")
            return super().discover(ctx)

    report, _ = run(tmp_path, MemoryCategory(), Other())
    assert report.exit_code == 0 and calls == []


def test_tb_start(tmp_path):
    seen = []

    class Audit:
        @hookimpl
        def tb_start(self, ctx):
            seen.append((ctx.phase, ctx.category.name))
            return [Issue("closed", "the audit window is closed")]

    report, url = run(tmp_path, MemoryCategory(), Audit())
    assert seen == [("validate", "memory_demo")]
    assert report.exit_code == 1 and [i.rule for i in report.issues] == ["closed"] and table(url) is None


def test_tb_finish(tmp_path):
    ended = []

    class Audit:
        @hookimpl
        def tb_finish(self, ctx, report):
            ended.append((report.status, report.exit_code))

    class Broken(MemoryCategory):
        def finish(self, ctx, report):
            ended.append(("category", report.status))
            raise RuntimeError("a finish that fails does not change the outcome")

    report, _ = run(tmp_path, Broken(), Audit())
    assert report.exit_code == 0 and ended == [("category", "success"), ("success", 0)]


def test_tb_report_sections(tmp_path):
    seen = []

    class Audit:
        @hookimpl
        def tb_report_sections(self, ctx, statistics):
            seen.append((ctx.phase, statistics["labels"].counts))
            return [ReportSection("Audit trail", "checked by the audit plugin", (Table(("rule",), [("no PII",)]),))]

        @hookimpl
        def tb_finish(self, ctx, report):
            seen.append("finish")  # after the report: a plugin's state is still there for its sections

    report, _ = run(tmp_path, MemoryCategory(), Audit())
    assert report.exit_code == 0 and seen == [("write", {"a": 2, "b": 1}), "finish"]
    page = Path(report.data_report).read_text(encoding="utf-8")
    assert "Audit trail" in page and "checked by the audit plugin" in page and "<td>no PII</td>" in page


def test_tb_options(tmp_path):
    received = []

    class Threshold:
        @hookimpl
        def tb_options(self):
            return [Option("min_rows", int, default=1, help="Fewest rows accepted.")]

        @hookimpl
        def tb_validate_end(self, ctx):
            received.append((ctx.options.min_rows, ctx.options.origin("min_rows")))

    pm = new_plugin_manager()
    for i, plugin in enumerate((MemoryCategory(), Threshold())):
        register_builtin(pm, plugin, f"test:{i}")
    flags = {"database_url": f"sqlite:///{tmp_path / 'db.sqlite'}", "output_dir": str(tmp_path / "out"), "table": "mem",
             "category": "memory_demo"}
    report = run_ingestion(flags, {"MIN_ROWS": "7"}, pm=pm, out=io.StringIO(), err=io.StringIO())
    assert report.exit_code == 0 and received == [(7, "environment MIN_ROWS")]


def test_tb_validate(tmp_path):
    class NoTwos:
        @hookimpl
        def tb_validate(self, ctx, batch):
            rows = batch.column("_tb_row").to_pylist()
            return [Issue("no_twos", "twos are not allowed", row=r, column="x") for r, v in zip(rows, batch.column("x").to_pylist()) if v == "2"]

    report, url = run(tmp_path, MemoryCategory(), NoTwos())
    assert report.exit_code == 1 and [(i.row, i.rule) for i in report.issues] == [(2, "no_twos")]
    assert table(url) is None


def test_tb_validate_end(tmp_path):
    class NeedsTenRecords:
        seen = 0

        @hookimpl
        def tb_validate(self, batch):
            self.seen += batch.num_rows

        @hookimpl
        def tb_validate_end(self, ctx):
            if self.seen < 10:
                return [Issue("too_few", f"{self.seen} records; at least 10 are needed")]

    report, url = run(tmp_path, MemoryCategory(), NeedsTenRecords())
    assert report.exit_code == 1 and report.issues[0].rule == "too_few" and table(url) is None


def test_tb_transform(tmp_path):
    class Doubler:
        @hookimpl
        def tb_transform(self, batch):
            idx = batch.schema.get_field_index("x")
            return batch.set_column(idx, "x", pa.compute.multiply(batch.column("x"), 2))

    report, url = run(tmp_path, MemoryCategory(), Doubler())
    # behaviour transforms run after the category's cast: they receive integers.
    assert report.exit_code == 0, report.message
    assert [x for x, _ in table(url)] == [2, 4, 6]


def test_tb_load(tmp_path):
    received = []

    class Recorder:
        @hookimpl
        def tb_load(self, ctx, batch):
            # Runs before the host's database writer: the rows are not in the table yet.
            received.append((sorted(batch.schema.names), table_count(ctx)))

    def table_count(ctx):
        engine = sa.create_engine(ctx.settings.database_url)
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM mem")).scalar()
        engine.dispose()
        return n

    report, url = run(tmp_path, MemoryCategory(), Recorder())
    assert report.exit_code == 0
    names, count_before = received[0]
    assert {"data_id", "data_intent", "ingestor_id", "label", "x"} <= set(names)
    assert not any(n.startswith("_tb_") for n in names)
    assert count_before == 0


def test_tb_describe(tmp_path):
    class Parity:
        @hookimpl
        def tb_describe(self, batch):
            xs = batch.column("x").to_pylist()
            return {"parity": Tally({"even": sum(1 for x in xs if x % 2 == 0), "odd": sum(1 for x in xs if x % 2)})}

    report, _ = run(tmp_path, MemoryCategory(), Parity())
    payload = json.loads((tmp_path / "out" / "mem.registration.json").read_text())["payload"]
    assert payload["meta_data"]["parity"] == {"even": 1, "odd": 2}
    assert payload["labels"] == {"a": 2, "b": 1}


def test_category_stages_run_in_order_once_per_pass(tmp_path):
    calls = []

    class Recording(MemoryCategory):
        def start(self, ctx):
            calls.append(("start", ctx.phase))

        def discover(self, ctx):
            calls.append(("discover", ctx.phase))
            return super().discover(ctx)

        def validate(self, ctx, batch):
            calls.append(("validate", ctx.phase))

        def validate_end(self, ctx):
            calls.append(("validate_end", ctx.phase))

        def table_schema(self, ctx):
            calls.append(("table_schema", ctx.phase))
            return super().table_schema(ctx)

        def transform_batch(self, ctx, batch):
            calls.append(("transform_batch", ctx.phase))
            return super().transform_batch(ctx, batch)

        def load(self, ctx, batch):
            calls.append(("load", ctx.phase))

        def describe(self, ctx, batch):
            calls.append(("describe", ctx.phase))

        def finish(self, ctx, report):
            calls.append(("finish", report.status))

    report, url = run(tmp_path, Recording())
    assert report.exit_code == 0, report.message
    assert calls == [
        ("start", "validate"), ("discover", "validate"), ("validate", "validate"), ("validate_end", "validate"),
        ("table_schema", "validate"), ("discover", "write"), ("transform_batch", "write"), ("load", "write"),
        ("describe", "write"), ("finish", "success"),
    ]


def test_a_category_the_host_cannot_accept_is_named_with_the_allowed_values(tmp_path):
    class Audio(MemoryCategory):
        category = "audio_demo"
        data_format = "audio"

    report, _ = run(tmp_path, Audio())
    assert report.exit_code == 2
    assert "data_format 'audio' is not one the tracebloc backend knows; use one of: image, tabular, text" in report.message
    assert "plugin 'test:0'" in report.message  # the plugin is named


STAGES = (
    "check_options", "start", "discover", "validate", "validate_end", "table_schema", "transform_batch", "load", "describe",
    "report_sections", "finish",
)


def test_every_category_stage_has_a_documentation_heading():
    headings = set(re.findall(r"^### `(\w+)\(", DOCS.read_text(encoding="utf-8"), flags=re.M))
    assert set(STAGES) <= headings
    assert all(callable(getattr(Category, stage)) for stage in STAGES)


def _hook_names():
    return sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("tb_"))


def test_every_hook_has_a_test():
    tests = {name for name in globals() if name.startswith("test_")}
    assert [h for h in _hook_names() if f"test_{h}" not in tests] == []


def test_every_hook_has_a_documentation_heading():
    headings = set(re.findall(r"^##+ `(tb_\w+)\(", DOCS.read_text(encoding="utf-8"), flags=re.M))
    assert set(_hook_names()) <= headings


def test_check_options_refuses_a_configuration_before_anything_is_read(tmp_path):
    read = []

    class Bounded(MemoryCategory):
        options = (Option("low", int, default=0, help="Lowest."), Option("high", int, default=10, help="Highest."))

        def check_options(self, options):
            if options.low > options.high:
                yield "low", "is above high"

        def discover(self, ctx):
            read.append(True)
            return super().discover(ctx)

    report, url = run(tmp_path, Bounded(), environ={"LOW": "20"})
    assert report.exit_code == 2 and report.message == "environment LOW (low): is above high"
    assert read == [] and table(url) is None


def test_a_run_whose_start_fails_reads_no_record(tmp_path):
    read = []

    class NoFolder(MemoryCategory):
        def start(self, ctx):
            return [Issue("missing_folder", "the folder does not exist")]

        def discover(self, ctx):
            read.append(True)
            return super().discover(ctx)

    report, _ = run(tmp_path, NoFolder())
    assert report.exit_code == 1 and read == [] and [i.rule for i in report.issues] == ["missing_folder"]
    assert report.message.startswith("the run cannot start: 1 errors")
