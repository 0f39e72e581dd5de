"""Casting, checking and inference of column values (tracebloc_ingestor.validation.columns)."""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal

import pyarrow as pa
import pytest

from tracebloc_ingestor.schema import parse_sql_type
from tracebloc_ingestor.validation.columns import (
    DEFAULT_NULL_VALUES,
    RULE_MESSAGES,
    RULES,
    CastResult,
    TypeInference,
    cast_column,
    rule_message,
)


def cast(values, type_text: str, **kwargs) -> CastResult:
    if isinstance(values, list) and all(v is None or isinstance(v, str) for v in values):
        values = pa.array(values, pa.string())
    return cast_column(values, parse_sql_type(type_text), **kwargs)


def failures(result: CastResult) -> list[tuple[int, str]]:
    return list(zip(result.failed.to_pylist(), result.rules.to_pylist()))


def assert_clean(result: CastResult, expected: list) -> None:
    assert failures(result) == []
    assert result.array.to_pylist() == expected


# --- integers -------------------------------------------------------------------------------


def test_integers_cast_exactly_including_bigint_limits():
    result = cast(["0", "-3", "+12", "007", "9223372036854775807", "-9223372036854775808"], "BIGINT")
    assert result.array.type == pa.int64()
    assert_clean(result, [0, -3, 12, 7, 2**63 - 1, -(2**63)])


def test_integers_accept_whole_numbers_written_as_decimals_or_exponents():
    result = cast(["12.0", "12.", "-4.000", "1e3", "1.5e1", "-0.0", ".0", "2E+2"], "INT")
    assert_clean(result, [12, 12, -4, 1000, 15, 0, 0, 200])


def test_integer_failures_name_index_and_rule():
    values = [
        "1",
        "12.5",
        "abc",
        "9223372036854775808",
        "-9223372036854775809",
        "1e30",
        "0x1F",
        "1.5e-1",
        "",
        "+",
    ]
    result = cast(values, "BIGINT")
    assert failures(result) == [
        (1, "integer"),
        (2, "integer"),
        (3, "integer_range"),
        (4, "integer_range"),
        (5, "integer_range"),
        (6, "integer"),
        (7, "integer"),
        (9, "integer"),
    ]
    assert result.array.to_pylist() == [1] + [None] * 9
    assert result.failed.type == pa.int64() and result.rules.type == pa.string()


@pytest.mark.parametrize(
    "type_text, arrow_type, lo, hi",
    [
        ("TINYINT", pa.int8(), -128, 127),
        ("SMALLINT", pa.int16(), -32768, 32767),
        ("MEDIUMINT", pa.int32(), -8388608, 8388607),
        ("INT", pa.int32(), -2147483648, 2147483647),
    ],
)
def test_integer_bounds_per_type(type_text, arrow_type, lo, hi):
    result = cast([str(lo), str(hi), str(lo - 1), str(hi + 1), f"{hi + 1}.0"], type_text)
    assert result.array.type == arrow_type
    assert result.array.to_pylist() == [lo, hi, None, None, None]
    assert failures(result) == [(2, "integer_range"), (3, "integer_range"), (4, "integer_range")]


def test_integer_white_space_is_stripped_and_null_tokens_become_null():
    tokens = sorted(DEFAULT_NULL_VALUES)
    result = cast([" 12 ", "\t-3\n", None, " NA "] + tokens, "INT")
    assert_clean(result, [12, -3, None, None] + [None] * len(tokens))


def test_custom_null_values_replace_the_defaults():
    result = cast(["-", "NA", "5"], "INT", null_values=frozenset({"-"}))
    assert result.array.to_pylist() == [None, None, 5]
    assert failures(result) == [(1, "integer")]


