"""The conformance kit: the checks every category plugin passes, in one class.

In a plugin's test suite::

    from pathlib import Path
    from tracebloc_ingestor.testing.conformance import CategoryConformance

    HERE = Path(__file__).parent

    class TestConformance(CategoryConformance):
        category = "audio_classification"
        sample = HERE / "data" / "good" / "ingest.yaml"
        bad_sample = HERE / "data" / "bad" / "ingest.yaml"
        readme = HERE.parent / "README.md"

pytest then runs, for that category: the entry point is installed and loads; the sample
ingests into SQLite and into MariaDB/MySQL (rows, registration, stored files and their
``size_bytes``); a second run changes nothing; nothing raw from the sample reaches the
backend double; the bad sample is refused with nothing written, and no value of it
appears in what the run printed or logged; every option is documented (help text,
``--help``, the README); the plugin's sources import only the public API.

The MySQL check uses the server at ``TRACEBLOC_TEST_MYSQL_URL`` (default root on
127.0.0.1:3306); without one it is skipped, or fails under ``CI=true``.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
from pathlib import Path
from typing import Any, ClassVar, Mapping

import attrs
import pytest

from . import fixtures
from .layering import public_api_violations
from .privacy import distinctive, leaked, raw_strings

__all__ = ["CategoryConformance", "RunResult", "conformance_suite", "distribution_suite"]


@attrs.frozen
class RunResult:
    """One conformance run: its report, what it printed and logged, and where it wrote."""

    report: Any
    output: str  # stdout, stderr and the log at INFO
    database_url: str
    output_dir: Path
    storage: Path  # the dataset's folder on the (test) shared volume

    @property
    def table(self) -> str:
        return self.report.table

    def registration(self) -> dict | None:
        path = self.output_dir / f"{self.table}.registration.json"
        return json.loads(path.read_text(encoding="utf-8"))["payload"] if path.is_file() else None

    def rows(self, columns: str = "*") -> list[tuple] | None:
        from .runs import table_rows

        return table_rows(self.database_url, self.table, columns)

    def stored_files(self) -> dict[str, int]:
        """Stored file name -> size, without the store's own bookkeeping files."""
        if not self.storage.is_dir():
            return {}
        return {p.name: p.stat().st_size for p in self.storage.iterdir() if p.is_file() and not p.name.startswith(".")}


