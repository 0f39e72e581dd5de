"""The summary block: the counters the platform's CLI reads, and lines that say exactly what happened."""

from __future__ import annotations

from pathlib import Path

from tracebloc_ingestor.api import BaseIngestor, FileCategory, Option, PathValue
from tracebloc_ingestor.testing.backend_double import BackendDouble
from tracebloc_ingestor.testing.runs import run_plugin

COUNTERS = ("📈 Total Records Found:", "✅ Successfully Processed:", "💾 Inserted to Database:", "🚀 Sent to API:",
            "⏭️  Skipped Records:", "📁 File Transfer Failures:", "❌ Failed DB Insertion:")


class Demo(BaseIngestor):
    category = "demo_classification"


class Docs(FileCategory):
    category = "docs_demo"
    data_format = "text"
    folder_option = "docs"
    options = (Option("docs", PathValue(), help="Folder."),)


def _table_input(tmp_path: Path) -> dict:
    (tmp_path / "data.csv").write_text("x,label\n1,a\n2,b\n3,a\n", encoding="utf-8")
    return {"label_file": str(tmp_path / "data.csv"), "table": "demo", "output_dir": str(tmp_path / "out"),
            "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"}


def test_a_local_registration_is_not_called_sent(tmp_path):
    report, out, _ = run_plugin(Demo(), _table_input(tmp_path))
    assert all(counter in out for counter in COUNTERS) and "🚀 Sent to API: 3" in out  # the CLI's contract
    assert f"metadata: written to a local file {tmp_path / 'out' / 'demo.registration.json'} (nothing was sent" in out
    assert "new rows: 3; already present from an earlier identical run: 0" in out
    again = run_plugin(Demo(), _table_input(tmp_path))[1]
    assert "new rows: 0; already present from an earlier identical run: 3" in again


def test_a_backend_registration_names_the_backend(tmp_path):
    with BackendDouble() as double:
        env = {"TRACEBLOC_API_URL": double.url, "BACKEND_TOKEN": double.token}
        _report, out, _ = run_plugin(Demo(), _table_input(tmp_path), env)
    assert f"metadata: registered with the backend at {double.url}" in out


def test_a_file_bearing_run_says_where_the_files_went(tmp_path):
    (tmp_path / "docs").mkdir()
    for name, text in (("a.txt", "x" * 2000), ("b.txt", "y" * 1000)):
        (tmp_path / "docs" / name).write_text(text)
    (tmp_path / "m.csv").write_text("filename,label\na.txt,p\nb.txt,q\n", encoding="utf-8")
    flags = {"label_file": str(tmp_path / "m.csv"), "src_path": str(tmp_path), "table": "docs", "output_dir": str(tmp_path / "out"),
             "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    report, out, _ = run_plugin(Docs(), flags)
    assert report.exit_code == 0, out
    # outside a cluster the files stay under the output folder, and the summary says where
    assert f"files: {tmp_path / 'out' / 'shared' / 'docs'}: 2 files, 2.9 KiB" in out


def test_a_configuration_error_says_nothing_was_read(tmp_path):
    report, out, err = run_plugin(Demo(), {"output_dir": str(tmp_path / "out"), "batch_size": "lots", "table": "t"})
    assert report.exit_code == 2 and "batch_size" not in out.split("Status:")[0]
    assert "nothing was read or written: fix the configuration above and run again" in out
    assert all(counter in out for counter in COUNTERS)


def test_a_stale_rejects_report_is_removed_by_the_next_run(tmp_path):
    flags = _table_input(tmp_path)
    (tmp_path / "data.csv").write_text("x,label\n1,a\n2,\n", encoding="utf-8")
    failed = run_plugin(Demo(), flags)[0]
    assert failed.exit_code == 1 and Path(failed.rejects_path).is_file()
    (tmp_path / "data.csv").write_text("x,label\n1,a\n2,b\n", encoding="utf-8")
    ok = run_plugin(Demo(), flags)[0]
    assert ok.exit_code == 0 and ok.rejects_path is None and not Path(failed.rejects_path).exists()
