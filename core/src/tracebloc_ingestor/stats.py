"""Mergeable statistics that ``tb_describe`` hooks fold batches into.

Every statistic is a frozen value with ``merge``; partial results from batches (and
from the shards of a scaled-out Job) combine in any order to the same total.
"""

from __future__ import annotations

import math
from typing import Mapping, Protocol

import attrs


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


@attrs.frozen
class Numeric:
    """Count, nulls, mean and standard deviation of a numeric column.

    Minimum and maximum are kept for checks inside the cluster but are not part of
    ``to_json``: they are cell values, and cell values do not leave.
    """

    count: int = 0
    nulls: int = 0
    minimum: float | None = None
    maximum: float | None = None
    total: float = 0.0
    total_sq: float = 0.0

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
        mean = self.total / self.count if self.count else None
        std = None
        if self.count > 1 and mean is not None:
            var = max(self.total_sq / self.count - mean * mean, 0.0)
            std = math.sqrt(var)
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
