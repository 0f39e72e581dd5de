"""The run's report: counters, the human summary block and the JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import attrs

CLOSING_RULE = "═" * 60

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_TERMINATED = 143


@attrs.frozen
class Counters:
    total: int = 0  # records found in the source
    processed: int = 0  # records that passed validation and the transform chain
    inserted: int = 0  # records present in the table after this run (new or already there)
    sent: int = 0  # records covered by the registration
    skipped: int = 0
    file_failures: int = 0
    db_failures: int = 0
    new_rows: int = 0  # rows this run added
    already_present: int = 0  # rows an earlier run had written identically
    repeats: int = 0  # records whose content repeats an earlier record's (all kept)


@attrs.frozen
class FilesNote:
    """Where a file-bearing run's files went (for the summary and the report)."""

    folder: str
    files: int
    bytes: int
    pvc: str | None = None


@attrs.frozen
class RunReport:
    """What a run did; ``exit_code`` follows the platform contract."""

    run_id: str
    exit_code: int
    status: str  # success | invalid | failed | config_error | terminated | validated | loaded (a shard, not the last)
    message: str
    table: str | None = None
    category: str | None = None
    counters: Counters = Counters()
    issues: tuple = ()
    issue_count: int = 0
    error_count: int = 0
    warning_count: int = 0
    schema: Mapping[str, str] = attrs.field(factory=dict)
    schema_inferred: bool = False
    registration: str | None = None  # where the metadata went
    rejects_path: str | None = None
    duration_seconds: float = 0.0
    database: str | None = None
    write_path: str | None = None  # how rows went in: load_data_stream | load_data | insert | sqlite
    files: FilesNote | None = None  # file-bearing runs: the dataset's folder and what it holds
    reader: str | None = None  # how the source table was read, e.g. "Parquet (by its content, ...)"
    null_counts: Mapping[str, int] = attrs.field(factory=dict)  # missing values stored as NULL, per column
    data_report: str | None = None  # the local HTML data report
    passes: int = 0  # reads of the input: 1 (validated while writing) or 2 (validated first); 0 before any
    shard: str | None = None  # a scaled-out run: which shard this process was, and its part in the run

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self, recurse=True)
        out["issues"] = [issue.to_json() for issue in self.issues]
        return out

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n", encoding="utf-8")


_WRITE_PATHS = {
    "load_data_stream": "one bulk LOAD DATA into the empty table, committed at the end",
    "load_data": "LOAD DATA LOCAL INFILE, one transaction per chunk",
    "insert": "multi-row INSERTs, one transaction per chunk",
    "sqlite": "SQLite executemany, all in one transaction",
}


def summary_block(report: RunReport) -> str:
    """The block the tracebloc CLI reads from the end of the log (contract §6)."""
    c = report.counters
    lines = [
        CLOSING_RULE,
        "📊 INGESTION SUMMARY 📊",
        CLOSING_RULE,
        f"Ingestor ID: {report.run_id}",
        f"Table: {report.table or '-'}    Category: {report.category or '-'}",
        f"Status: {report.status} — {_first_line(report.message)}",
        f"📈 Total Records Found: {c.total:,}",
        f"✅ Successfully Processed: {c.processed:,}",
        f"💾 Inserted to Database: {c.inserted:,}",
        f"🚀 Sent to API: {c.sent:,}",
        f"⏭️  Skipped Records: {c.skipped:,}",
        f"📁 File Transfer Failures: {c.file_failures:,}",
        f"❌ Failed DB Insertion: {c.db_failures:,}",
    ]
    notes = []
    if report.shard:
        notes.append(f"scaled out: {report.shard}")
    if c.inserted and report.status != "loaded":  # a shard's rows are counted over the whole run, by the last shard
        notes.append(f"new rows: {c.new_rows:,}; already present from an earlier identical run: {c.already_present:,}")
    if c.new_rows and report.write_path in _WRITE_PATHS:
        notes.append(f"rows written with {_WRITE_PATHS[report.write_path]}")
    if report.reader:
        notes.append(f"source read as {report.reader}")
    nulls = {name: n for name, n in report.null_counts.items() if n}
    if nulls:
        shown = ", ".join(f"{name} {n:,}" for name, n in list(nulls.items())[:10])
        more = f" and {len(nulls) - 10} more columns" if len(nulls) > 10 else ""
        notes.append(f"missing values stored as NULL: {shown}{more}")
    if report.passes and report.status in ("success", "failed", "terminated", "loaded"):
        how = "validated while writing, one read" if report.passes == 1 else "validated first, then written"
        notes.append(f"passes over the input: {report.passes} ({how})")
    if c.repeats:
        notes.append(f"records repeating an earlier record's content: {c.repeats:,} (each kept as its own sample)")
    if report.error_count or report.warning_count:
        notes.append(f"validation: {report.error_count:,} errors, {report.warning_count:,} warnings")
    if report.files is not None and report.status in ("success", "validated", "loaded"):
        f = report.files
        where = f" on the PVC {f.pvc}" if f.pvc else ""
        held = f"{f.files:,} files, {_size(f.bytes)}" if report.status != "validated" else "nothing yet (--validate-only)"
        notes.append(f"files: {f.folder}{where}: {held}")
    if report.rejects_path:
        notes.append(f"rejects report (stays local): {report.rejects_path}")
    if report.data_report:
        notes.append(f"data report (stays local): {report.data_report}")
    if report.registration:
        notes.append(f"metadata: {report.registration}")
    if report.status == "config_error":
        notes.append("nothing was read or written: fix the configuration above and run again")
    lines.extend(f"   {note}" for note in notes)
    lines.append(f"⏱️  Duration: {report.duration_seconds:.1f} s")
    lines.append(CLOSING_RULE)
    return "\n".join(lines)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


def _first_line(message: str) -> str:
    lines = message.splitlines() or [""]
    return lines[0] + (" (more above)" if len(lines) > 1 else "")
