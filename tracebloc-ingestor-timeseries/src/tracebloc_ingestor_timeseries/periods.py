"""Calendar periods as time values: a year, a quarter, a month, an ISO week or a day.

Statistical and economic series label each value with its period rather than a moment:
``1975``, ``1975Q3`` (also ``1975-Q3``, ``1975 Q3``), ``1949-01``, ``1975-W07`` (also
``1975W07``), ``1975-07-14``. Each period is read as its first moment (1 January, the
first day of the quarter or month, the Monday of the ISO week, the day itself, at
00:00) so it can be stored and ordered as a ``DATETIME``. Years run from 1000 to 9999,
like the core's date-times.

Parquet files written by pandas store a ``period`` column as integer ordinals with the
frequency in the column's metadata; :func:`pandas_period_frequency` recognises such a
column and :func:`pandas_periods` reads it (yearly, quarterly, monthly, Monday-based
weekly and daily periods; other frequencies are refused). Reading the ordinals as plain
numbers would silently turn a weekly ordinal such as 2610 into the year 2610.

Everything is vectorised with pyarrow.
"""

from __future__ import annotations

import json

import attrs
import pyarrow as pa
import pyarrow.compute as pc
from tracebloc_ingestor.api import cast_column, parse_sql_type

__all__ = [
    "FORMS",
    "PANDAS_FREQUENCIES",
    "PERIOD_MESSAGE",
    "Periods",
    "pandas_period_frequency",
    "pandas_periods",
    "parse_periods",
]

# frequency -> how it is written, for messages
FORMS = {"year": "YYYY", "quarter": "YYYYQn", "month": "YYYY-MM", "week": "YYYY-Www", "day": "YYYY-MM-DD"}
PERIOD_MESSAGE = (
    "not a period: a year (YYYY), a quarter (YYYYQn, YYYY-Qn or YYYY Qn), a month (YYYY-MM),"
    " an ISO week (YYYY-Www or YYYYWww) or a day (YYYY-MM-DD), with a year from 1000 to 9999"
)
# pandas frequency -> ours; weekly periods ending on Sunday are ISO weeks (Monday first)
PANDAS_FREQUENCIES = {"Y-DEC": "year", "A-DEC": "year", "Q-DEC": "quarter", "M": "month", "W-SUN": "week", "D": "day"}
_PATTERN = (
    r"^(?P<y>[1-9][0-9]{3})"
    r"(?:[- ]?[Qq](?P<q>[1-4])|-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2}))?|-?[Ww](?P<w>[0-9]{2}))?$"
)
_DATE = parse_sql_type("DATE")
_US_PER_DAY = 86_400_000_000
_NO_TEXT = pa.scalar(None, pa.string())
_NO_DAY = pa.scalar(None, pa.int64())


@attrs.frozen
class Periods:
    """Parsed periods: each cell's first moment (timestamp[us], NULL where missing or failed),
    its frequency (a key of :data:`FORMS`, NULL likewise) and which cells failed."""

    moments: pa.Array
    frequency: pa.Array
    failed_mask: pa.Array

    @property
    def failed(self) -> pa.Array:
        return pc.indices_nonzero(self.failed_mask)


def _days(text: pa.Array) -> pa.Array:
    """``YYYY-MM-DD`` text to days since 1970-01-01 (int64); NULL where it is not a date."""
    return cast_column(text, _DATE).array.cast(pa.int32()).cast(pa.int64())


