"""Texts held in the table itself (``text,label``): which form a manifest has, the stored text, its name.

A manifest is in the **file form** when it has a ``filename`` column, and in the
**inline form** when ``text_columns`` names its text columns or it has a category's
default ones (``text``; ``text_a``/``text_b``; ...). An inline record's stored text is
its cells joined by TAB, and its name comes from its identity (``data_id``), never
from its content.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Callable, Sequence

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from tracebloc_ingestor.api import ROW

from .layout import TAB, Layout

FILE, INLINE, TOKENS = "file", "inline", "tokens"
# data_id values that are safe file names as they are: content_hash ids (64 hex digits) and uuids
_PLAIN_ID = re.compile(r"[0-9a-f][0-9a-f-]{0,127}")


@attrs.frozen
class Form:
    """How the run's manifest holds its texts.

    ``kind`` is ``file``, ``inline`` (``columns`` hold the parts of each text, in order)
    or ``tokens`` (token classification: ``columns[0]`` holds a list of tokens).
    ``names`` are the manifest's columns.
    """

    kind: str = FILE
    columns: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def inline(self) -> bool:
        return self.kind != FILE


def stem_for(data_id: str) -> str:
    """The stored file stem of an inline record: its data_id, or the SHA-256 of it when that is no plain file name.

    Lower-case hex and ``-`` only, so that no two records collide even on a
    case-insensitive volume; a hashed stem starts with ``id-`` and so never equals a plain one.
    """
    if _PLAIN_ID.fullmatch(data_id):
        return data_id
    return "id-" + hashlib.sha256(data_id.encode("utf-8")).hexdigest()


REPORTED = "_tb_text_reported"  # rows whose cells were refused while discovering (no second issue)


def plain_columns(batch: pa.RecordBatch, refuse: Callable[[int, str], None]) -> pa.RecordBatch:
    """Every column as plain text where the core needs it: lists and structs (Parquet) as their JSON text,
    the form JSON lines give them in; large strings as strings; binary as UTF-8 text.

    A binary cell that is not UTF-8 is passed to ``refuse(row, column)`` and left empty;
    its row is marked in ``REPORTED``.
    """
    bad = None
    rows = batch.column(ROW).to_pylist() if ROW in batch.schema.names else []
    for index, field in enumerate(batch.schema):
        kind = field.type
        if pa.types.is_nested(kind):
            values = [None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=str)
                      for v in batch.column(index).to_pylist()]
            column = pa.array(values, pa.string())
        elif pa.types.is_large_string(kind):
            column = batch.column(index).cast(pa.string())
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            values = []
            for position, value in enumerate(batch.column(index).to_pylist()):
                try:
                    values.append(None if value is None else value.decode("utf-8"))
                except UnicodeDecodeError:
                    refuse(rows[position], field.name)
                    bad = bad or [False] * batch.num_rows
                    bad[position] = True
                    values.append(None)
            column = pa.array(values, pa.string())
        else:
            continue
        batch = batch.set_column(index, field.name, column)
    return batch.append_column(REPORTED, pa.array(bad or [False] * batch.num_rows, pa.bool_()))


def cells(batch: pa.RecordBatch, column: str) -> list[Any]:
    """A column's cells as Python values, text for any type."""
    values = batch.column(column)
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    return values.to_pylist()


class PartProblem(Exception):
    """A cell that cannot be a part of an inline text; ``column`` names it."""

    def __init__(self, rule: str, message: str, column: str) -> None:
        super().__init__(message)
        self.rule, self.message, self.column = rule, message, column


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def join_parts(values: Sequence[str | None], columns: Sequence[str], layout: Layout) -> bytes:
    """The stored text of one record from its cells (one per column), or PartProblem.

    Each part is required and holds no TAB (TAB separates the parts); for a layout with
    an optional tail a blank trailing cell is left out. A blank single text is left to
    the text rules (``empty_file``).
    """
    parts: list[bytes] = []
    for position, (value, column) in enumerate(zip(values, columns)):
        if _blank(value):
            if layout.optional_tail and position >= layout.minimum and all(_blank(v) for v in values[position:]):
                break
            if value is None:
                raise PartProblem("required", "a text is required", column)
            if not layout.single:
                raise PartProblem("empty_part", f"part {position + 1} ({layout.names[position]}) is empty or white space", column)
        data = value.encode("utf-8")  # text from Arrow: always valid
        if not layout.single and b"\t" in data:
            raise PartProblem("tab_parts", "the cell holds a TAB, which separates the parts of the stored text", column)
        parts.append(data)
    return TAB.encode().join(parts)
