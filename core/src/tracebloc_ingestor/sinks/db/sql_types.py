"""SQL type spelling per dialect, and Arrow columns turned into driver values.

Helpers of :mod:`tracebloc_ingestor.sinks.database`. Everything here works on whole
columns; no message produced here ever contains a cell value.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from ...schema import SchemaError, SqlType, parse_sql_type

_MYSQL_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)", re.I)
_TIME_TEXT = r"^-?\d{1,3}:\d{2}:\d{2}(\.\d{1,6})?$"


def ddl_type(sql_type: SqlType, dialect: str) -> str:
    """The column type as written in CREATE TABLE for ``dialect`` ("sqlite" or "mysql")."""
    if sql_type.name == "BOOLEAN" and dialect == "mysql":
        return "TINYINT(1)"  # what MySQL's BOOLEAN means anyway; reflection depends on it
    return str(sql_type)


def canonical_type(declared: str, dialect: str) -> str:
    """Canonical spelling (as :class:`SqlType` prints it) of a reflected column type.

    MySQL's ``COLUMN_TYPE`` carries display widths (``int(11)``) that are noise, except
    ``tinyint(1)``, which is how MySQL stores BOOLEAN. On SQLite the declared text is
    kept verbatim by the engine; ``INTEGER`` only appears as the 64-bit rowid key.
    Types outside the schema vocabulary are passed through upper-cased.
    """
    text = declared.strip()
    upper = text.upper()
    if dialect == "mysql":
        if re.match(r"^tinyint\(1\)(\s|$)", text, re.I):
            return "BOOLEAN" if "UNSIGNED" not in upper else upper
        text = _MYSQL_WIDTH.sub(lambda m: m.group(1), text)
        upper = text.upper()
    elif upper == "INTEGER":
        return "BIGINT"
    try:
        return str(parse_sql_type(text))
    except SchemaError:
        return upper


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


def column_values(array: pa.Array | pa.ChunkedArray, sql_type: SqlType | None, dialect: str) -> list:
    """Checked driver values of one column bound for a column of ``sql_type`` (None: unknown type).

    Raises ValueError naming the rule (never a value) for what the database would refuse or,
    on SQLite, silently store wrongly.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if dialect == "sqlite" and sql_type is not None:
        array = conform_for_sqlite(array, sql_type)
    if pa.types.is_floating(array.type) and pc.any(pc.is_inf(array)).as_py():
        raise ValueError("infinite values cannot be stored (MySQL has no infinity)")
    return driver_values(array, dialect)


def driver_values(array: pa.Array | pa.ChunkedArray, dialect: str) -> list:
    """Python values of one Arrow column in the form the DBAPI driver binds correctly.

    PyMySQL binds Decimal, date, datetime, time and bool itself. sqlite3 binds none of
    Decimal/time (and its date adapters are deprecated), so those columns are formatted
    as text in the layout SQLAlchemy's SQLite types read back.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_floating(kind):
        # MySQL has no NaN; the platform has always stored missing floats as NULL
        array = pc.if_else(pc.is_nan(array), pa.scalar(None, kind), array)
    elif pa.types.is_timestamp(kind):
        # tz-aware values become naive UTC; ns is cut to the us both engines keep
        array = array.cast(pa.timestamp("us"), safe=False)
    elif pa.types.is_time(kind) and kind.unit == "ns":
        array = array.cast(pa.time64("us"), safe=False)
    if dialect == "sqlite":
        kind = array.type
        if pa.types.is_decimal(kind) or pa.types.is_temporal(kind):
            array = array.cast(pa.string())
    return array.to_pylist()


def conform_for_sqlite(array: pa.Array, sql_type: SqlType) -> pa.Array:
    """Check and convert a column as MySQL's strict mode would before SQLite stores it.

    SQLite accepts any value in any column, so without this a string would silently sit
    in an INT column. Raises ValueError with a message that names the rule only.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    is_text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    if sql_type.is_text:
        if is_text and sql_type.length is not None and len(array) > 0:
            longest = pc.max(pc.utf8_length(array)).as_py()
            if longest is not None and longest > sql_type.length:
                raise ValueError(f"a value is longer than {sql_type.length} characters")
        return array
    if is_text:
        if sql_type.name == "TIME":
            matches = pc.match_substring_regex(array, _TIME_TEXT)
            if not pc.all(pc.or_kleene(matches, pc.is_null(array))).as_py():
                raise ValueError(f"a value is not a valid {sql_type}")
            return array
        try:
            array = array.cast(sql_type.arrow_type())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Arrow's message quotes the offending value: never pass it on
            raise ValueError(f"a value is not a valid {sql_type}") from None
    bounds = sql_type.integer_bounds
    if bounds is not None and pa.types.is_integer(array.type) and array.null_count < len(array):
        extremes = pc.min_max(array)
        if extremes["min"].as_py() < bounds[0] or extremes["max"].as_py() > bounds[1]:
            raise ValueError(f"a value is out of range for {sql_type}")
    return array
