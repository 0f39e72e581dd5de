"""Fixtures of the text tests: real files in tmp_path, real databases (SQLite and MariaDB/MySQL)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import pytest

from tracebloc_ingestor.testing.fixtures import *  # noqa: F401,F403
from tracebloc_ingestor.testing.runs import run_plugin, table_rows


@attrs.frozen
class Ran:
    """One run of a text category and what it left behind."""

    report: object
    out: str
    err: str
    url: str
    tmp: Path

    @property
    def table(self) -> str:
        return self.report.table

    @property
    def found(self) -> set[tuple]:
        """(row, rule, column, file) of every issue."""
        return {(i.row, i.rule, i.column, i.file) for i in self.report.issues}

    def rows(self, columns: str = "*") -> list[tuple] | None:
        return table_rows(self.url, self.table, columns)

    @property
    def folder(self) -> Path:
        return self.tmp / "shared" / self.table

    def stored(self) -> dict[str, bytes]:
        """Visible files of the dataset folder (the store's own dot files left out) and their bytes."""
        if not self.folder.is_dir():
            return {}
        return {n: (self.folder / n).read_bytes() for n in sorted(os.listdir(self.folder)) if not n.startswith(".")}

    def registration(self) -> dict:
        return json.loads((self.tmp / "out" / f"{self.table}.registration.json").read_text())["payload"]


@pytest.fixture
def run_text(tmp_path):
    """``run_text(category, url, environ=None, **flags)``: one in-process run; files and output under tmp_path."""
    from tracebloc_ingestor_text import plugin

    def run(category: str, url: str, environ: dict | None = None, **flags) -> Ran:
        base = {"database_url": url, "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared")}
        base.update(flags)
        report, out, err = run_plugin(getattr(plugin, category)(), base, environ)
        return Ran(report, out, err, url, tmp_path)

    return run


@pytest.fixture(params=["sqlite", "mysql"])
def db_url(request, tmp_path):
    """Each test runs on SQLite and on MariaDB/MySQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    return request.getfixturevalue("mysql_url")
