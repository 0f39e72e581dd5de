"""Per-series state across batches: the order rule against a plain model, in memory and on disk."""

from __future__ import annotations

import tempfile

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from tracebloc_ingestor_timeseries.series_state import SeriesTracker, length_bucket, order_breaks


def run_batches(tracker: SeriesTracker, rows: list[tuple[str, int]], batch_size: int) -> list[tuple[int, int]]:
    """Feed (series, time) rows in batches; every break found, as (row, earlier row)."""
    found = []
    for start in range(0, len(rows), batch_size):
        part = rows[start : start + batch_size]
        found += order_breaks(
            tracker,
            pa.array([key for key, _ in part], pa.string()),
            pa.array([time for _, time in part], pa.int64()),
            pa.array(range(start + 1, start + 1 + len(part)), pa.int64()),
        )
    return sorted(found)


def model(rows: list[tuple[str, int]]) -> list[tuple[int, int]]:
    """The rule, one row at a time: a time earlier than its series' previous one."""
    last: dict[str, tuple[int, int]] = {}
    found = []
    for number, (key, time) in enumerate(rows, start=1):
        if key in last and time < last[key][0]:
            found.append((number, last[key][1]))
        last[key] = (time, number)
    return found


ROWS = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), st.integers(-3, 3)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, batch_size=st.integers(1, 9), limit=st.sampled_from([1, 2, 1000]))
def test_order_breaks_match_the_row_by_row_rule(rows, batch_size, limit):
    tracker = SeriesTracker(memory_limit=limit)
    try:
        assert run_batches(tracker, rows, batch_size) == model(rows)
        lengths = {}
        for key, _ in rows:
            lengths[key] = lengths.get(key, 0) + 1
        counted = {}
        for length in lengths.values():
            counted[length] = counted.get(length, 0) + 1
        assert dict(tracker.lengths()) == counted
        assert len(tracker) == len(lengths)
    finally:
        tracker.close()


def test_beyond_its_limit_the_state_moves_to_a_file_that_close_removes(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tracker = SeriesTracker(memory_limit=3)
    rows = [(f"s{i}", i) for i in range(5)] + [("s1", 0), ("s4", 9)]
    assert run_batches(tracker, rows[:3], 3) == [] and not tracker.spilled
    assert list(tmp_path.iterdir()) == []
    assert run_batches(tracker, rows, 10) == [(6, 2)]  # s1 again, at 0, after its 1 of row 2
    assert tracker.spilled and len(tracker) == 5
    (folder,) = tmp_path.iterdir()
    assert (folder / "series.sqlite").is_file()
    tracker.close()
    assert list(tmp_path.iterdir()) == []


def test_length_buckets():
    assert [length_bucket(n) for n in (1, 2, 3, 4, 7, 8, 1000, 1024)] == ["1", "2-3", "2-3", "4-7", "4-7", "8-15", "512-1023", "1024-2047"]