def test_large_clean_and_dirty_integer_columns_agree():
    numbers = [i * 92_233_720_368_547 - 2**62 for i in range(100_000)]
    clean = cast(pa.array([str(n) for n in numbers]), "BIGINT")
    dirty = cast(pa.array([str(n) for n in numbers] + ["x"]), "BIGINT")
    assert clean.ok and failures(dirty) == [(100_000, "integer")]
    assert clean.array.to_pylist() == numbers == dirty.array.to_pylist()[:-1]


# --- floating point -------------------------------------------------------------------------


def test_doubles_parse_every_number_form():
    result = cast(["1.5", "-2e-3", ".5", "5.", "1E5", " 3.25 ", "+7"], "DOUBLE")
    assert_clean(result, [1.5, -0.002, 0.5, 5.0, 100000.0, 3.25, 7.0])


def test_non_finite_doubles_are_refused_unless_allowed():
    values = ["inf", "-Infinity", "-nan", "1e999", "1,5", "2.5"]
    strict = cast(values, "DOUBLE")
    assert failures(strict) == [(0, "finite"), (1, "finite"), (2, "finite"), (3, "finite"), (4, "number")]
    loose = cast(values, "DOUBLE", allow_non_finite=True)
    assert failures(loose) == [(3, "finite"), (4, "number")]
    got = loose.array.to_pylist()
    assert got[0] == float("inf") and got[1] == float("-inf") and math.isnan(got[2]) and got[5] == 2.5


def test_float_refuses_values_beyond_single_precision():
    assert failures(cast(["3.4e38", "1e39", "-1e39"], "FLOAT")) == [(1, "finite"), (2, "finite")]
    assert cast(["1e39"], "DOUBLE").ok


# --- decimals -------------------------------------------------------------------------------


def test_decimals_are_exact():
    result = cast(["1.23", "-0.5", "123.40", "1.5e2", "0001.20", "999.99", "1.230"], "DECIMAL(5,2)")
    assert result.array.type == pa.decimal128(5, 2)
    expected = ["1.23", "-0.50", "123.40", "150.00", "1.20", "999.99", "1.23"]
    assert_clean(result, [Decimal(v) for v in expected])


def test_decimal_with_full_precision():
    text = "1234567890123456789012345678.0123456789"
    assert_clean(cast([text], "DECIMAL(38,10)"), [Decimal(text)])


def test_decimals_that_would_overflow_arrow_are_refused():
    # pyarrow's own text cast silently wraps these around; they must fail, not turn into other numbers.
    values = ["-1.5e33", "8840363173086872454618471512167170673", "-19e-93", "12.5", "1.5e27"]
    result = cast(values, "DECIMAL(38,10)")
    assert failures(result) == [(0, "decimal"), (1, "decimal"), (2, "decimal")]
    assert result.array.to_pylist()[3:] == [Decimal("12.5"), Decimal("1.5e27")]
    for text in values[:3]:
        assert failures(cast([text], "DECIMAL(38,10)")) == [(0, "decimal")]


def test_decimal_failures():
    result = cast(["1.234", "1234", "1e3", "1.2.3", "abc", "12.5", "1e-3"], "DECIMAL(5,2)")
    assert failures(result) == [
        (0, "decimal"),
        (1, "decimal"),
        (2, "decimal"),
        (3, "decimal"),
        (4, "decimal"),
        (6, "decimal"),
    ]
    assert result.array.to_pylist()[5] == Decimal("12.50")


# --- booleans -------------------------------------------------------------------------------


def test_boolean_words_and_digits():
    trues = ["true", "TRUE", "t", "Yes", "y", "1", "1.0", " yes "]
    falses = ["false", "F", "no", "N", "0", "0.0"]
    assert_clean(
        cast(trues + falses + ["", None], "BOOLEAN"),
        [True] * len(trues) + [False] * len(falses) + [None, None],
    )


def test_boolean_failures():
    assert failures(cast(["true", "2", "maybe", "-1", "NA"], "BOOLEAN")) == [
        (1, "boolean"),
        (2, "boolean"),
        (3, "boolean"),
    ]


