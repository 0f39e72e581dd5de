"""The progress display: plain lines in a log, a bar on a terminal, nothing with --quiet."""

from __future__ import annotations

import io

from tracebloc_ingestor import BaseIngestor
from tracebloc_ingestor.progress import BarProgress, LogProgress, NullProgress, make_progress
from tracebloc_ingestor.testing.runs import run_plugin, table_flags


class Demo(BaseIngestor):
    category = "demo_classification"


def write_input(folder, rows=60):
    lines = "".join(f"r{i},{20 + i % 50},{'yes' if i % 3 else 'no'}\n" for i in range(1, rows + 1))
    (folder / "data.csv").write_text("ref,age,label\n" + lines, encoding="utf-8")
    return folder / "data.csv"


def run(tmp_path, **flags):
    write_input(tmp_path)
    return run_plugin(Demo(), table_flags(tmp_path, batch_size=20, **flags))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_per_batch_with_counts_and_the_total_once_known(tmp_path):
    report, _out, err = run(tmp_path, progress_interval=0)
    assert report.exit_code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("tb-ingest: ")]
    assert "tb-ingest: validating" in lines
    for count in ("20", "40", "60"):
        assert any(line.startswith(f"tb-ingest: validating: {count} rows") for line in lines), lines
    assert "tb-ingest: writing of 60 rows" in lines
    for count, share in (("20", "33%"), ("40", "67%"), ("60", "100%")):
        assert any(line.startswith(f"tb-ingest: writing: {count}/60 rows ({share})") for line in lines), lines
    assert any(line.startswith("tb-ingest: validating: done, 60 rows") for line in lines)
    assert any(line.startswith("tb-ingest: writing: done, 60/60 rows") for line in lines)


def test_by_default_a_log_gets_only_the_start_and_end_of_each_short_pass(tmp_path):
    report, _out, err = run(tmp_path)
    lines = [line for line in err.splitlines() if line.startswith("tb-ingest: ")]
    assert report.exit_code == 0
    assert [line.split(" · ")[0] for line in lines] == [
        "tb-ingest: validating",
        "tb-ingest: validating: done, 60 rows",
        "tb-ingest: writing of 60 rows",
        "tb-ingest: writing: done, 60/60 rows",
    ]


def test_quiet_shows_no_progress(tmp_path):
    report, _out, err = run(tmp_path, quiet=True, progress_interval=0)
    assert report.exit_code == 0
    assert "tb-ingest: validating" not in err and "tb-ingest: writing" not in err


def test_quiet_from_the_environment(tmp_path):
    write_input(tmp_path)
    environ = {"TRACEBLOC_QUIET": "true", "TRACEBLOC_PROGRESS_INTERVAL": "0"}
    report, _out, err = run_plugin(Demo(), table_flags(tmp_path, batch_size=20), environ)
    assert report.exit_code == 0 and "tb-ingest: validating" not in err


def test_log_progress_rates_and_eta_follow_its_clock():
    now = [0.0]
    stream = io.StringIO()
    progress = LogProgress(stream, interval=10, clock=lambda: now[0])
    progress.start("write", total=1000, unit="files")
    now[0] = 5
    progress.advance(100, files=100)  # before the interval: no line
    now[0] = 10
    progress.advance(100, files=90)
    now[0] = 12
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "tb-ingest: writing of 1,000 files",
        "tb-ingest: writing: 200/1,000 files (20%) · 190 files stored · 20 files/s · ETA 0:40",
        "tb-ingest: writing: done, 200/1,000 files · 190 files stored · 17 files/s · 12.0 s",
    ]


def test_a_terminal_gets_a_bar_with_the_counts():
    stream = Terminal()
    progress = make_progress(stream, interval=0)
    assert isinstance(progress, BarProgress)
    progress.start("validate")
    progress.advance(20)
    progress.advance(20)
    progress.finish()
    progress.start("write", total=40)
    progress.advance(40, files=40)
    progress.finish()
    text = stream.getvalue()
    assert "validating: 40 rows" in text
    assert "writing: 100%" in text and "40/40" in text and "40 files stored" in text


def test_quiet_and_pipes_pick_their_display():
    assert type(make_progress(Terminal(), quiet=True)) is NullProgress
    assert isinstance(make_progress(io.StringIO()), LogProgress)
