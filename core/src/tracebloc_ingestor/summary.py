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
class RunReport:
    """What a run did; ``exit_code`` follows the platform contract."""

    run_id: str
    exit_code: int
    status: str  # success | invalid | failed | config_error | terminated | validated
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
    passes: int = 0  # reads of the input: 1 (validated while writing) or 2 (validated first); 0 before any

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
        f"Status: {report.status} — {report.message}",
        f"📈 Total Records Found: {c.total:,}",
        f"✅ Successfully Processed: {c.processed:,}",
        f"💾 Inserted to Database: {c.inserted:,}",
        f"🚀 Sent to API: {c.sent:,}",
        f"⏭️  Skipped Records: {c.skipped:,}",
        f"📁 File Transfer Failures: {c.file_failures:,}",
        f"❌ Failed DB Insertion: {c.db_failures:,}",
    ]
    notes = []
    if c.inserted:
        notes.append(f"new rows: {c.new_rows:,}; already present from an earlier identical run: {c.already_present:,}")
    if c.new_rows and report.write_path in _WRITE_PATHS:
        notes.append(f"rows written with {_WRITE_PATHS[report.write_path]}")
    if report.passes and report.status in ("success", "failed", "terminated"):
        how = "validated while writing, one read" if report.passes == 1 else "validated first, then written"
        notes.append(f"passes over the input: {report.passes} ({how})")
    if c.repeats:
        notes.append(f"records repeating an earlier record's content: {c.repeats:,} (each kept as its own sample)")
    if report.error_count or report.warning_count:
        notes.append(f"validation: {report.error_count:,} errors, {report.warning_count:,} warnings")
    if report.rejects_path:
        notes.append(f"rejects report (stays local): {report.rejects_path}")
    if report.registration:
        notes.append(f"metadata: {report.registration}")
    lines.extend(f"   {note}" for note in notes)
    lines.append(f"⏱️  Duration: {report.duration_seconds:.1f} s")
    lines.append(CLOSING_RULE)
    return "\n".join(lines)