# --- dates and times ------------------------------------------------------------------------


def test_dates():
    result = cast(["2021-02-28", "2020-02-29", "1000-01-01", "9999-12-31", " 2021-06-01 "], "DATE")
    assert result.array.type == pa.date32()
    assert_clean(
        result,
        [
            dt.date(2021, 2, 28),
            dt.date(2020, 2, 29),
            dt.date(1000, 1, 1),
            dt.date(9999, 12, 31),
            dt.date(2021, 6, 1),
        ],
    )


def test_date_failures():
    values = [
        "2021-01-01",
        "2021-02-29",
        "0999-12-31",
        "2021-13-01",
        "2021-1-1",
        "2021-01-01 10:00",
        "01/02/2021",
        "2021-04-31",
    ]
    assert failures(cast(values, "DATE")) == [(i, "date") for i in range(1, 8)]


def test_datetimes_with_offsets_become_utc():
    values = [
        "2021-01-01",
        "2021-01-01 10:11",
        "2021-01-01T10:11:12.5",
        "2021-01-01T10:11:12.123456Z",
        "2021-01-01T10:11:12+02:00",
        "2021-01-01T01:00:00-05:30",
        "2021-01-01T00:30:00+0100",
        "2021-01-01 10:11:12.123456000",
    ]
    result = cast(values, "DATETIME")
    assert result.array.type == pa.timestamp("us")
    assert_clean(
        result,
        [
            dt.datetime(2021, 1, 1),
            dt.datetime(2021, 1, 1, 10, 11),
            dt.datetime(2021, 1, 1, 10, 11, 12, 500000),
            dt.datetime(2021, 1, 1, 10, 11, 12, 123456),
            dt.datetime(2021, 1, 1, 8, 11, 12),
            dt.datetime(2021, 1, 1, 6, 30),
            dt.datetime(2020, 12, 31, 23, 30),
            dt.datetime(2021, 1, 1, 10, 11, 12, 123456),
        ],
    )


def test_datetime_failures():
    values = [
        "2021-01-01 10:00",
        "2021-01-01 24:00",
        "2021-01-01 10",
        "2021-02-30 10:00",
        "2021-01-01 10:11:12.1234567",
        "9999-12-31T23:00:00-05:00",
        "0999-01-01 00:00",
        "yesterday",
        "2021-01-01T10:11:12+25:00",
        "2021-01-01 10:60",
    ]
    assert failures(cast(values, "DATETIME")) == [(i, "datetime") for i in range(1, 10)]


def test_all_utc_datetimes_match_the_general_parser():
    values = [f"2021-03-{d:02d}T{d:02d}:15:00Z" for d in range(1, 24)]
    fast = cast(values, "DATETIME")
    slow = cast(values + ["2021-01-01T00:00:00+00:00"], "DATETIME")
    assert fast.ok and slow.ok
    assert fast.array.to_pylist() == slow.array.to_pylist()[:-1]


def test_times():
    result = cast(["10:11", "9:30", "23:59:59.999999", "00:00:00", "12:00:00.5"], "TIME")
    assert result.array.type == pa.time64("us")
    assert_clean(
        result,
        [
            dt.time(10, 11),
            dt.time(9, 30),
            dt.time(23, 59, 59, 999999),
            dt.time(0, 0),
            dt.time(12, 0, 0, 500000),
        ],
    )
    bad = cast(["10:11", "24:00", "10:60", "10", "10:11:12.1234567", "x"], "TIME")
    assert failures(bad) == [(i, "time") for i in range(1, 6)]


# --- text -----------------------------------------------------------------------------------


def test_varchar_keeps_values_exactly_and_counts_characters():
    emoji = "\U0001f600"
    result = cast(["abc", "NA", "", " x ", emoji * 5, emoji * 6, "null", None], "VARCHAR(5)")
    assert result.array.to_pylist() == ["abc", "NA", None, " x ", emoji * 5, None, "null", None]
    assert failures(result) == [(5, "max_length")]


