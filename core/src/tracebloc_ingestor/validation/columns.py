"""Vectorised casting, checking and inference of column values against SQL types.

CSV cells arrive as text and JSON values as typed Arrow arrays; :func:`cast_column` turns
either into the Arrow type of a :class:`SqlType` and reports every cell that does not fit by
position and rule slug. Rule messages describe the rule, never the value, so they can go to
logs and the backend. Work is done with ``pyarrow.compute`` over whole arrays: a clean column
takes a fast path (one format check plus Arrow's own cast); only when that fails are per-cell
predicates evaluated, and Python runs per cell only for exponent notation in integer and
DECIMAL columns.

Each type's accepted text is defined by the regular expressions below; the fast path is only
taken where Arrow's parser agrees with them, so a value's fate never depends on its neighbours.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Mapping
from types import MappingProxyType

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import SqlType

__all__ = [
    "DEFAULT_NULL_VALUES",
    "RULES",
    "RULE_MESSAGES",
    "TEXT_MAX_BYTES",
    "TEXT_NULL_VALUES",
    "CastResult",
    "TypeInference",
    "cast_column",
    "nan_is_null",
    "rule_message",
]

# The null policy (README "Missing values"): a cell is NULL when the source has no value
# (JSON null or an absent key, a Parquet null) or when its text is a null word. The null
# words are ``spec.csv_options.null_values`` when given, for every column of every type
# and every reader (a floating-point NaN counts as the text "nan"). By default they are
# these in columns that are not text (compared after stripping white space) ...
DEFAULT_NULL_VALUES = frozenset({"", "NA", "N/A", "NULL", "null", "None", "NaN", "nan"})
# ... and only the empty cell in text columns, where "NA" may well be a value (a country code).
TEXT_NULL_VALUES = frozenset({""})
TEXT_MAX_BYTES = 65535  # MySQL TEXT

RULES = (
    "integer",
    "integer_range",
    "number",
    "finite",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "time",
    "max_length",
    "scalar",
)
RULE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "integer": "not a whole number",
        "integer_range": "outside the range of the integer type",
        "number": "not a number",
        "finite": "not a finite number",
        "decimal": "not a decimal number that fits the column's precision and scale",
        "boolean": "not a boolean (true/false, yes/no, y/n, t/f or 1/0)",
        "date": "not a date of the form YYYY-MM-DD with a year from 1000 to 9999",
        "datetime": (
            "not a date-time of the form YYYY-MM-DD[ HH:MM[:SS[.ffffff]]] (a 'T' may replace the space,"
            " a 'Z' or +HH:MM offset may follow) with a year from 1000 to 9999"
        ),
        "time": "not a time of day of the form HH:MM[:SS[.ffffff]]",
        "max_length": "longer than the column allows",
        "scalar": "a list or object where a single value is expected",
    }
)


def rule_message(rule: str, sql_type: SqlType | None = None) -> str:
    """A sentence for ``rule`` (parametrised by the column type when given); never a value."""
    t = sql_type
    if t is not None:
        if rule == "integer_range" and t.integer_bounds:
            lo, hi = t.integer_bounds
            return f"outside the range of {t} ({lo} to {hi})"
        if rule == "max_length" and t.name == "TEXT":
            return f"longer than {TEXT_MAX_BYTES:,} bytes (the limit of TEXT)"
        if rule == "max_length" and t.length:
            return f"longer than {t.length} characters ({t})"
        if rule == "decimal" and t.name == "DECIMAL":
            whole = t.precision - t.scale
            return (
                f"not a decimal number that fits {t} (at most {whole} digits before"
                f" the point and {t.scale} after it)"
            )
        if rule == "finite" and t.name == "FLOAT":
            return "not a finite number within the range of FLOAT"
    return RULE_MESSAGES.get(rule, f"breaks rule {rule}")


@attrs.frozen
class CastResult:
    """A cast column: values typed as the SQL type wants (NULL where the input was NULL or
    failed), the 0-based positions that failed (int64, ascending) and each one's rule."""

    array: pa.Array
    failed: pa.Array
    rules: pa.Array

    @property
    def ok(self) -> bool:
        return len(self.failed) == 0


