"""The schema's SQL type vocabulary as the sink reads it back, and which Arrow types it stores.

Dialect spellings (MySQL's ``TINYINT(1)``, SQLite's ``INTEGER`` key) live in ``dialects``.
"""

from __future__ import annotations

import pyarrow as pa

from ...schema import SchemaError, SqlType, parse_sql_type

__all__ = ["canonical", "parse_canonical", "storable"]


def canonical(text: str) -> str:
    """Canonical spelling of a declared type; types outside the schema vocabulary upper-cased."""
    try:
        return str(parse_sql_type(text))
    except SchemaError:
        return text.upper()


def parse_canonical(text: str) -> SqlType | None:
    """The :class:`SqlType` of a canonical type string, None for types outside the vocabulary."""
    try:
        return parse_sql_type(text)
    except SchemaError:
        return None


def storable(kind: pa.DataType) -> bool:
    """Whether a column of this Arrow type can be written (scalars only: no lists, structs, bytes)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return any(
        check(kind)
        for check in (
            pa.types.is_null, pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating,
            pa.types.is_decimal, pa.types.is_string, pa.types.is_large_string, pa.types.is_date,
            pa.types.is_timestamp, pa.types.is_time,
        )
    )
