"""The schema's SQL type vocabulary as the sink reads it back, and which Arrow types it stores.

Table types are spelled as MySQL reports them: a bare ``DATETIME`` or ``TIME`` column keeps
whole seconds, ``DATETIME(6)`` microseconds. A schema's bare ``DATETIME`` means microseconds
(what validation accepts), so :func:`column_type` turns schema types into table types.
Dialect spellings (MySQL's ``TINYINT(1)``, SQLite's ``INTEGER`` key) live in ``dialects``.
"""

from __future__ import annotations

import pyarrow as pa

from ...schema import SchemaError, SqlType, parse_sql_type

__all__ = ["FRACTIONAL", "MAX_FRACTION_DIGITS", "canonical", "column_type", "fraction_digits", "parse_canonical", "storable"]

FRACTIONAL = ("DATETIME", "TIME")  # types whose seconds may have a fraction
MAX_FRACTION_DIGITS = 6  # microseconds: what Arrow's "us" unit, MySQL and validation keep


def canonical(text: str) -> str:
    """Canonical spelling of a declared type; types outside the schema vocabulary upper-cased."""
    try:
        sql_type = parse_sql_type(text)
    except SchemaError:
        return text.upper()
    if sql_type.name in FRACTIONAL and sql_type.precision == 0:
        sql_type = SqlType(sql_type.name)  # DATETIME(0) is DATETIME, as MySQL reports it
    return str(sql_type)


def parse_canonical(text: str) -> SqlType | None:
    """The :class:`SqlType` of a canonical type string, None for types outside the vocabulary."""
    try:
        return parse_sql_type(text)
    except SchemaError:
        return None


def column_type(sql_type: SqlType) -> SqlType:
    """The table type of a schema type: a bare DATETIME or TIME keeps microseconds (``(6)``)."""
    if sql_type.name in FRACTIONAL:
        digits = MAX_FRACTION_DIGITS if sql_type.precision is None else sql_type.precision
        return SqlType(sql_type.name, precision=digits or None)
    return sql_type


def fraction_digits(table_type: SqlType) -> int | None:
    """Digits of a second a DATETIME/TIME table column keeps (0 for a bare type); None for others."""
    if table_type.name not in FRACTIONAL:
        return None
    return table_type.precision or 0


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
