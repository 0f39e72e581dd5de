"""Per-series state carried across batches, in bounded memory, and the per-series order rule.

Rows of one series (a forecasting panel's ``series_column``, a classified sequence) may
be spread over the whole input, so each series' last time, the row it came from and its
number of rows are carried from batch to batch: one entry per series, however long the
series. Up to ``memory_limit`` series are kept in a dict; when a run sees more, every
entry moves to a SQLite file in a private temporary folder (``TMPDIR``) and the run goes
on from there, so memory stays bounded whatever the number of series. The file holds
series ids (cell values): it never leaves the machine and is deleted when the tracker is
closed (at the end of the run) or, failing that, when the process exits.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import weakref
from collections import Counter
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SeriesTracker", "order_breaks", "length_bucket"]

MEMORY_LIMIT = 100_000


class SeriesTracker:
    """Each series' last time, its row and its row count; in a dict, then in a SQLite file."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT) -> None:
        self.memory_limit = memory_limit
        self._memory: dict[str, list] = {}
        self._db: sqlite3.Connection | None = None
        self._cleanup: weakref.finalize | None = None

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def __len__(self) -> int:
        if self._db is None:
            return len(self._memory)
        return self._db.execute("SELECT COUNT(*) FROM series").fetchone()[0]

    def advance(self, keys: list[str], last_times: list, last_rows: list[int], counts: list[int]) -> tuple[list, list]:
        """For distinct ``keys``: the last time and row carried so far (None for a new series);
        then record each key's new last time and row and add its count."""
        if self._db is None:
            carried = self._advance_in_memory(keys, last_times, last_rows, counts)
            if len(self._memory) > self.memory_limit:
                self._spill()
            return carried
        return self._advance_on_disk(keys, last_times, last_rows, counts)

    def lengths(self) -> Iterator[tuple[int, int]]:
        """(length, number of series of that length) over every series seen."""
        if self._db is None:
            yield from Counter(entry[2] for entry in self._memory.values()).items()
        else:
            yield from self._db.execute("SELECT n, COUNT(*) FROM series GROUP BY n")

    def close(self) -> None:
        self._memory = {}
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._cleanup is not None:
            self._cleanup()

    # -- in memory -------------------------------------------------------------------------

    def _advance_in_memory(self, keys, last_times, last_rows, counts) -> tuple[list, list]:
        prev_time, prev_row = [], []
        memory = self._memory
        for key, time, row, n in zip(keys, last_times, last_rows, counts):
            entry = memory.get(key)
            if entry is None:
                prev_time.append(None)
                prev_row.append(None)
                memory[key] = [time, row, n]
            else:
                prev_time.append(entry[0])
                prev_row.append(entry[1])
                entry[0], entry[1], entry[2] = time, row, entry[2] + n
        return prev_time, prev_row

    # -- on disk ---------------------------------------------------------------------------

    def _spill(self) -> None:
        folder = tempfile.mkdtemp(prefix="tb_series_")
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, True)
        # A scratch file: no journal, no fsync; it is thrown away with the run.
        db = sqlite3.connect(str(Path(folder) / "series.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE series (id TEXT PRIMARY KEY, t, r INTEGER, n INTEGER) WITHOUT ROWID")
        db.execute("CREATE TABLE batch (i INTEGER PRIMARY KEY, id TEXT, t, r INTEGER, n INTEGER)")
        db.execute("BEGIN")
        db.executemany("INSERT INTO series VALUES (?, ?, ?, ?)", ((k, *v) for k, v in self._memory.items()))
        db.execute("COMMIT")
        self._db = db
        self._memory = {}

    def _advance_on_disk(self, keys, last_times, last_rows, counts) -> tuple[list, list]:
        db = self._db
        db.execute("BEGIN")
        db.execute("DELETE FROM batch")
        db.executemany("INSERT INTO batch VALUES (?, ?, ?, ?, ?)", zip(range(len(keys)), keys, last_times, last_rows, counts))
        carried = db.execute("SELECT s.t, s.r FROM batch b LEFT JOIN series s ON s.id = b.id ORDER BY b.i").fetchall()
        db.execute(
            "INSERT INTO series (id, t, r, n) SELECT id, t, r, n FROM batch WHERE true"
            " ON CONFLICT(id) DO UPDATE SET t = excluded.t, r = excluded.r, n = series.n + excluded.n"
        )
        db.execute("COMMIT")
        return [c[0] for c in carried], [c[1] for c in carried]


def order_breaks(tracker: SeriesTracker, ids: pa.Array, times: pa.Array, rows: pa.Array) -> list[tuple[int, int]]:
    """Every row whose time is earlier than the one before it in its series: (row, that earlier row).

    ``ids`` (non-null strings), ``times`` (non-null int64 or float64) and ``rows`` (record
    numbers, ascending) are one batch's rows; the comparison runs in Arrow, and Python
    loops only over the series present in the batch. The tracker carries each series'
    last time into the next batch and counts its rows.
    """
    n = len(ids)
    if n == 0:
        return []
    table = pa.table({"id": ids, "time": times, "row": rows}).sort_by([("id", "ascending"), ("row", "ascending")])
    ids = table.column("id").combine_chunks()
    times = table.column("time").combine_chunks()
    rows = table.column("row").combine_chunks()
    same = pc.equal(ids.slice(1), ids.slice(0, n - 1))
    is_start = pa.concat_arrays([pa.array([True]), pc.invert(same)])
    starts = pc.indices_nonzero(is_start).cast(pa.int64())
    ends = pa.concat_arrays([pc.subtract(starts.slice(1), 1), pa.array([n - 1], starts.type)])
    carried_time, carried_row = tracker.advance(
        pc.take(ids, starts).to_pylist(),
        pc.take(times, ends).to_pylist(),
        pc.take(rows, ends).to_pylist(),
        pc.subtract(ends, pc.subtract(starts, 1)).to_pylist(),
    )
    # each row against the row before it; a series' first row here against its carried state
    prev_time = pa.concat_arrays([pa.nulls(1, times.type), times.slice(0, n - 1)])
    prev_row = pa.concat_arrays([pa.nulls(1, rows.type), rows.slice(0, n - 1)])
    prev_time = pc.replace_with_mask(prev_time, is_start, pa.array(carried_time, times.type))
    prev_row = pc.replace_with_mask(prev_row, is_start, pa.array(carried_row, rows.type))
    earlier = pc.indices_nonzero(pc.fill_null(pc.less(times, prev_time), False))
    return list(zip(pc.take(rows, earlier).to_pylist(), pc.take(prev_row, earlier).to_pylist()))


def length_bucket(length: int) -> str:
    """A power-of-two range of series lengths: ``1``, ``2-3``, ``4-7``, ``8-15``, ..."""
    low = 1 << (length.bit_length() - 1)
    return "1" if length == 1 else f"{low}-{2 * low - 1}"