def test_char_accepts_shorter_values():
    assert failures(cast(["ab", "abc", "abcd"], "CHAR(3)")) == [(2, "max_length")]


def test_text_limit_is_in_bytes():
    values = ["x" * 10_000, "x" * 65_535, "x" * 65_536, "\u00e9" * 30_000, "\u00e9" * 33_000]
    result = cast(values, "TEXT")
    assert failures(result) == [(2, "max_length"), (4, "max_length")]
    assert result.array[0].as_py() == "x" * 10_000


def test_explicit_null_values_apply_to_text_too():
    result = cast(["NA", "", "x"], "VARCHAR(10)", null_values=frozenset({"NA"}))
    assert result.array.to_pylist() == [None, "", "x"]


# --- typed (JSON) input ---------------------------------------------------------------------


def test_typed_integers_and_floats_into_integer_columns():
    assert failures(cast(pa.array([1, 2**31, None]), "INT")) == [(1, "integer_range")]
    result = cast(pa.array([1.5, 12.0, float("nan"), 1e20]), "BIGINT")
    assert result.array.to_pylist() == [None, 12, None, None]
    # a NaN is the null word "nan" of the default policy: missing, not wrong
    assert failures(result) == [(0, "integer"), (3, "integer_range")]
    strict = cast(pa.array([float("nan")]), "BIGINT", null_values=frozenset({""}))
    assert failures(strict) == [(0, "integer")]
    assert failures(cast(pa.array([2**64 - 1, 5], pa.uint64()), "BIGINT")) == [(0, "integer_range")]


def test_typed_values_into_double_boolean_and_text():
    nan = cast(pa.array([1.5, float("nan"), 3]), "DOUBLE")
    assert nan.ok and nan.array.to_pylist() == [1.5, None, 3.0]  # NaN is missing under the default null words
    assert failures(cast(pa.array([1.5, float("nan")]), "DOUBLE", null_values=frozenset({""}))) == [(1, "finite")]
    assert failures(cast(pa.array([float("inf")]), "DOUBLE")) == [(0, "finite")]
    assert_clean(cast(pa.array([1, 2**40]), "DOUBLE"), [1.0, float(2**40)])
    assert_clean(cast(pa.array([True, None, False]), "BOOLEAN"), [True, None, False])
    assert_clean(cast(pa.array([1, 0]), "BOOLEAN"), [True, False])
    assert_clean(cast(pa.array([12, None]), "VARCHAR(8)"), ["12", None])
    assert_clean(cast(pa.array([True]), "VARCHAR(8)"), ["true"])
    assert_clean(cast(pa.array([0.25]), "DECIMAL(4,2)"), [Decimal("0.25")])


def test_typed_temporal_values():
    aware = pa.array([dt.datetime(2021, 1, 1, 10, 0)], pa.timestamp("us", tz="UTC")).cast(
        pa.timestamp("us", tz="Europe/Berlin")
    )
    assert_clean(cast(aware, "DATETIME"), [dt.datetime(2021, 1, 1, 10, 0)])
    assert_clean(cast(pa.array([dt.date(2021, 5, 6)]), "DATE"), [dt.date(2021, 5, 6)])
    assert_clean(
        cast(pa.array([dt.datetime(2021, 5, 6, 7, 8, 9)], pa.timestamp("ns")), "DATETIME"),
        [dt.datetime(2021, 5, 6, 7, 8, 9)],
    )


def test_lists_and_objects_are_not_scalars():
    result = cast(pa.array([[1, 2], None, []]), "VARCHAR(10)")
    assert failures(result) == [(0, "scalar"), (2, "scalar")]
    assert result.array.to_pylist() == [None, None, None]


