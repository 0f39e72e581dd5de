"""Per-batch aggregation of the input for the local data report, in bounded memory.

:class:`DataProfile` sees every batch of the first pass over the input, as the category
discovered it (text as written for CSV, native types for Parquet), and keeps per column:
non-null and null counts; for numbers an exact histogram whose equal bins widen by
merging pairs whenever a value falls outside them (so the bins come from a first look at
the data and stay at most :data:`MAX_BINS`); for text the most frequent values (a
bounded counter) and a histogram of lengths; for dates the range and a histogram.
Issues are grouped by severity, rule and column with a few examples each. Nothing here
grows with the number of rows.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..batches import HOST_PREFIX

__all__ = ["Bins", "ColumnProfile", "DataProfile", "IssueGroups", "TopValues"]

MAX_BINS = 64
#: distinct values a column's counter holds before it drops the rarest
TOP_CAPACITY = 512
#: columns profiled; wider inputs are counted but not profiled past this
MAX_COLUMNS = 500
EXAMPLES_PER_GROUP = 5
MAX_ISSUE_GROUPS = 500
MAX_SHOWN_TEXT = 80
NUMBER_PATTERN = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
#: the share of values of a numeric-looking text column that may fail to read as numbers
MAX_MISFIT_SHARE = 0.01
PROBE_VALUES = 64


class Bins:
    """Exact counts in equal bins of width ``2**exp``, edges at multiples of the width.

    When a value falls outside :data:`MAX_BINS` bins, the width doubles and neighbouring
    bins merge; because edges sit on multiples of the width, merged counts stay exact.
    Whole numbers never get bins narrower than 1.
    """

    def __init__(self) -> None:
        self.exp: int | None = None
        self.low = 0  # index of the first bin: it starts at low * width
        self.counts = np.zeros(0, dtype=np.int64)
        self.integral = True

    def add(self, values: np.ndarray) -> None:
        values = values[np.isfinite(values)]
        if values.size == 0:
            return
        self.integral = self.integral and bool(np.all(values == np.floor(values)))
        vmin, vmax = float(values.min()), float(values.max())
        if self.exp is None:
            span = vmax - vmin
            guess = span / (MAX_BINS / 2) if span > 0 else max(abs(vmin), 1.0) / (MAX_BINS / 2)
            self.exp = math.floor(math.log2(guess)) if guess > 0 else 0
            if self.integral:
                self.exp = max(self.exp, 0)
            self.low = math.floor(vmin / 2.0**self.exp)
        # keep bin indices exact in float64 (2**52) and the span within MAX_BINS
        while max(abs(vmin), abs(vmax)) / 2.0**self.exp > 2.0**52:
            self._double()
        while True:
            width = 2.0**self.exp
            low = min(self.low, math.floor(vmin / width)) if self.counts.size else math.floor(vmin / width)
            high = max(self.low + self.counts.size - 1, math.floor(vmax / width)) if self.counts.size else math.floor(vmax / width)
            if high - low + 1 <= MAX_BINS:
                break
            self._double()
        if low < self.low or high >= self.low + self.counts.size:
            grown = np.zeros(high - low + 1, dtype=np.int64)
            grown[self.low - low : self.low - low + self.counts.size] = self.counts
            self.counts, self.low = grown, low
        index = np.floor(values / width).astype(np.int64) - self.low
        self.counts += np.bincount(index, minlength=self.counts.size)

    def _double(self) -> None:
        assert self.exp is not None
        self.exp += 1
        if not self.counts.size:
            self.low = math.floor(self.low / 2)
            return
        old = np.arange(self.low, self.low + self.counts.size)
        new_low = math.floor(self.low / 2)
        merged = np.bincount(np.floor_divide(old, 2) - new_low, weights=self.counts)
        self.counts, self.low = merged.astype(np.int64), new_low

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def edges_and_counts(self, most: int | None = None) -> tuple[list[float], list[int]]:
        """Edges and counts from the first to the last bin holding a value.

        ``most`` caps the number of bins for display, by merging neighbours (exactly, like
        :meth:`_double`); by default about twice the square root of the count, 8 to 40.
        """
        if self.exp is None or not self.counts.size or not self.counts.any():
            return [], []
        if most is None:
            most = int(min(40, max(8, 2 * math.sqrt(self.total))))
        exp, low, counts = self.exp, self.low, self.counts
        while True:
            nonzero = np.nonzero(counts)[0]
            first, last = int(nonzero[0]), int(nonzero[-1])
            if last - first + 1 <= most:
                break
            index = np.arange(low, low + counts.size)
            low2 = math.floor(low / 2)
            counts = np.bincount(np.floor_divide(index, 2) - low2, weights=counts).astype(np.int64)
            exp, low = exp + 1, low2
        width = 2.0**exp
        edges = [(low + i) * width for i in range(first, last + 2)]
        return edges, counts[first : last + 1].tolist()


class TopValues:
    """The most frequent values, counted exactly while there are few distinct ones.

    Each batch contributes its :data:`TOP_CAPACITY` most frequent values; when the counter
    holds twice that many, the rarest half is dropped and the counts become approximate.
    """

    def __init__(self, capacity: int = TOP_CAPACITY) -> None:
        self.capacity = capacity
        self.counts: dict[Any, int] = {}
        self.approximate = False

    def add(self, values: pa.Array) -> None:
        if len(values) == 0:
            return
        found = pc.value_counts(values)
        if len(found) > self.capacity:
            self.approximate = True
            keep = pc.select_k_unstable(found.field("counts"), k=self.capacity, sort_keys=[("dummy", "descending")])
            found = pc.take(found, keep)
        for value, n in zip(found.field("values").to_pylist(), found.field("counts").to_pylist()):
            self.counts[value] = self.counts.get(value, 0) + n
        if len(self.counts) > 2 * self.capacity:
            self.approximate = True
            kept = sorted(self.counts.items(), key=lambda kv: -kv[1])[: self.capacity]
            self.counts = dict(kept)

    @property
    def distinct(self) -> int:
        return len(self.counts)

    def top(self, n: int = 15) -> list[tuple[Any, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]


class ColumnProfile:
    """What the report shows of one source column."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.present = 0  # non-null, non-empty values
        self.nulls = 0
        self.numeric_ok = True
        self.date_ok = True
        self.numbers = Bins()
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.total = 0.0
        self.finite = 0
        self.dates = Bins()  # seconds since the epoch
        self.first_date: int | None = None
        self.last_date: int | None = None
        self.top = TopValues()
        self.lengths = Bins()
        self.length_total = 0
        self.length_count = 0  # values whose length was counted (text only)
        self.counted_from_start: bool | None = None  # whether text counting began with the first value
        self.not_numbers = 0  # values of a numeric column that are not numbers
        self.arrow_type = ""

    # -- feeding ---------------------------------------------------------------------

    def add(self, array: pa.Array) -> None:
        self.arrow_type = self.arrow_type or str(array.type)
        kind = array.type
        if pa.types.is_dictionary(kind):
            array = array.cast(kind.value_type)
            kind = array.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            self._add_text(array)
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            self.date_ok = False
            values = pc.drop_null(array)
            self.nulls += len(array) - len(values)
            self.present += len(values)
            self._add_numbers(values.cast(pa.float64()))
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            self.numeric_ok = False
            values = pc.drop_null(array)
            self.nulls += len(array) - len(values)
            self.present += len(values)
            self._add_dates(values)
        else:  # booleans, and anything else, as text
            try:
                text = array.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                text = pa.nulls(len(array), pa.string())
            self._add_text(text)

    def _add_text(self, array: pa.Array) -> None:
        empty = pc.fill_null(pc.equal(array, ""), True)
        values = pc.filter(array, pc.invert(empty))
        self.nulls += len(array) - len(values)
        self.present += len(values)
        if not len(values):
            return
        if self.numeric_ok and (self._parsed(values, pa.float64(), self._add_numbers) or self._mostly_numbers(values)):
            return  # numbers: their values and lengths are not shown
        self.numeric_ok = False
        if self.date_ok and self._parsed(values, pa.timestamp("s"), self._add_dates):
            return
        if self.date_ok or self.counted_from_start is None:
            # counting starts with the first batch that is neither numbers nor dates
            self.counted_from_start = self.present == len(values)
            self.top.approximate = self.top.approximate or not self.counted_from_start
        self.date_ok = False
        self.top.add(values)
        lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False).astype(np.float64)
        self.lengths.add(lengths)
        self.length_total += int(lengths.sum())
        self.length_count += len(values)

    def _mostly_numbers(self, values: pa.Array) -> bool:
        """A few values that are not numbers (a validation error) leave a numeric column numeric."""
        looks = pc.match_substring_regex(values, NUMBER_PATTERN)
        misfits = len(values) - pc.sum(looks).as_py()
        if self.not_numbers + misfits > MAX_MISFIT_SHARE * self.present:
            return False
        try:
            numbers = pc.utf8_trim_whitespace(pc.filter(values, looks)).cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        self.not_numbers += misfits
        self._add_numbers(numbers)
        return True

    @staticmethod
    def _parsed(values: pa.Array, kind: pa.DataType, add) -> bool:
        """Whether every value reads as ``kind`` (also after trimming spaces); if so, ``add`` them."""
        # a failing cast of a whole batch is slow: a few values tell most text columns apart
        if len(values) > PROBE_VALUES and not ColumnProfile._readable(values.slice(0, PROBE_VALUES), kind):
            return False
        for attempt in (values, None):
            try:
                parsed = (attempt if attempt is not None else pc.utf8_trim_whitespace(values)).cast(kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            add(parsed)
            return True
        return False

    @staticmethod
    def _readable(values: pa.Array, kind: pa.DataType) -> bool:
        for attempt in (values, pc.utf8_trim_whitespace(values)):
            try:
                attempt.cast(kind)
                return True
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        return False

    def _add_numbers(self, values: pa.Array) -> None:
        data = values.to_numpy(zero_copy_only=False)
        finite = data[np.isfinite(data)]
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            self.minimum = low if self.minimum is None else min(self.minimum, low)
            self.maximum = high if self.maximum is None else max(self.maximum, high)
            self.total += float(finite.sum())
            self.finite += int(finite.size)
        self.numbers.add(finite)

    def _add_dates(self, values: pa.Array) -> None:
        # whole seconds are enough for a date range; fractions and time zones are dropped on purpose
        seconds = values.cast(pa.timestamp("s"), safe=False).cast(pa.int64()).to_numpy(zero_copy_only=False)
        if not seconds.size:
            return
        low, high = int(seconds.min()), int(seconds.max())
        self.first_date = low if self.first_date is None else min(self.first_date, low)
        self.last_date = high if self.last_date is None else max(self.last_date, high)
        self.dates.add(seconds.astype(np.float64))

    # -- reading -----------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self.present + self.nulls

    @property
    def kind(self) -> str:
        """empty, numeric, date, text (short values worth counting) or long_text."""
        if not self.present:
            return "empty"
        if self.numeric_ok:
            return "numeric"
        if self.date_ok and self.first_date is not None:
            return "date"
        mean_length = self.length_total / self.length_count if self.length_count else 0
        return "text" if mean_length <= 40 else "long_text"

    @property
    def mean(self) -> float | None:
        return self.total / self.finite if self.finite else None


class IssueGroups:
    """Issues grouped by severity, rule and column: counts and the first few examples."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str, str | None], dict] = {}
        self.other = 0  # issues of groups past MAX_ISSUE_GROUPS

    def add(self, issue) -> None:
        key = (issue.severity, issue.rule, issue.column)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) >= MAX_ISSUE_GROUPS:
                self.other += 1
                return
            group = self.groups[key] = {"count": 0, "message": issue.message, "examples": []}
        group["count"] += 1
        if len(group["examples"]) < EXAMPLES_PER_GROUP:
            value = issue.value
            if value is not None:
                value = str(value)
                value = value if len(value) <= MAX_SHOWN_TEXT else value[: MAX_SHOWN_TEXT - 1] + "…"
            group["examples"].append({"row": issue.row, "file": issue.file, "value": value})

    def sorted(self) -> list[tuple[tuple[str, str, str | None], dict]]:
        return sorted(self.groups.items(), key=lambda kv: (kv[0][0] != "error", -kv[1]["count"], kv[0][1], kv[0][2] or ""))


class DataProfile:
    """Every column of the first pass over the input, and the issues of the run."""

    def __init__(self) -> None:
        self.columns: dict[str, ColumnProfile] = {}
        self.rows = 0
        self.batches = 0
        self.unprofiled: set[str] = set()
        self.issues = IssueGroups()

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        self.batches += 1
        for name, array in zip(batch.schema.names, batch.columns):
            if name.startswith(HOST_PREFIX):
                continue
            column = self.columns.get(name)
            if column is None:
                if len(self.columns) >= MAX_COLUMNS:
                    self.unprofiled.add(name)
                    continue
                column = self.columns[name] = ColumnProfile(name)
            column.add(array)

    def add_issues(self, issues: Iterable) -> None:
        for issue in issues:
            self.issues.add(issue)