# Accepted text, per type (after white space is stripped).
_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NON_FINITE = r"^[+-]?(?:inf|infinity|nan(?:\([0-9a-z_]*\))?)$"  # matched ignoring case
_INT_PLAIN = r"^-?[0-9]+$"  # the fast path: exactly what Arrow parses, minus its hex forms
_INT_INTEGRAL = r"^[+-]?(?:[0-9]+\.?0*|\.0+)$"  # "12", "+12", "12.", "12.00", ".0"
_INT_CANON = (r"^(?:\+|(-))?0*([0-9]*?)(?:\.0*)?$", r"\1\2")  # sign and digits, no leading zeros
_DEC_PLAIN = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"
_DEC_PARTS = r"^(?P<sign>[+-]?)0*(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*?)0*)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE_PARTS = r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})$"
# The fast path: forms Arrow parses as we do, plus a UTC 'Z' that is stripped first.
_DATETIME_FAST = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?[Zz]?)?$"
# Fractions of up to 9 digits are accepted when digits 7-9 are zeros (nanosecond exports).
_DATETIME_PARTS = (
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[Tt ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,6})0{0,3})?)?"
    r"(?P<tz>[Zz]|(?P<tzs>[+-])(?P<tzh>[0-9]{2})(?::?(?P<tzm>[0-9]{2}))?)?)?$"
)
_TIME_FAST = r"^[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?$"
_TIME_PARTS = r"^(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,6})0{0,3})?)?$"
_LEADING_ZERO = r"^[+-]?0[0-9]"

_TRUE = pa.array(["true", "t", "yes", "y", "1", "1.0"])
_FALSE = pa.array(["false", "f", "no", "n", "0", "0.0"])
_BOOL_WORDS = pa.array(["true", "t", "yes", "y", "false", "f", "no", "n"])

_INT64_MAX = "9223372036854775807"
_INT64_MIN_MAGNITUDE = "9223372036854775808"
# The smallest magnitude that rounds to infinity in single precision.
_FLOAT32_OVERFLOW = 3.4028235677973366e38
_US_PER_DAY = 86_400_000_000
_EPOCH = _dt.datetime(1970, 1, 1)
_DATETIME_MIN_US = (_dt.datetime(1000, 1, 1) - _EPOCH) // _dt.timedelta(microseconds=1)
_DATETIME_MAX_US = (_dt.datetime(9999, 12, 31, 23, 59, 59, 999999) - _EPOCH) // _dt.timedelta(microseconds=1)
_DATE_MIN = _dt.date(1000, 1, 1)

_CODE = {rule: i for i, rule in enumerate(RULES, start=1)}
_RULE_NAMES = pa.array(("",) + RULES)
_NO_INDICES = pa.array([], pa.int64())
_NO_RULES = pa.array([], pa.string())
_NULL_STR = pa.scalar(None, pa.string())


class _Failures:
    """Per-cell rule codes (0 = fine); the first rule recorded for a cell wins."""

    def __init__(self) -> None:
        self.code: pa.Array | None = None

    def add(self, mask: pa.Array, rule: str) -> None:
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        code = pa.scalar(_CODE[rule], pa.int8())
        if self.code is None:
            self.code = pc.if_else(mask, code, pa.scalar(0, pa.int8()))
        else:
            self.code = pc.if_else(pc.and_(mask, pc.equal(self.code, 0)), code, self.code)

    def add_at(self, mask: pa.Array, rules: list[str | None]) -> None:
        """Record ``rules`` (one per true cell of ``mask``, None = fine) for cells still fine."""
        if any(rules):
            self.add_codes(mask, pa.array([_CODE[r] if r else 0 for r in rules], pa.int8()))

    def add_codes(self, mask: pa.Array, codes: pa.Array | None) -> None:
        """Like :meth:`add_at` with the codes of another :class:`_Failures` (None = all fine)."""
        if codes is None:
            return
        base = self.code if self.code is not None else pa.repeat(pa.scalar(0, pa.int8()), len(mask))
        merged = pc.replace_with_mask(base, mask, codes)
        self.code = pc.if_else(pc.equal(base, 0), merged, base)

    def finish(self, array: pa.Array, target: pa.DataType) -> CastResult:
        if self.code is None:
            return CastResult(array.cast(target), _NO_INDICES, _NO_RULES)
        bad = pc.not_equal(self.code, 0)
        failed = pc.indices_nonzero(bad).cast(pa.int64())
        rules = pc.take(_RULE_NAMES, pc.take(self.code, failed))
        array = pc.if_else(bad, pa.scalar(None, array.type), array)
        return CastResult(array.cast(target), failed, rules)