class CategoryConformance:
    """Subclass it in a test module and set ``category``, ``sample`` and ``bad_sample``.

    ``plugin`` registers a category object inline instead of loading the installed
    entry point (for a category still in development); ``environ`` adds environment
    variables to every run; ``readme`` is the page that must document every option;
    ``package`` is the plugin's source folder (default: the folder of the category's
    module).
    """

    category: ClassVar[str] = ""
    sample: ClassVar[Path | None] = None
    bad_sample: ClassVar[Path | None] = None
    plugin: ClassVar[object | None] = None
    environ: ClassVar[Mapping[str, str]] = {}
    readme: ClassVar[Path | None] = None
    package: ClassVar[Path | None] = None

    # the kit's own fixtures, so that a suite needs no conftest for them

    @pytest.fixture
    def mysql_url(self):
        from .mysql import temporary_database

        fixtures.require_mysql()
        with temporary_database() as url:
            yield url

    @pytest.fixture
    def backend_double(self):
        from .backend_double import BackendDouble

        with BackendDouble() as double:
            yield double

    # -- helpers ---------------------------------------------------------------------

    def spec(self):
        """The category's registration record, loaded the way a run loads it."""
        from ..loader import category_table, load_plugins, new_plugin_manager, register_builtin

        pm = new_plugin_manager()
        if self.plugin is not None:
            register_builtin(pm, self.plugin, "conformance:inline")
        else:
            load_plugins(pm, [self.category])
        found = category_table(pm).get(self.category)
        assert found is not None, f"no loaded plugin declares category {self.category!r}"
        return found[0]

    def run(self, tmp: Path, config: Path, *, database_url: str | None = None, environ: Mapping[str, str] | None = None,
            name: str = "run") -> RunResult:
        """Ingest ``config`` with a fresh plugin manager; everything it writes stays under ``tmp``."""
        from ..loader import new_plugin_manager
        from ..runner import run_ingestion

        tmp = Path(tmp)
        output_dir = tmp / "out"
        storage_root = tmp / "shared"
        url = database_url or f"sqlite:///{tmp / 'ingest.sqlite'}"
        flags: dict[str, Any] = {
            "config_path": str(config), "database_url": url, "output_dir": str(output_dir),
            "storage_path": str(storage_root), "category": self.category,
        }
        plugins = [self.plugin] if self.plugin is not None else []
        if not plugins:
            flags["plugins"] = [self.category]
        env = {**self.environ, **(environ or {})}
        out, err, log_text = io.StringIO(), io.StringIO(), io.StringIO()
        handler = logging.StreamHandler(log_text)
        logger = logging.getLogger("tracebloc_ingestor")
        logger.addHandler(handler)
        try:
            report = run_ingestion(flags, env, plugins=plugins, pm=new_plugin_manager(), out=out, err=err)
        finally:
            logger.removeHandler(handler)
        text = "\n".join((out.getvalue(), err.getvalue(), log_text.getvalue(), report.message, *map(str, report.issues)))
        table = report.table or "?"
        return RunResult(report, text, url, output_dir, storage_root / table)

    def _need(self, name: str) -> Path:
        value = getattr(self, name)
        if value is None:
            pytest.fail(f"{type(self).__name__}.{name} is not set (the path of an ingest.yaml)")
        return Path(value)

    def _assert_landed(self, result: RunResult) -> None:
        report = result.report
        assert report.exit_code == 0, f"the sample did not ingest: {report.message}\n{result.output}"
        rows = result.rows("data_id")
        assert rows is not None and len(rows) == report.counters.total > 0, "every record of the sample is a row"
        assert len({r[0] for r in rows}) == len(rows), "data_ids are unique"
        payload = result.registration()
        assert payload is not None and payload["record_count"] == len(rows)
        assert payload["category"] == self.category
        if self.spec().file_bearing:
            stored = result.stored_files()
            assert stored, "a file-bearing category stores its files in <storage_path>/<table>/"
            named = result.rows("filename, extension")
            missing = sorted({f"{f}{e}" for f, e in named if f is not None} - set(stored))
            assert not missing, f"rows name files that were not stored: {missing[:5]}"
            assert payload["size_bytes"] >= sum(stored.values()), "size_bytes counts the stored files"

    # -- the checks --------------------------------------------------------------------

    def test_entry_point_is_installed_and_declares_the_category(self):
        from ..loader import installed_plugins

        if self.plugin is None:
            assert self.category in {info.name for info in installed_plugins()}, (
                f"no installed distribution has the entry point {self.category!r} in the group tracebloc_ingestor"
            )
        spec = self.spec()
        assert spec.implementation is not None and spec.name == self.category

    def test_sample_ingests_into_sqlite(self, tmp_path):
        self._assert_landed(self.run(tmp_path, self._need("sample")))

    def test_sample_ingests_into_mysql(self, tmp_path, mysql_url):
        self._assert_landed(self.run(tmp_path, self._need("sample"), database_url=mysql_url))

    def test_second_run_changes_nothing(self, tmp_path):
        first = self.run(tmp_path, self._need("sample"))
        self._assert_landed(first)
        rows, files = first.rows("data_id, filename, extension, label"), first.stored_files()
        payload = first.registration()
        second = self.run(tmp_path, self._need("sample"))
        assert second.report.exit_code == 0, second.report.message
        assert second.report.counters.new_rows == 0, "a re-run adds no row"
        assert second.rows("data_id, filename, extension, label") == rows
        assert second.stored_files() == files
        again = second.registration()
        for key in ("labels", "schema", "meta_data", "record_count", "size_bytes", "category", "data_format"):
            assert again[key] == payload[key], f"the registration's {key} changed on a re-run"

    def test_nothing_raw_reaches_the_backend(self, tmp_path, backend_double):
        sample = self._need("sample")
        env = {"TRACEBLOC_API_URL": backend_double.url, "BACKEND_TOKEN": backend_double.token}
        result = self.run(tmp_path, sample, environ=env)
        assert result.report.exit_code == 0, result.report.message
        assert len(backend_double.registrations()) == 1
        received = backend_double.all_bytes()
        assert b"Token " + backend_double.token.encode() in received  # the check saw the real requests
        labels_leave = self.spec().label_kind == "classification"
        found = leaked(received, raw_strings(sample, labels_leave=labels_leave))
        assert found == [], f"raw data reached the backend: {found[:5]}"

    def test_bad_sample_is_refused_and_nothing_is_written(self, tmp_path, backend_double):
        env = {"TRACEBLOC_API_URL": backend_double.url, "BACKEND_TOKEN": backend_double.token}
        result = self.run(tmp_path, self._need("bad_sample"), environ=env)
        report = result.report
        assert report.exit_code == 1, f"the bad sample was not refused: {report.status} {report.message}"
        assert report.error_count > 0 and report.issues, "a refused input names its problems"
        rows = result.rows("id")
        assert not rows, "nothing is written when validation fails"
        assert result.stored_files() == {}, "no file is stored when validation fails"
        assert backend_double.registrations() == [], "nothing is registered when validation fails"
        for issue in report.issues:
            assert issue.rule and issue.message, f"an issue names its rule and says what is wrong: {issue!r}"

    def test_messages_carry_no_values(self, tmp_path):
        result = self.run(tmp_path, self._need("bad_sample"))
        rejects = result.report.rejects_path
        values: set[str] = set()
        if rejects and Path(rejects).is_file():
            for line in Path(rejects).read_text(encoding="utf-8").splitlines():
                value = json.loads(line).get("value")
                if value is not None and distinctive(str(value)):
                    values.add(str(value).strip())
        shown = sorted(v for v in values if v in result.output)
        assert shown == [], f"values of the input appear in messages or logs: {shown[:5]}"

    def test_every_option_is_documented(self):
        from click.testing import CliRunner

        from ..cli import main

        spec = self.spec()
        for option in spec.options:
            assert option.help.strip(), f"option {option.name!r} has no help text"
        if self.plugin is None:
            result = CliRunner().invoke(main, ["--plugin", self.category, "--help"], env={"COLUMNS": "200"})
            assert result.exit_code == 0, result.output
            for option in spec.options:
                for form in (option.flag, option.env):
                    assert form is None or form in result.output, f"tb-ingest --help does not list {form}"
        if self.readme is not None:
            text = Path(self.readme).read_text(encoding="utf-8")
            for option in spec.options:
                for form in (option.flag, option.env, option.yaml):
                    assert form is None or form in text, f"{Path(self.readme).name} does not mention {form} (option {option.name!r})"

    def test_sources_import_only_the_public_api(self):
        folder = self.package
        if folder is None:
            module = importlib.import_module(type(self.spec().implementation).__module__)
            folder = Path(module.__file__).parent
        violations = public_api_violations([folder])
        assert violations == [], "\n".join(map(str, violations))


def conformance_suite(category: str, *, sample: Path, bad_sample: Path, **attributes: Any) -> type:
    """``CategoryConformance`` for one category, as a class to bind to a ``Test...`` name."""
    return type(f"Conformance_{category}", (CategoryConformance,), {"category": category, "sample": sample,
                                                                    "bad_sample": bad_sample, **attributes})


def distribution_suite(root: Path, category: str, **attributes: Any) -> type:
    """``conformance_suite`` for a distribution laid out like the first-party ones.

    The sample is ``<root>/templates/<category>/ingest.yaml``, the bad sample
    ``<root>/tests/data/bad_<category>/ingest.yaml`` and the README ``<root>/README.md``.
    """
    root = Path(root)
    return conformance_suite(
        category,
        sample=root / "templates" / category / "ingest.yaml",
        bad_sample=root / "tests" / "data" / f"bad_{category}" / "ingest.yaml",
        readme=root / "README.md",
        **attributes,
    )
