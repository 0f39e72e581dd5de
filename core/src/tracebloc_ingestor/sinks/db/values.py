"""A batch's values fitted to its table's column types before any dialect renders them.

What a column cannot hold exactly is refused, naming the column and the rule, never a value;
what the type itself defines as rounding (FLOAT is single precision) is done here, once, so
that every write path of every dialect stores the same value:

- FLOAT: rounded to the nearest single-precision number (what MySQL keeps); a value beyond
  its range is refused (MySQL would refuse it too, after earlier chunks were committed).
- DATETIME(n), TIME(n) with n < 6 (a column made before date-times kept microseconds, or
  declared so): a value with more digits of a second is refused; MySQL would cut them off
  without a word. Nanoseconds that are not whole microseconds are refused everywhere.
- CHAR(n): a value ending in a space is refused (MySQL strips trailing spaces on reading).
- DECIMAL(p,s): a value with more digits than the column keeps is refused (MySQL rounds it).
- TEXT: a value over 65,535 bytes is refused on SQLite as MySQL refuses it.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ...schema import SqlType
from .errors import DatabaseError
from .sql_types import MAX_FRACTION_DIGITS, fraction_digits, parse_canonical

__all__ = ["conform_batch", "conform_column", "decimal_text"]

TEXT_MAX_BYTES = 65_535
# The smallest magnitude that rounds to infinity in single precision.
_FLOAT32_OVERFLOW = 3.4028235677973366e38


def conform_batch(table: str, batch: pa.RecordBatch, types: dict[str, str]) -> pa.RecordBatch:
    """``batch`` with every column fitted to ``types`` (canonical table types); DatabaseError by rule."""
    arrays = []
    changed = False
    for name, array in zip(batch.schema.names, batch.columns):
        sql_type = parse_canonical(types[name])
        try:
            fitted = conform_column(array, sql_type) if sql_type is not None else array
        except ValueError as exc:
            raise DatabaseError(f"writing a batch to table {table!r} failed: column {name!r}: {exc}") from None
        changed = changed or fitted is not array
        arrays.append(fitted)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names) if changed else batch


def conform_column(array: pa.Array, sql_type: SqlType) -> pa.Array:
    """One column fitted to a table type; raises ValueError naming the rule (never a value)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if array.null_count == len(array):
        return array
    if sql_type.name == "FLOAT" and pa.types.is_floating(kind):
        return _single_precision(array)
    if pa.types.is_timestamp(kind) or pa.types.is_time(kind):
        return _whole_fractions(array, fraction_digits(sql_type))
    if sql_type.name == "DECIMAL" and pa.types.is_decimal(kind):
        return _decimal(array, sql_type)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if sql_type.name == "CHAR" and pc.any(pc.ends_with(array, " ")).as_py():
            raise ValueError(
                f"a value ends in a space, which {sql_type} drops when it is read; declare VARCHAR({sql_type.length})"
            )
        if sql_type.name == "TEXT" and pc.max(pc.binary_length(array)).as_py() > TEXT_MAX_BYTES:
            raise ValueError(f"a value is longer than {TEXT_MAX_BYTES:,} bytes (the limit of TEXT)")
    return array


def _single_precision(array: pa.Array) -> pa.Array:
    wide = array.cast(pa.float64())
    # infinity is refused (with its own message) where the values are rendered
    too_big = pc.and_(pc.is_finite(wide), pc.greater_equal(pc.abs(wide), _FLOAT32_OVERFLOW))
    if pc.any(too_big).as_py():
        raise ValueError("a value is outside the range of FLOAT (single precision); declare DOUBLE")
    return wide.cast(pa.float32(), safe=False).cast(pa.float64())


def _whole_fractions(array: pa.Array, digits: int | None) -> pa.Array:
    """Check that no value has more digits of a second than the column keeps (microseconds at most)."""
    kind = array.type
    micro = pa.timestamp("us", kind.tz) if pa.types.is_timestamp(kind) else pa.time64("us")
    if kind.unit == "ns":
        if not _all_multiples(array.cast(pa.int64()), 1000):
            raise ValueError("a value has a fraction of a microsecond, which no column keeps")
        array = array.cast(micro)
    if digits is None or digits >= MAX_FRACTION_DIGITS or kind.unit == "s":
        return array
    ticks = array.cast(micro).cast(pa.int64())
    if not _all_multiples(ticks, 10 ** (MAX_FRACTION_DIGITS - digits)):
        keeps = "whole seconds" if digits == 0 else f"{digits} digit(s) of a second"
        name = "DATETIME" if pa.types.is_timestamp(kind) else "TIME"
        raise ValueError(
            f"a value has a fraction of a second that the column cannot hold (it keeps {keeps}, as a table "
            f"made before date-times kept microseconds does); load into a new TABLE_NAME or change the "
            f"column to {name}({MAX_FRACTION_DIGITS})"
        )
    return array


def _all_multiples(ticks: pa.Array, step: int) -> bool:
    # integer division truncates: x - (x / step) * step is 0 exactly for the multiples
    rest = pc.subtract(ticks, pc.multiply(pc.divide(ticks, step), step))
    return not pc.any(pc.not_equal(rest, 0)).as_py()


def _decimal(array: pa.Array, sql_type: SqlType) -> pa.Array:
    kind = array.type
    if kind.scale == sql_type.scale and kind.precision <= sql_type.precision:
        return array
    target = pa.decimal128(sql_type.precision, sql_type.scale)
    try:
        return array.cast(target)  # safe: refuses lost digits and values that do not fit
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Arrow's message quotes the value: never pass it on
        raise ValueError(f"a value does not fit {sql_type} without losing digits") from None


def decimal_text(array: pa.Array) -> pa.Array:
    """Decimals as plain text with every digit of their scale.

    Arrow writes a value under 10^-6 in scientific notation (``1.5E-7``), which MySQL reads
    as a double in an INSERT: its last digits would change. Such a value is all fraction, so
    its digits, padded to the scale, follow ``0.``.
    """
    text = array.cast(pa.string())
    scientific = pc.match_substring(text, "E")
    if not pc.any(scientific).as_py():
        return text
    sign = pc.if_else(pc.starts_with(text, "-"), "-", "")
    digits = pc.utf8_lpad(pc.replace_substring_regex(text, r"[-.]|E.*$", ""), width=array.type.scale, padding="0")
    return pc.if_else(scientific, pc.binary_join_element_wise(sign, "0.", digits, ""), text)
