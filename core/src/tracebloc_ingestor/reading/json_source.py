"""JSON (an array of objects, or one object per line) read as batches of text columns.

Scalars become their JSON text (``true``, ``1.50`` exactly as written), ``null`` a NULL.
A value that is an object or a list is handled by the ``nested`` policy:

* ``refuse`` (the default): the record is refused naming the row and the key;
* ``flatten``: an object's keys become columns named ``parent.child`` (at any depth);
  a list is kept whole as JSON text in its column;
* ``json_text``: the object or list is stored whole as compact JSON text.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from .errors import SourceError

__all__ = ["NESTED_POLICIES", "json_batches", "json_columns"]

NESTED_POLICIES = ("refuse", "flatten", "json_text")


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal, str)):
        return str(value)
    raise TypeError


def _json_value(value: Any) -> str:
    """Compact JSON text of a nested value; numbers keep the digits they were written with."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_json_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    return _scalar_text(value)


def _records(path: Path) -> Iterator[Any]:
    import ijson

    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
        fh.seek(0)
        if head.startswith(b"\xef\xbb\xbf"):
            fh.read(3)
            head = head[3:].lstrip()
        if head.startswith(b"["):
            yield from ijson.items(fh, "item", use_float=False)
            return
        # JSON lines (a single object on one line is one record too)
        for number, line in enumerate(io.TextIOWrapper(fh, encoding="utf-8"), start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError:
                raise SourceError(f"line {number:,} is not valid JSON", rule="json_syntax", row=number) from None


def _cells(record: dict, nested: str, row: int, prefix: str = "") -> Iterator[tuple[str, str | None]]:
    for key, value in record.items():
        name = prefix + str(key).strip()
        if isinstance(value, dict) and nested == "flatten":
            yield from _cells(value, nested, row, name + ".")
        elif isinstance(value, (dict, list)):
            if nested == "refuse":
                raise SourceError(
                    "holds a nested object or list; set spec.json_options.nested (flatten or json_text) to store it",
                    rule="json_scalar",
                    row=row,
                    column=name,
                )
            yield name, _json_value(value)
        else:
            yield name, _scalar_text(value)


def json_batches(path: Path, batch_size: int, nested: str = "refuse") -> Iterator[pa.RecordBatch]:
    columns: dict[str, None] = {}
    chunk: list[dict] = []
    row = 0

    def flush() -> pa.RecordBatch:
        data = {name: [rec.get(name) for rec in chunk] for name in columns}
        return pa.RecordBatch.from_pydict(data, schema=pa.schema([(n, pa.string()) for n in columns]))

    try:
        for record in _records(path):
            row += 1
            if not isinstance(record, dict):
                raise SourceError("the record is not a JSON object", rule="json_object", row=row)
            clean: dict[str, str | None] = {}
            for name, text in _cells(record, nested, row):
                if name in clean:
                    raise SourceError("names the same column twice (after flattening)", rule="duplicate_column", row=row, column=name)
                clean[name] = text
                columns.setdefault(name, None)
            chunk.append(clean)
            if len(chunk) >= batch_size:
                yield flush()
                chunk = []
    except ValueError as exc:  # ijson's parse errors derive from ValueError
        if isinstance(exc, SourceError):
            raise
        raise SourceError("the file is not valid JSON", rule="json_syntax", row=row + 1 if row else None) from None
    if chunk:
        yield flush()


def json_columns(path: Path, nested: str = "refuse") -> list[str]:
    """The column names of the first record (later records may add more)."""
    for batch in json_batches(path, 1, nested):
        return list(batch.schema.names)
    return []