def test_other_array_shapes():
    assert_clean(cast(pa.nulls(3), "INT"), [None, None, None])
    assert_clean(cast(pa.array(["1", "2"], pa.large_string()), "INT"), [1, 2])
    assert failures(cast(pa.chunked_array([["1", "x"], ["2", "y"]]), "INT")) == [
        (1, "integer"),
        (3, "integer"),
    ]
    assert_clean(cast(pa.array(["a", "b", "a"]).dictionary_encode(), "CHAR(1)"), ["a", "b", "a"])


def test_failed_indices_are_positions_in_a_sliced_array():
    values = pa.array(["x", "1", "y", "2", "z"]).slice(1)
    result = cast(values, "INT")
    assert failures(result) == [(1, "integer"), (3, "integer")]
    assert result.array.to_pylist() == [1, None, 2, None]


# --- consistency ----------------------------------------------------------------------------

_ALPHABETS = {
    "number": "0123456789.eE+- xinfaty()_",
    "temporal": "0123456789-:. TZ+",
}
_SEEDS = [
    "2021-02-28",
    "2021-02-29 10:11:12.123456",
    "1999-12-31T23:59:59+01:00",
    "10:11:12.5",
    "12.50",
    "1e3",
    "9223372036854775807",
    "-1.5e-3",
    "inf",
    "yes",
    "007",
]


def _random_text(rnd: random.Random, alphabet: str) -> str:
    if rnd.random() < 0.5:
        chars = list(rnd.choice(_SEEDS))
        for _ in range(rnd.randint(0, 3)):
            i = rnd.randrange(len(chars) + 1)
            if rnd.random() < 0.5:
                chars.insert(i, rnd.choice(alphabet))
            else:
                del chars[i : i + 1]
        return "".join(chars)
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 10)))


@pytest.mark.parametrize(
    "type_text, alphabet",
    [
        ("TINYINT", "number"),
        ("BIGINT", "number"),
        ("DOUBLE", "number"),
        ("FLOAT", "number"),
        ("DECIMAL(6,2)", "number"),
        ("BOOLEAN", "number"),
        ("DATE", "temporal"),
        ("DATETIME", "temporal"),
        ("TIME", "temporal"),
    ],
)
def test_a_cells_outcome_does_not_depend_on_its_neighbours(type_text, alphabet):
    # A lone cell takes the fast path when it is clean; beside a bad cell it takes the
    # per-cell path. Both must agree on the value and on the rule.
    rnd = random.Random(type_text)
    texts = [_random_text(rnd, _ALPHABETS[alphabet]) for _ in range(120)]
    together = cast(texts + ["@"], type_text)
    rules = dict(failures(together))
    for i, text in enumerate(texts):
        alone = cast([text], type_text)
        assert dict(failures(alone)).get(0) == rules.get(i), text
        a, b = alone.array[0].as_py(), together.array[i].as_py()
        assert a == b or (math.isnan(a) and math.isnan(b)), text


@pytest.mark.parametrize(
    "text, type_text, rule",
    [
        ("0x1F", "BIGINT", "integer"),  # Arrow's integer parser would take hex
        ("0X1f", "INT", "integer"),
        ("2021-01-01 10", "DATETIME", "datetime"),  # Arrow would take an hour without minutes
        ("0001-01-01", "DATE", "date"),
        ("0001-01-01 00:00", "DATETIME", "datetime"),
        ("10", "TIME", "time"),
        ("1.2300000000000000000000000000000000000000001", "DECIMAL(5,2)", "decimal"),
    ],
)
def test_a_lone_cell_is_judged_by_the_same_rules(text, type_text, rule):
    assert failures(cast([text], type_text)) == [(0, rule)]


def test_long_zero_padding_is_exact():
    assert_clean(cast(["1.2300000000000000000000000000000000000000000"], "DECIMAL(5,2)"), [Decimal("1.23")])
    assert_clean(cast(["0" * 30 + "42"], "BIGINT"), [42])