def _match(s: pa.Array, pattern: str, *, ignore_case: bool = False) -> pa.Array:
    return pc.match_substring_regex(s, pattern, ignore_case=ignore_case)


def _all_match(s: pa.Array, pattern: str) -> bool:
    return bool(pc.all(_match(s, pattern), min_count=0).as_py())


def _fails(s: pa.Array, ok: pa.Array) -> pa.Array:
    """True for present cells where ``ok`` is not true."""
    return pc.and_(pc.is_valid(s), pc.invert(pc.fill_null(ok, False)))


def _keep(mask: pa.Array, s: pa.Array) -> pa.Array:
    """``s`` where ``mask`` is true, NULL elsewhere."""
    return pc.if_else(pc.fill_null(mask, False), s, pa.scalar(None, s.type))


def _try_cast(s: pa.Array, target: pa.DataType) -> pa.Array | None:
    try:
        return pc.cast(s, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Arrow's message quotes the cell; it is dropped on purpose.
        return None


def _null_out(s: pa.Array, tokens: frozenset[str]) -> pa.Array:
    if not tokens:
        return s
    hit = pc.is_in(s, value_set=pa.array(sorted(tokens), pa.string()))
    return pc.if_else(hit, _NULL_STR, s)


def _normalise(values) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(values)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    t = values.type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        values = values.cast(pa.string())
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        try:
            values = values.cast(pa.string())
        except pa.ArrowInvalid:
            raise ValueError("the column holds bytes that are not valid UTF-8") from None
    return values


def _is_nested(t: pa.DataType) -> bool:
    return pa.types.is_nested(t) or pa.types.is_map(t)


def _as_text(
    values: pa.Array, null_values: frozenset[str] | None, default: frozenset[str], strip: bool
) -> pa.Array:
    """String view of ``values`` with the null words applied, whatever the reader typed them as.

    Typed input is taken as its text (a float NaN as "nan"), so that a value means the
    same from CSV, JSON and Parquet.
    """
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    elif strip:
        values = pc.utf8_trim_whitespace(values)
    return _null_out(values, default if null_values is None else null_values)


def nan_is_null(null_values: frozenset[str] | None) -> bool:
    """Whether a floating-point NaN is a missing value under these null words (in non-text columns)."""
    words = DEFAULT_NULL_VALUES if null_values is None else null_values
    return any(word.strip().lower() == "nan" for word in words)


def cast_column(
    values,
    sql_type: SqlType,
    *,
    null_values: frozenset[str] | None = None,
    allow_non_finite: bool = False,
) -> CastResult:
    """Cast ``values`` (text from CSV or typed values from JSON) to ``sql_type``.

    ``null_values`` replaces the NULL tokens for every type; by default non-text columns use
    :data:`DEFAULT_NULL_VALUES` (compared after stripping white space) and text columns only
    the empty string (values are kept exactly as they are).
    """
    values = _normalise(values)
    try:
        return _cast_column(values, sql_type, null_values, allow_non_finite)
    except pa.ArrowException:
        # Every cast here is on pre-validated text; should Arrow still object, its message
        # may quote a cell, so only the type is reported.
        raise RuntimeError(f"internal error while casting a column to {sql_type}") from None


def _cast_column(
    values: pa.Array, sql_type: SqlType, null_values: frozenset[str] | None, allow_non_finite: bool
) -> CastResult:
    target = sql_type.arrow_type()
    t = values.type
    if pa.types.is_null(t):
        return CastResult(pa.nulls(len(values), target), _NO_INDICES, _NO_RULES)
    if _is_nested(t):
        failures = _Failures()
        failures.add(pc.is_valid(values), "scalar")
        return failures.finish(pa.nulls(len(values), target), target)
    if sql_type.is_text:
        return _cast_text(_as_text(values, null_values, TEXT_NULL_VALUES, strip=False), sql_type)
    direct = _cast_typed(values, sql_type, allow_non_finite, null_values)
    if direct is not None:
        return direct
    s = _as_text(values, null_values, DEFAULT_NULL_VALUES, strip=True)
    if sql_type.is_integer:
        return _cast_integer(s, sql_type)
    if sql_type.is_float:
        return _cast_float(s, sql_type, allow_non_finite)
    parser = {
        "DECIMAL": _cast_decimal,
        "BOOLEAN": _cast_boolean,
        "DATE": _cast_date,
        "DATETIME": _cast_datetime,
        "TIME": _cast_time,
    }[sql_type.name]
    return parser(s, sql_type)


def _cast_text(s: pa.Array, sql_type: SqlType) -> CastResult:
    failures = _Failures()
    if sql_type.name == "TEXT":
        failures.add(pc.greater(pc.binary_length(s), TEXT_MAX_BYTES), "max_length")
    else:
        failures.add(pc.greater(pc.utf8_length(s), sql_type.length), "max_length")
    return failures.finish(s, pa.string())


def _cast_typed(
    values: pa.Array, sql_type: SqlType, allow_non_finite: bool, null_values: frozenset[str] | None
) -> CastResult | None:
    """Direct routes for typed (Parquet) input whose meaning is unambiguous; None = go via text."""
    t = values.type
    if sql_type.name == "BOOLEAN" and pa.types.is_boolean(t):
        return CastResult(values, _NO_INDICES, _NO_RULES)
    if sql_type.name == "DECIMAL" and pa.types.is_decimal(t) and t.scale <= sql_type.scale and (t.precision - t.scale) <= (sql_type.precision - sql_type.scale):
        return CastResult(values.cast(sql_type.arrow_type()), _NO_INDICES, _NO_RULES)  # widening: exact
    if sql_type.is_float and (pa.types.is_floating(t) or pa.types.is_integer(t)):
        floats = values.cast(pa.float64(), safe=False)
        if pa.types.is_floating(t) and not allow_non_finite and nan_is_null(null_values):
            floats = pc.if_else(pc.is_nan(floats), pa.scalar(None, pa.float64()), floats)
        failures = _Failures()
        _check_finite(floats, None, sql_type, allow_non_finite, failures)
        return failures.finish(floats, pa.float64())
    if sql_type.is_integer and pa.types.is_integer(t):
        failures = _Failures()
        if pa.types.is_uint64(t):
            over = pc.greater(values, pa.scalar(2**63 - 1, pa.uint64()))
            failures.add(over, "integer_range")
            values = _keep(pc.invert(over), values)
        ints = values.cast(pa.int64())
        _check_bounds(ints, sql_type, failures)
        return failures.finish(ints, sql_type.arrow_type())
    return None


def _check_bounds(ints: pa.Array, sql_type: SqlType, failures: _Failures) -> None:
    lo, hi = sql_type.integer_bounds
    if sql_type.name != "BIGINT":
        failures.add(pc.or_(pc.less(ints, lo), pc.greater(ints, hi)), "integer_range")


def _cast_integer(s: pa.Array, sql_type: SqlType) -> CastResult:
    failures = _Failures()
    plain = pc.fill_null(_match(s, _INT_PLAIN), True)
    ints = _try_cast(s, pa.int64()) if pc.all(plain).as_py() is not False else None
    if ints is None:
        # Up to 18 digits always fit int64; only the other cells need the full rules.
        short = pc.and_(plain, pc.less_equal(pc.utf8_length(s), 18))
        ints = _keep(short, s).cast(pa.int64())
        rest = pc.and_(pc.is_valid(s), pc.invert(short))
        if pc.any(rest).as_py():
            sub_failures = _Failures()
            sub_ints = _parse_integers(pc.filter(s, rest), sub_failures)
            ints = pc.replace_with_mask(ints, rest, sub_ints)
            failures.add_codes(rest, sub_failures.code)
    _check_bounds(ints, sql_type, failures)
    return failures.finish(ints, sql_type.arrow_type())


def _parse_integers(s: pa.Array, failures: _Failures) -> pa.Array:
    number = _match(s, _NUMBER)
    integral = _match(s, _INT_INTEGRAL)
    exponent = pc.and_(number, _match(s, "[eE]"))
    failures.add(_fails(s, number), "integer")
    failures.add(pc.and_(number, pc.invert(pc.or_(integral, exponent))), "integer")
    canon = pc.replace_substring_regex(_keep(integral, s), _INT_CANON[0], _INT_CANON[1])
    # Range against int64 on the digits, so that no float rounding blurs the limits.
    magnitude = pc.utf8_ltrim(canon, characters="-")
    canon = pc.if_else(pc.equal(magnitude, ""), "0", canon)  # "0", "-0.0", ".0"
    digits = pc.utf8_length(magnitude)
    bound = pc.if_else(pc.starts_with(canon, "-"), _INT64_MIN_MAGNITUDE, _INT64_MAX)
    over = pc.or_(
        pc.greater(digits, 19),
        pc.and_(pc.equal(digits, 19), pc.greater(magnitude, bound)),
    )
    failures.add(over, "integer_range")
    canon = _keep(pc.invert(pc.fill_null(over, False)), canon)
    if pc.any(exponent).as_py():
        canon = _patch(canon, exponent, s, _exponent_integer, failures)
    return canon.cast(pa.int64())


def _patch(canon: pa.Array, mask: pa.Array, s: pa.Array, parse, failures: _Failures) -> pa.Array:
    """Run ``parse`` (text -> (canonical text or None, rule or None)) on the masked cells only."""
    mask = pc.fill_null(mask, False)
    texts = pc.filter(s, mask).to_pylist()
    parsed = [parse(text) for text in texts]
    failures.add_at(mask, [rule for _, rule in parsed])
    return pc.replace_with_mask(canon, mask, pa.array([c for c, _ in parsed], pa.string()))


class _Exact:
    """A number written with an exponent, reduced to sign, significant digits and exponent."""

    def __init__(self, text: str) -> None:
        sign, digits, exp = decimal.Decimal(text).as_tuple()
        digits = "".join(map(str, digits)).lstrip("0")
        stripped = digits.rstrip("0")
        self.negative = bool(sign) and bool(digits)
        self.digits = stripped or "0"
        self.exp = exp + len(digits) - len(stripped) if stripped else 0
        # Digits before the point and significant digits after it.
        self.whole = max(0, len(stripped) + self.exp) if stripped else 0
        self.frac = max(0, -self.exp)

    def plain(self) -> str:
        """Positional notation without redundant zeros (build only once the size is checked)."""
        if self.exp >= 0:
            body = self.digits + "0" * self.exp
        else:
            padded = self.digits.rjust(self.frac + 1, "0")
            body = f"{padded[: -self.frac]}.{padded[-self.frac :]}"
        return f"-{body}" if self.negative else body


def _exponent_integer(text: str) -> tuple[str | None, str | None]:
    number = _Exact(text)
    if number.frac:
        return None, "integer"
    if number.whole > 19:
        return None, "integer_range"
    value = int(number.plain())
    if not -(2**63) <= value < 2**63:
        return None, "integer_range"
    return str(value), None


def _check_finite(
    floats: pa.Array, s: pa.Array | None, sql_type: SqlType, allow_non_finite: bool, failures: _Failures
) -> None:
    if not allow_non_finite:
        failures.add(pc.invert(pc.is_finite(floats)), "finite")
    else:
        # Literal inf/nan are allowed; a number too large for a double is not.
        infinite = pc.is_inf(floats)
        if s is not None and pc.any(infinite).as_py():
            failures.add(pc.and_(infinite, _match(s, _NUMBER)), "finite")
    if sql_type.name == "FLOAT":
        failures.add(
            pc.and_(pc.is_finite(floats), pc.greater_equal(pc.abs(floats), _FLOAT32_OVERFLOW)),
            "finite",
        )


def _cast_float(s: pa.Array, sql_type: SqlType, allow_non_finite: bool) -> CastResult:
    failures = _Failures()
    floats = _try_cast(s, pa.float64())
    if floats is None:
        ok = pc.or_(_match(s, _NUMBER), _match(s, _NON_FINITE, ignore_case=True))
        failures.add(_fails(s, ok), "number")
        floats = _keep(ok, s).cast(pa.float64())
    _check_finite(floats, s, sql_type, allow_non_finite, failures)
    return failures.finish(floats, pa.float64())


def _cast_decimal(s: pa.Array, sql_type: SqlType) -> CastResult:
    target = sql_type.arrow_type()
    failures = _Failures()
    # Arrow refuses a value that loses digits or exceeds the precision (our rule), but only
    # while its 128-bit arithmetic cannot overflow: longer text or exponents overflow silently
    # (pyarrow 26 turns 40-digit text into a wrong value), so those take the per-cell rules.
    if _all_match(s, _DEC_PLAIN) and (pc.max(pc.utf8_length(s)).as_py() or 0) <= 38 - sql_type.scale:
        exact = _try_cast(s, target)
        if exact is not None:
            return failures.finish(exact, target)
    number = _match(s, _NUMBER)
    exponent = pc.and_(number, _match(s, "[eE]"))
    plain = pc.and_(number, pc.invert(exponent))
    failures.add(_fails(s, number), "decimal")
    sign, whole, frac = pc.extract_regex(_keep(plain, s), _DEC_PARTS).flatten()
    too_big = pc.or_(
        pc.greater(pc.utf8_length(whole), sql_type.precision - sql_type.scale),
        pc.greater(pc.utf8_length(frac), sql_type.scale),
    )
    failures.add(too_big, "decimal")
    point_frac = pc.if_else(pc.equal(frac, ""), "", pc.binary_join_element_wise(".", frac, ""))
    whole = pc.if_else(pc.equal(whole, ""), "0", whole)
    canon = pc.binary_join_element_wise(sign, whole, point_frac, "")
    canon = _keep(pc.invert(pc.fill_null(too_big, False)), canon)
    if pc.any(exponent).as_py():
        canon = _patch(canon, exponent, s, lambda text: _exponent_decimal(text, sql_type), failures)
    return failures.finish(canon.cast(target), target)


def _exponent_decimal(text: str, sql_type: SqlType) -> tuple[str | None, str | None]:
    number = _Exact(text)
    if number.whole > sql_type.precision - sql_type.scale or number.frac > sql_type.scale:
        return None, "decimal"
    return number.plain(), None


def _cast_boolean(s: pa.Array, sql_type: SqlType) -> CastResult:
    lower = pc.utf8_lower(s)
    true = pc.is_in(lower, value_set=_TRUE)
    known = pc.or_(true, pc.is_in(lower, value_set=_FALSE))
    failures = _Failures()
    failures.add(_fails(s, known), "boolean")
    return failures.finish(_keep(pc.is_valid(s), true), pa.bool_())


def _ints(parts: pa.Array) -> pa.Array:
    """Digits to int64; an absent optional part ("") counts as 0."""
    return pc.if_else(pc.equal(parts, ""), "0", parts).cast(pa.int64())


def _civil_days(y: pa.Array, mo: pa.Array, d: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Days since 1970-01-01 of year/month/day text, and whether the date exists (years 1000+)."""
    year, month, day = _ints(y), _ints(mo), _ints(d)
    ok = pc.and_(
        pc.and_(pc.greater_equal(year, 1000), pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12))),
        pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, 31)),
    )
    # The first of a real month always parses; the day must then stay inside that month.
    first = pc.binary_join_element_wise(_keep(ok, y), mo, "01", "-").cast(pa.date32())
    days = pc.add(pc.subtract(first.cast(pa.int32()).cast(pa.int64()), 1), day)
    ok = pc.and_(ok, pc.equal(pc.day(days.cast(pa.int32()).cast(pa.date32())), day))
    return days, pc.fill_null(ok, False)


def _cast_date(s: pa.Array, sql_type: SqlType) -> CastResult:
    failures = _Failures()
    dates = _try_cast(s, pa.date32()) if _all_match(s, _DATE) else None
    if dates is not None:
        failures.add(pc.less(dates, pa.scalar(_DATE_MIN, pa.date32())), "date")
        return failures.finish(dates, pa.date32())
    y, mo, d = pc.extract_regex(s, _DATE_PARTS).flatten()
    days, ok = _civil_days(y, mo, d)
    failures.add(_fails(s, ok), "date")
    return failures.finish(_keep(ok, days).cast(pa.int32()).cast(pa.date32()), pa.date32())


def _cast_datetime(s: pa.Array, sql_type: SqlType) -> CastResult:
    target = pa.timestamp("us")
    failures = _Failures()
    stamps = None
    if _all_match(s, _DATETIME_FAST):
        stamps = _try_cast(pc.utf8_rtrim(s, characters="Zz"), target)
    if stamps is None:
        stamps, ok = _parse_datetimes(s)
        failures.add(_fails(s, ok), "datetime")
    micros = stamps.cast(pa.int64())
    outside = pc.or_(pc.less(micros, _DATETIME_MIN_US), pc.greater(micros, _DATETIME_MAX_US))
    failures.add(outside, "datetime")
    return failures.finish(stamps, target)


def _parse_datetimes(s: pa.Array) -> tuple[pa.Array, pa.Array]:
    parts = dict(
        zip(
            ("y", "mo", "d", "h", "mi", "s", "f", "tz", "tzs", "tzh", "tzm"),
            pc.extract_regex(s, _DATETIME_PARTS).flatten(),
        )
    )
    days, ok = _civil_days(parts["y"], parts["mo"], parts["d"])
    hour, minute, second = _ints(parts["h"]), _ints(parts["mi"]), _ints(parts["s"])
    fraction = _ints(pc.utf8_rpad(parts["f"], width=6, padding="0"))
    off_h, off_m = _ints(parts["tzh"]), _ints(parts["tzm"])
    ok = pc.and_(ok, _clock_ok(hour, minute, second))
    ok = pc.and_(ok, pc.and_(pc.less_equal(off_h, 23), pc.less_equal(off_m, 59)))
    micros = _micros(hour, minute, second, fraction)
    micros = pc.add(pc.multiply(days, _US_PER_DAY), micros)
    offset = pc.multiply(pc.add(pc.multiply(off_h, 60), off_m), 60_000_000)
    # Local time minus its offset is UTC; the column stores naive UTC.
    micros = pc.if_else(pc.equal(parts["tzs"], "-"), pc.add(micros, offset), pc.subtract(micros, offset))
    ok = pc.fill_null(ok, False)
    return _keep(ok, micros).cast(pa.timestamp("us")), ok


def _clock_ok(hour: pa.Array, minute: pa.Array, second: pa.Array) -> pa.Array:
    return pc.and_(pc.less_equal(hour, 23), pc.and_(pc.less_equal(minute, 59), pc.less_equal(second, 59)))


def _micros(hour: pa.Array, minute: pa.Array, second: pa.Array, fraction: pa.Array) -> pa.Array:
    seconds = pc.add(pc.multiply(pc.add(pc.multiply(hour, 60), minute), 60), second)
    return pc.add(pc.multiply(seconds, 1_000_000), fraction)


def _cast_time(s: pa.Array, sql_type: SqlType) -> CastResult:
    target = pa.time64("us")
    if _all_match(s, _TIME_FAST):
        # Arrow has no text-to-time cast, but parses (and range-checks) a clock on a date.
        stamps = _try_cast(pc.binary_join_element_wise("1970-01-01 ", s, ""), pa.timestamp("us"))
        if stamps is not None:
            return CastResult(stamps.cast(pa.int64()).cast(target), _NO_INDICES, _NO_RULES)
    h, mi, sec, f = pc.extract_regex(s, _TIME_PARTS).flatten()
    hour, minute, second = _ints(h), _ints(mi), _ints(sec)
    ok = pc.fill_null(_clock_ok(hour, minute, second), False)
    micros = _micros(hour, minute, second, _ints(pc.utf8_rpad(f, width=6, padding="0")))
    failures = _Failures()
    failures.add(_fails(s, ok), "time")
    return failures.finish(_keep(ok, micros).cast(target), target)


_BIGINT = SqlType("BIGINT")
_DOUBLE = SqlType("DOUBLE")
_DATE_T = SqlType("DATE")
_DATETIME_T = SqlType("DATETIME")
_NUMERIC_CHAIN = (_BIGINT, _DOUBLE)
_TEMPORAL_CHAIN = (_DATE_T, _DATETIME_T)
_INFERENCE_HEAD = 2048
VARCHAR_DEFAULT = SqlType("VARCHAR", length=255)
_TEXT = SqlType("TEXT")


class TypeInference:
    """Folds one column batch by batch and proposes a SQL type for it.

    The proposal is the narrowest of BOOLEAN (true/false-like words only, not 0/1), BIGINT,
    DOUBLE, DATE, DATETIME, then VARCHAR(255) or TEXT by the longest value. Candidates are
    tested with :func:`cast_column` itself, so the proposed type accepts the data it was
    inferred from (except that a value over 64 KiB, or a JSON list/object, fits no supported
    type; such columns are proposed as TEXT). Integers with leading zeros ("007") keep the
    column textual, since a number would lose them.
    State is a few flags and one length, whatever the row count.
    """

    def __init__(self, *, null_values: frozenset[str] | None = None) -> None:
        self._null_values = null_values
        self._present = False  # any value that is not NULL under the non-text rules
        self._boolean = True
        self._numeric = 0  # index into _NUMERIC_CHAIN; past the end = ruled out
        self._temporal = 0
        self._max_chars = 0
        self._nested = False  # lists/objects (JSON) fit no scalar type
        self._exact: SqlType | None = None  # the SQL type of a typed column that has exactly one

    def update(self, values) -> None:
        values = _normalise(values)
        if pa.types.is_null(values.type) or len(values) == 0:
            return
        if _is_nested(values.type):
            self._nested = True
            return
        t = values.type
        if pa.types.is_decimal(t) and t.precision <= 38:
            # a Parquet decimal is stored as exactly that DECIMAL, never as a rounded DOUBLE
            self._exact = SqlType("DECIMAL", precision=t.precision, scale=t.scale)
        elif pa.types.is_time(t):
            self._exact = SqlType("TIME")
        text = _as_text(values, self._null_values, TEXT_NULL_VALUES, strip=False)
        longest = pc.max(pc.utf8_length(text)).as_py()
        self._max_chars = max(self._max_chars, longest or 0)
        s = _as_text(values, self._null_values, DEFAULT_NULL_VALUES, strip=True)
        if s.null_count == len(s):
            return
        self._present = True
        if self._boolean:
            head = s.slice(0, _INFERENCE_HEAD)
            self._boolean = _all_in(pc.utf8_lower(head), _BOOL_WORDS) and _all_in(
                pc.utf8_lower(s), _BOOL_WORDS
            )
        if self._numeric < len(_NUMERIC_CHAIN):
            if pa.types.is_floating(values.type):
                self._numeric = max(self._numeric, 1)
            if pc.any(_match(s, _LEADING_ZERO)).as_py():
                self._numeric = len(_NUMERIC_CHAIN)
            self._numeric = self._advance(values, _NUMERIC_CHAIN, self._numeric)
        if self._temporal < len(_TEMPORAL_CHAIN):
            self._temporal = self._advance(values, _TEMPORAL_CHAIN, self._temporal)

    def _advance(self, values: pa.Array, chain: tuple[SqlType, ...], level: int) -> int:
        # Each type in a chain accepts everything the previous one does, so earlier
        # batches need no re-check when a later batch widens the type.
        while level < len(chain) and not self._fits(values, chain[level]):
            level += 1
        return level

    def _fits(self, values: pa.Array, sql_type: SqlType) -> bool:
        # A cell's outcome does not depend on its neighbours, so a failing head settles it
        # cheaply; text columns rule out every candidate that way.
        head = values.slice(0, _INFERENCE_HEAD)
        if len(values) > len(head) and not cast_column(head, sql_type, null_values=self._null_values).ok:
            return False
        return cast_column(values, sql_type, null_values=self._null_values).ok

    def result(self) -> SqlType:
        if self._nested:
            return _TEXT
        if self._exact is not None:
            return self._exact
        if self._present:
            if self._boolean:
                return SqlType("BOOLEAN")
            if self._numeric < len(_NUMERIC_CHAIN):
                return _NUMERIC_CHAIN[self._numeric]
            if self._temporal < len(_TEMPORAL_CHAIN):
                return _TEMPORAL_CHAIN[self._temporal]
        return VARCHAR_DEFAULT if self._max_chars <= 255 else _TEXT


def _all_in(s: pa.Array, value_set: pa.Array) -> bool:
    hit = pc.is_in(s, value_set=value_set)
    return not pc.any(_fails(s, hit)).as_py()
