"""Mergeable statistics that ``describe`` stages and ``tb_describe`` hooks fold batches into.

Every statistic is a frozen value with ``merge``; partial results from batches (and
from the shards of a scaled-out Job) combine in any order to the same total. The sums of
:class:`Numeric` are exact (rational numbers, see :func:`exact_sum`), so the same values
give the same mean and standard deviation however they were split into batches or shards.
:func:`dump_stats` and :func:`load_stats` write statistics as JSON and read them back
without losing a bit, for the shards of one run to merge through the database.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping, Protocol, Union

import attrs
import numpy as np

__all__ = ["Numeric", "Stat", "Tally", "Total", "dump_stats", "exact_sum", "load_stats", "merge_stats"]

#: an exact sum, or a float where it is not finite (an overflowing square)
Exact = Union[Fraction, float]


class Stat(Protocol):
    def merge(self, other: "Stat") -> "Stat": ...

    def to_json(self) -> object: ...


@attrs.frozen
class Total:
    """A plain count."""

    n: int = 0

    def merge(self, other: "Total") -> "Total":
        return Total(self.n + other.n)

    def to_json(self) -> int:
        return self.n


@attrs.frozen
class Tally:
    """Counts per key (labels, image modes, ...)."""

    counts: Mapping[str, int] = attrs.field(factory=dict, converter=dict)

    def merge(self, other: "Tally") -> "Tally":
        merged = dict(self.counts)
        for key, n in other.counts.items():
            merged[key] = merged.get(key, 0) + n
        return Tally(merged)

    def to_json(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def _exact(value: Any) -> Exact:
    """A number as an exact fraction (a float converts without rounding); inf and NaN stay floats."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return value
    return Fraction(value)


@attrs.frozen
class Numeric:
    """Count, nulls, mean and standard deviation of a numeric column.

    ``total`` and ``total_sq`` (the sum of the values and of their squares) may be given as
    floats or ints; they are kept as exact fractions, so merging is exact and does not
    depend on the order. Minimum and maximum are kept for checks inside the cluster but are
    not part of ``to_json``: they are cell values, and cell values do not leave.
    """

    count: int = 0
    nulls: int = 0
    minimum: float | None = None
    maximum: float | None = None
    total: Exact = attrs.field(default=Fraction(0), converter=_exact)
    total_sq: Exact = attrs.field(default=Fraction(0), converter=_exact)

    def merge(self, other: "Numeric") -> "Numeric":
        def pick(f, a, b):
            return b if a is None else a if b is None else f(a, b)

        return Numeric(
            self.count + other.count,
            self.nulls + other.nulls,
            pick(min, self.minimum, other.minimum),
            pick(max, self.maximum, other.maximum),
            self.total + other.total,
            self.total_sq + other.total_sq,
        )

    def to_json(self) -> dict:
        mean = std = None
        if self.count:
            exact_mean = self.total / self.count
            mean = float(exact_mean)
            if self.count > 1:
                var = self.total_sq / self.count - exact_mean * exact_mean
                std = math.sqrt(max(float(var), 0.0))
        return {
            "count": self.count,
            "nulls": self.nulls,
            "mean": mean,
            "std": std,
        }


def merge_stats(into: dict[str, Stat], part: Mapping[str, Stat] | None) -> dict[str, Stat]:
    """Merge ``part`` into ``into`` key by key (in place) and return ``into``."""
    for key, stat in (part or {}).items():
        have = into.get(key)
        into[key] = stat if have is None else have.merge(stat)
    return into


def exact_sum(values: Any) -> Exact:
    """The exact sum of float64 values (an array, list or Arrow array without nulls) as a fraction.

    Each float is ``m * 2**e`` with a 53-bit integer ``m``; the integers are summed per
    exponent in int64 (split in two halves so that no sum overflows) and the groups are
    combined as one Python integer. No rounding happens anywhere, so any split of the
    values sums to the same number. A non-finite value makes the sum a float (inf or NaN).
    """
    a = np.asarray(values, dtype=np.float64).ravel()
    if not a.size:
        return Fraction(0)
    if not np.isfinite(a).all():
        return float(a.sum())
    mantissa, exponent = np.frexp(a)
    m = (mantissa * (1 << 53)).astype(np.int64)
    e = exponent.astype(np.int64) - 53
    order = np.argsort(e, kind="stable")
    m, e = m[order], e[order]
    starts = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
    high = m >> 26
    low = m - (high << 26)
    high_sums = np.add.reduceat(high, starts)
    low_sums = np.add.reduceat(low, starts)
    base = int(e[0])
    total = 0
    for exp, hi, lo in zip(e[starts].tolist(), high_sums.tolist(), low_sums.tolist()):
        total += ((hi << 26) + lo) << (exp - base)
    return Fraction(total * (1 << base)) if base >= 0 else Fraction(total, 1 << -base)


# -- lossless JSON, for the shards of one run to merge through the database

def _number(value: Exact | None) -> Any:
    if value is None:
        return None
    if isinstance(value, Fraction):
        return [value.numerator, value.denominator]
    return {"float": float(value).hex()}


def _from_number(value: Any) -> Exact | None:
    if value is None:
        return None
    if isinstance(value, list):
        return Fraction(int(value[0]), int(value[1]))
    if isinstance(value, dict):
        return float.fromhex(value["float"])
    raise ValueError(f"not a serialised number: {type(value).__name__}")


def _bound(value: float | None) -> Any:
    return None if value is None else float(value).hex()


def dump_stats(stats: Mapping[str, Stat]) -> dict[str, Any]:
    """Statistics as JSON-ready data that :func:`load_stats` turns back into equal objects."""
    out: dict[str, Any] = {}
    for name, stat in stats.items():
        if isinstance(stat, Total):
            out[name] = {"total": stat.n}
        elif isinstance(stat, Tally):
            out[name] = {"tally": dict(stat.counts)}
        elif isinstance(stat, Numeric):
            out[name] = {
                "numeric": {
                    "count": stat.count,
                    "nulls": stat.nulls,
                    "min": _bound(stat.minimum),
                    "max": _bound(stat.maximum),
                    "total": _number(stat.total),
                    "total_sq": _number(stat.total_sq),
                }
            }
        else:
            raise TypeError(f"statistic {name!r} is a {type(stat).__name__}: only Total, Tally and Numeric can be merged across shards")
    return out


def load_stats(data: Mapping[str, Any]) -> dict[str, Stat]:
    """The statistics :func:`dump_stats` wrote."""
    out: dict[str, Stat] = {}
    for name, item in data.items():
        if "total" in item:
            out[name] = Total(int(item["total"]))
        elif "tally" in item:
            out[name] = Tally({str(k): int(v) for k, v in item["tally"].items()})
        else:
            n = item["numeric"]
            out[name] = Numeric(
                count=int(n["count"]),
                nulls=int(n["nulls"]),
                minimum=None if n["min"] is None else float.fromhex(n["min"]),
                maximum=None if n["max"] is None else float.fromhex(n["max"]),
                total=_from_number(n["total"]),
                total_sq=_from_number(n["total_sq"]),
            )
    return out
