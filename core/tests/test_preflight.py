"""Checks made before any record is read: the destination, the backend credentials, the table."""

from __future__ import annotations

import io
import os
from pathlib import Path

import sqlalchemy as sa

from tracebloc_ingestor.api import BaseIngestor
from tracebloc_ingestor.loader import new_plugin_manager
from tracebloc_ingestor.runner import run_ingestion
from tracebloc_ingestor.testing.backend_double import BackendDouble


class Demo(BaseIngestor):
    category = "demo_classification"


def _input(tmp_path: Path) -> dict:
    (tmp_path / "data.csv").write_text("x,label\n1,a\n2,b\n", encoding="utf-8")
    return {"label_file": str(tmp_path / "data.csv"), "table": "demo", "output_dir": str(tmp_path / "out"),
            "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"}


def run(flags, environ):
    return run_ingestion(flags, environ, plugins=[Demo()], pm=new_plugin_manager(), out=io.StringIO(), err=io.StringIO())


def test_refused_credentials_stop_the_run_before_reading(tmp_path):
    with BackendDouble() as double:
        environ = {"TRACEBLOC_API_URL": double.url, "CLIENT_ID": "client-id", "CLIENT_PASSWORD": "wrong-Secret-99"}
        for validate_only in (True, False):
            report = run({**_input(tmp_path), "validate_only": validate_only}, environ)
            assert report.exit_code == 1 and report.message.startswith("the run cannot start")
            assert [i.rule for i in report.issues] == ["credentials"]
            assert "wrong-Secret-99" not in report.issues[0].message and "api-token-auth" in report.issues[0].message
        assert double.registrations() == []
        good = run(_input(tmp_path), {**environ, "CLIENT_PASSWORD": "client-secret"})
        assert good.exit_code == 0, good.message


def test_a_table_that_is_not_a_dataset_is_refused_before_reading(tmp_path):
    flags = _input(tmp_path)
    engine = sa.create_engine(flags["database_url"])
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE demo (name TEXT)"))
    engine.dispose()
    report = run(flags, {})
    assert report.exit_code == 1 and [i.rule for i in report.issues] == ["table"]
    assert "not a dataset table" in report.issues[0].message


def test_an_unmounted_shared_volume_in_a_pod_is_a_warning(tmp_path):
    from tracebloc_ingestor.api import FileCategory, Option, PathValue

    class Docs(FileCategory):
        category = "docs_demo"
        data_format = "text"
        folder_option = "docs"
        options = (Option("docs", PathValue(), help="Folder."),)

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    (tmp_path / "docs" / "b.txt").write_text("y")
    (tmp_path / "m.csv").write_text("filename,label\na.txt,p\nb.txt,q\n", encoding="utf-8")
    (tmp_path / "shared").mkdir()
    flags = {"label_file": str(tmp_path / "m.csv"), "src_path": str(tmp_path), "table": "docs", "output_dir": str(tmp_path / "out"),
             "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}", "storage_path": str(tmp_path / "shared")}
    report = run_ingestion(flags, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, plugins=[Docs()], pm=new_plugin_manager(),
                           out=io.StringIO(), err=io.StringIO())
    assert report.exit_code == 0, report.message
    warnings = [i for i in report.issues if i.rule == "destination"]
    assert warnings and warnings[0].severity == "warning" and "PVC client-pvc" in warnings[0].message
    assert report.files.pvc == "client-pvc" and report.files.files == 2
    assert os.path.isdir(tmp_path / "shared" / "docs")