def _date_text(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array:
    pad = lambda part: pc.utf8_lpad(pc.cast(part, pa.string()), 2, "0")  # noqa: E731
    return pc.binary_join_element_wise(pc.cast(year, pa.string()), pad(month), pad(day), "-")


def _weekday(days: pa.Array) -> pa.Array:
    """Monday = 0."""
    return pc.day_of_week(days.cast(pa.int32()).cast(pa.date32())).cast(pa.int64())


def _finish(days: pa.Array, frequency: pa.Array, present: pa.Array) -> Periods:
    failed = pc.and_(pc.fill_null(present, False), pc.is_null(days))
    moments = pc.multiply(days, _US_PER_DAY).cast(pa.timestamp("us"))
    return Periods(moments, pc.if_else(pc.is_valid(days), frequency, _NO_TEXT), failed)


def parse_periods(values: pa.Array, present: pa.Array) -> Periods:
    """Parse the cells of ``values`` where ``present`` is true; the others are missing."""
    text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    text = pc.if_else(present, pc.utf8_trim_whitespace(text), _NO_TEXT)
    parts = pc.extract_regex(text, _PATTERN)
    year, quarter, month, day, week = (parts.field(name) for name in ("y", "q", "m", "d", "w"))
    has_q, has_m, has_d, has_w = (pc.not_equal(p, "") for p in (quarter, month, day, week))
    frequency = pc.case_when(
        pc.make_struct(has_q, has_d, has_m, has_w),
        pa.scalar("quarter"), pa.scalar("day"), pa.scalar("month"), pa.scalar("week"), pa.scalar("year"),
    )
    number = lambda part, has: pc.cast(pc.if_else(has, part, "1"), pa.int64())  # noqa: E731
    month_number = pc.if_else(has_m, number(month, has_m), pc.subtract(pc.multiply(number(quarter, has_q), 3), 2))
    first = _date_text(year, month_number, number(day, has_d))
    days = _days(pc.if_else(pc.and_(pc.is_valid(parts), pc.invert(has_w)), first, _NO_TEXT))
    if pc.any(has_w).as_py():
        # ISO week w: the Monday of the week that holds 4 January, plus w - 1 weeks
        jan4 = _days(pc.if_else(has_w, pc.binary_join_element_wise(year, "01", "04", "-"), _NO_TEXT))
        weeks = number(week, has_w)
        monday = pc.add(pc.subtract(jan4, _weekday(jan4)), pc.multiply(pc.subtract(weeks, 1), 7))
        # week 53 exists only in some years: the Monday must lie in that week of that year
        exists = pc.and_(pc.greater_equal(weeks, 1), pc.equal(pc.iso_week(monday.cast(pa.int32()).cast(pa.date32())), weeks))
        days = pc.if_else(has_w, pc.if_else(pc.fill_null(exists, False), monday, _NO_DAY), days)
    return _finish(_in_range(days), frequency, present)


def _in_range(days: pa.Array) -> pa.Array:
    """NULL for a first moment before 1000-01-01 (week 1 of the year 1000 starts in 999)."""
    lowest = -354_285  # 1000-01-01
    return pc.if_else(pc.fill_null(pc.greater_equal(days, lowest), False), days, _NO_DAY)


def pandas_period_frequency(field: pa.Field) -> str | None:
    """The pandas frequency (``M``, ``Q-DEC``, ...) of a column of pandas periods, else None."""
    t = field.type
    if isinstance(t, pa.ExtensionType) and t.extension_name == "pandas.period":
        meta = t.__arrow_ext_serialize__()
    elif (field.metadata or {}).get(b"ARROW:extension:name") == b"pandas.period":
        meta = field.metadata.get(b"ARROW:extension:metadata", b"{}")
    else:
        return None
    try:
        return str(json.loads(meta)["freq"])
    except (ValueError, KeyError, TypeError):
        return "unknown"


def pandas_periods(values: pa.Array, frequency: str) -> Periods | None:
    """The first moments of pandas period ordinals; None when the frequency is not supported."""
    kind = PANDAS_FREQUENCIES.get(frequency)
    if kind is None:
        return None
    ordinals = values.storage if isinstance(values, pa.ExtensionArray) else values
    ordinals = ordinals.cast(pa.int64())
    if kind == "day":
        days = ordinals
    elif kind == "week":
        days = pc.add(pc.multiply(ordinals, 7), -10)  # ordinal 0: the week of Monday 1969-12-22
    else:
        months = pc.multiply(ordinals, {"year": 12, "quarter": 3, "month": 1}[kind])
        years = pc.floor(pc.divide(months.cast(pa.float64()), 12.0)).cast(pa.int64())
        month = pc.add(pc.subtract(months, pc.multiply(years, 12)), 1)
        year = pc.add(years, 1970)
        plausible = pc.and_(pc.greater_equal(year, 1000), pc.less_equal(year, 9999))
        days = _days(pc.if_else(plausible, _date_text(year, month, pa.repeat(1, len(month)).cast(pa.int64())), _NO_TEXT))
    highest = 2_932_896  # 9999-12-31
    days = pc.if_else(pc.fill_null(pc.less_equal(days, highest), False), days, _NO_DAY)
    return _finish(_in_range(days), pa.repeat(pa.scalar(kind), len(ordinals)), pc.is_valid(ordinals))