# --- messages -------------------------------------------------------------------------------


def test_every_rule_has_a_message_and_parametrised_ones_name_the_type():
    assert set(RULE_MESSAGES) == set(RULES)
    assert rule_message("integer", parse_sql_type("INT")) == "not a whole number"
    assert "outside the range of INT" in rule_message("integer_range", parse_sql_type("INT"))
    assert "longer than 64 characters" in rule_message("max_length", parse_sql_type("VARCHAR(64)"))
    assert "65,535 bytes" in rule_message("max_length", parse_sql_type("TEXT"))
    assert "DECIMAL(5,2)" in rule_message("decimal", parse_sql_type("DECIMAL(5,2)"))


@pytest.mark.parametrize(
    "type_text",
    [
        "INT",
        "TINYINT",
        "BIGINT",
        "DOUBLE",
        "FLOAT",
        "DECIMAL(5,2)",
        "BOOLEAN",
        "DATE",
        "DATETIME",
        "TIME",
        "VARCHAR(3)",
        "CHAR(2)",
    ],
)
def test_rule_messages_carry_no_value(type_text):
    secret = "SECRET-12.5"
    result = cast([secret, secret + "e999", "1" * 40], type_text)
    assert not result.ok
    for rule in result.rules.to_pylist():
        message = rule_message(rule, parse_sql_type(type_text))
        assert message and "SECRET" not in message and "12.5" not in message and "1" * 20 not in message


# --- inference ------------------------------------------------------------------------------


def infer(*batches) -> str:
    inference = TypeInference()
    for batch in batches:
        inference.update(
            pa.array(batch, pa.string())
            if all(v is None or isinstance(v, str) for v in batch)
            else pa.array(batch)
        )
    return str(inference.result())


@pytest.mark.parametrize(
    "batches, expected",
    [
        ((["1", "2"], ["3.5"]), "DOUBLE"),
        ((["1", "2"], ["three"]), "VARCHAR(255)"),
        ((["short"], ["x" * 300]), "TEXT"),
        ((["yes", "No"], ["Y", "n", "TRUE", "f"]), "BOOLEAN"),
        ((["0", "1", "1"],), "BIGINT"),
        ((["1", "NA", ""], [None, " 7 "]), "BIGINT"),
        ((["9223372036854775807"], ["9223372036854775808"]), "DOUBLE"),
        ((["2021-01-01"], ["2021-02-03"]), "DATE"),
        ((["2021-01-01"], ["2021-02-03 10:00:00+01:00"]), "DATETIME"),
        ((["", "NA", None], ["null"]), "VARCHAR(255)"),
        ((["007", "12"],), "VARCHAR(255)"),
        ((["1.5", "inf"],), "VARCHAR(255)"),
        (([1, 2],), "BIGINT"),
        (([1.0, 2.0],), "DOUBLE"),
        (([True, None],), "BOOLEAN"),
        (([[1], [2]],), "TEXT"),
    ],
)
def test_inference(batches, expected):
    assert infer(*batches) == expected


def test_inference_sees_values_beyond_the_head_of_a_batch():
    assert infer(["1"] * 5000 + ["x"]) == "VARCHAR(255)"
    assert infer(["1"] * 5000 + ["2.5"]) == "DOUBLE"


@pytest.mark.parametrize(
    "batches",
    [
        (["1", "2"], ["3.5", "-1e3"]),
        (["2021-01-01"], ["2021-02-03T10:00:00Z", ""]),
        (["yes", " no "],),
        (["a", "NA"], ["b"]),
        ([" 12 ", "N/A"], ["+3"]),
    ],
)
def test_an_inferred_type_casts_the_data_it_came_from(batches):
    inference = TypeInference()
    for batch in batches:
        inference.update(pa.array(batch))
    sql_type = inference.result()
    for batch in batches:
        assert cast_column(pa.array(batch), sql_type).ok
