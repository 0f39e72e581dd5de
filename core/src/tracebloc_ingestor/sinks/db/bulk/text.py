"""Arrow columns rendered as MySQL text, vectorised: LOAD DATA fields and SQL literals.

Both bulk write paths of MySQL (:mod:`.paths`, :mod:`.first_load`) need every value as
text, and doing that per value in Python (the driver's escaping) is what made inserts
slow. Here whole columns are cast and escaped with ``pyarrow.compute``; rows are joined
into one contiguous buffer that is sliced into LOAD DATA files or INSERT statements.
No message produced here contains a cell value.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..values import decimal_text

__all__ = ["NULL_FIELD", "load_data_buffer", "literal_rows", "statement_slices", "text_column"]

NULL_FIELD = "\\N"
# LOAD DATA ... FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n'
_FIELD_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", "\\0"))
_FIELD_SPECIAL = r"[\\\t\n\r\x00]"
# a single-quoted string literal (the session never has NO_BACKSLASH_ESCAPES: see dialects/mysql.py)
_LITERAL_ESCAPES = (("\\", "\\\\"), ("'", "\\'"), ("\x00", "\\0"), ("\n", "\\n"), ("\r", "\\r"), ("\x1a", "\\Z"))
_LITERAL_SPECIAL = r"[\\'\x00\n\r\x1a]"


def _escape(text: pa.Array, special: str, escapes: tuple) -> pa.Array:
    if len(text) == 0 or not pc.any(pc.match_substring_regex(text, special)).as_py():
        return text  # the common case: one scan, no copies
    for needle, replacement in escapes:
        text = pc.replace_substring(text, needle, replacement)
    return text


def _plain_text(array: pa.Array) -> tuple[pa.Array, bool]:
    """(text of every value, whether it must be quoted as a literal). Raises ValueError by rule."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string()), False
    if pa.types.is_string(kind):
        return array, True
    if pa.types.is_large_string(kind):
        return array.cast(pa.string()), True
    if pa.types.is_boolean(kind):
        return array.cast(pa.int8()).cast(pa.string()), False
    if pa.types.is_decimal(kind):
        return decimal_text(array), False
    if pa.types.is_integer(kind):
        return array.cast(pa.string()), False
    if pa.types.is_floating(kind):
        array = array.cast(pa.float64())  # float32 text would round differently from the driver's
        if pc.any(pc.is_inf(array)).as_py():
            raise ValueError("infinite values cannot be stored (MySQL has no infinity)")
        # MySQL has no NaN; the platform has always stored missing floats as NULL
        array = pc.if_else(pc.is_nan(array), pa.scalar(None, pa.float64()), array)
        return array.cast(pa.string()), False
    if pa.types.is_timestamp(kind):
        # tz-aware values become naive UTC; ns is cut to the us both engines keep
        return array.cast(pa.timestamp("us"), safe=False).cast(pa.string()), True
    if pa.types.is_time(kind):
        if kind.unit == "ns":
            array = array.cast(pa.time64("us"), safe=False)
        return array.cast(pa.string()), True
    if pa.types.is_date(kind):
        return array.cast(pa.date32()).cast(pa.string()), True
    raise ValueError(f"Arrow type {kind} cannot be stored")


def text_column(array: pa.Array | pa.ChunkedArray, *, literal: bool) -> pa.Array:
    """One column as LOAD DATA fields (``literal=False``) or SQL literals, NULLs included."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    text, quoted = _plain_text(array)
    if literal:
        if quoted:
            text = _escape(text, _LITERAL_SPECIAL, _LITERAL_ESCAPES)
            text = pc.binary_join_element_wise("'", text, "'", "")
        return pc.fill_null(text, "NULL")
    if quoted:
        text = _escape(text, _FIELD_SPECIAL, _FIELD_ESCAPES)
    return pc.fill_null(text, NULL_FIELD)


def _values(joined: pa.Array) -> tuple[memoryview, np.ndarray]:
    """The contiguous bytes of a fresh string array and its offsets relative to them."""
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1, offset=joined.offset * 4)
    data = joined.buffers()[2]
    view = memoryview(data)[offsets[0] : offsets[-1]] if data is not None else memoryview(b"")
    return view, (offsets - offsets[0]).astype(np.int64)


def load_data_buffer(columns: Sequence[pa.Array]) -> memoryview:
    """Tab-separated lines, each ending in a newline, ready for LOAD DATA."""
    rows = pc.binary_join_element_wise(*columns, "\t")
    rows = pc.binary_join_element_wise(rows, "", "\n")
    return _values(rows)[0]


def literal_rows(columns: Sequence[pa.Array]) -> tuple[memoryview, np.ndarray]:
    """``(v1,v2,...),`` per row in one buffer, with each row's start offset (n + 1 offsets)."""
    rows = pc.binary_join_element_wise("(", pc.binary_join_element_wise(*columns, ","), "),", "")
    return _values(rows)


def statement_slices(offsets: np.ndarray, limit: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of whole rows, each at most ``limit`` bytes (a longer single row stands alone)."""
    n = len(offsets) - 1
    start = 0
    while start < n:
        # the last row end that keeps this slice within the limit
        end = int(np.searchsorted(offsets, offsets[start] + limit, side="right")) - 1
        end = min(max(end, start + 1), n)
        yield int(offsets[start]), int(offsets[end])
        start = end
