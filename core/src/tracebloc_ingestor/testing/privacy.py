"""What must never reach the backend: the raw strings of a sample, for privacy checks.

``raw_strings(config)`` reads an ingest.yaml's source table and the files beside it and
returns the byte strings a run must not send anywhere: cell values (but for class
labels, which may leave with their counts), file names and pieces of file content.
Strings short enough to turn up by chance in counts, statistics or a run id are left
out, so that a check on them fails only for a real leak.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

import yaml

_NUMBER = re.compile(r"[-+]?[0-9.eE]+")
_WORDS = frozenset({"true", "false", "null", "none", "train", "test"})
_TABLE_KEYS = {"csv": "csv", "json": "json", "parquet": "parquet"}
_SKIPPED_FILES = {"ingest.yaml", "ingestor.py"}


def distinctive(text: str) -> bool:
    """Long enough that finding it in a payload is a leak, not chance."""
    text = text.strip()
    short = 6 if _NUMBER.fullmatch(text) else 4
    return len(text) >= short and text.lower() not in _WORDS


def table_cells(config: Path, *, skip_columns: Iterable[str] = ()) -> set[str]:
    """Every distinctive cell of the source table an ingest.yaml names (as text)."""
    from ..reading import read_table_batches

    doc = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    key = next((k for k in _TABLE_KEYS if doc.get(k)), None)
    if key is None:
        return set()
    options = dict((doc.get("spec") or {}).get("csv_options") or {})
    path = Path(config).parent / doc[key]
    skip = set(skip_columns)
    cells: set[str] = set()
    for batch in read_table_batches(path, fmt=_TABLE_KEYS[key], batch_size=10_000, options=options, nested="json"):
        for name in batch.schema.names:
            if name.startswith("_tb_") or name in skip:
                continue
            for value in batch.column(name).to_pylist():
                for text in _leaves(value):
                    if distinctive(text):
                        cells.add(text.strip())
    return cells


def _leaves(value: object) -> Iterable[str]:
    """A cell as text, and the strings inside it when it is a list or an object (a list of tokens, say)."""
    if value is None:
        return
    if isinstance(value, (list, tuple, dict)):
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            yield from _leaves(item)
        return
    text = str(value)
    yield text
    if text[:1] in "[{":
        try:
            parsed = json.loads(text)
        except ValueError:
            return
        if isinstance(parsed, (list, dict)):
            yield from _leaves(parsed)


def label_column(config: Path) -> str:
    doc = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    label = doc.get("label", "label")
    return label.get("column", "label") if isinstance(label, dict) else str(label)


def raw_strings(config: Path, *, labels_leave: bool) -> set[bytes]:
    """Byte strings of the sample that must never reach the backend.

    ``labels_leave``: the category sends class names (with their counts), so the label
    column's values are allowed.
    """
    config = Path(config)
    skip = [label_column(config)] if labels_leave else []
    values = {cell.encode() for cell in table_cells(config, skip_columns=skip)}
    for path in config.parent.rglob("*"):
        if not path.is_file() or path.name in _SKIPPED_FILES or "__pycache__" in path.parts:
            continue
        if distinctive(path.name):
            values.add(path.name.encode())
        if path.suffix.lower() in (".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet"):
            continue  # tables: their cells are above
        data = path.read_bytes()
        step = max(len(data) // 8, 1)
        for start in range(0, max(len(data) - 16, 1), step):
            piece = data[start : start + 16]
            if len(piece) >= 8 and (not piece.isascii() or distinctive(piece.decode("ascii", "replace"))):
                values.add(piece)
    return values


def leaked(received: bytes, secrets: Iterable[bytes]) -> list[bytes]:
    """The secrets found in ``received``, sorted."""
    return sorted(s for s in secrets if s and s in received)
