"""Record identity (``data_id``): content hashes, id columns and random ids.

``content_hash`` (the default) makes re-runs idempotent: the id is a salted SHA-256
of the record's source cells, so the same input always gets the same ids. Identical
records are distinct samples, so the k-th repeat of the same content gets its own id
derived from the first one and k. Repeats are found while the input streams, in
bounded memory (:class:`RepeatTracker`), so one pass over the input can give every id.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FIELD_SEP = "\x1f"
_NULL = "\x00"


def _as_text(arr: pa.Array) -> pa.Array:
    """The column as ``string`` (or ``large_binary`` for bytes), whatever type a reader gave it."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_nested(t):
        # no Arrow cast to text exists for lists and structs; their Python form is stable
        return pa.array([None if v is None else repr(v) for v in arr.to_pylist()], pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t) or pa.types.is_fixed_size_binary(t):
        return pc.cast(arr, pa.large_binary())
    return arr if pa.types.is_string(t) else pc.cast(arr, pa.string())


def canonical_rows(batch: pa.RecordBatch, columns: Sequence[str]) -> list[bytes]:
    """One byte string per row: the named columns' text joined with a unit separator.

    Every column is taken as text of one Arrow type first, so that columns of Arrow's
    other string types (``large_string`` from pandas 3 and polars, views, dictionaries)
    give the same row as plain ``string`` would; bytes columns join as bytes.
    """
    parts = []
    for name in columns:
        arr = batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, pa.string())
        parts.append(_as_text(arr))
    if not parts:
        return [b""] * batch.num_rows
    if all(pa.types.is_string(p.type) for p in parts):
        joined = pc.binary_join_element_wise(*parts, _FIELD_SEP, null_handling="replace", null_replacement=_NULL)
        return pc.cast(joined, pa.binary()).to_pylist()
    parts = [pc.cast(p, pa.large_binary()) for p in parts]
    separator = pa.scalar(_FIELD_SEP.encode(), pa.large_binary())
    joined = pc.binary_join_element_wise(*parts, separator, null_handling="replace", null_replacement=_NULL)
    return joined.to_pylist()


def content_digests(salt: bytes, header: Sequence[str], rows: list[bytes]) -> list[bytes]:
    """SHA-256 of salt, header and each row; the common prefix is hashed once and copied per row."""
    start = hashlib.sha256(salt + _FIELD_SEP.join(header).encode() + b"\x1d").copy

    def digest(row: bytes) -> bytes:
        h = start()
        h.update(row)
        return h.digest()

    return [digest(row) for row in rows]


# Keys of first occurrences are kept in memory up to this many records, then spilled to
# sorted runs on disk; a fixed-size filter in front keeps most look-ups off the runs.
_HOLD_ROWS = 250_000
_FILTER_BITS = 1 << 27  # 16 MiB: under 0.5 % false positives at 10M records
_FILTER_SHIFT = np.uint64(64 - 27)
_FILTER_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64
)


def _keys(digests: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The first two 64-bit words of each digest (a 128-bit key: equal keys are equal content)."""
    if not digests:
        empty = np.empty(0, np.uint64)
        return empty, empty
    words = np.frombuffer(b"".join(digests), dtype=">u8").reshape(len(digests), 4)
    return words[:, 0].astype(np.uint64), words[:, 1].astype(np.uint64)


class _Filter:
    """A Bloom filter over 64-bit keys: "maybe seen" or "surely not"; 16 MiB whatever the input."""

    def __init__(self) -> None:
        self._bits = np.zeros(_FILTER_BITS // 8, dtype=np.uint8)  # pages appear as bits are set

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (keys[None, :] * _FILTER_MULTIPLIERS[:, None]) >> _FILTER_SHIFT

    def contains(self, keys: np.ndarray) -> np.ndarray:
        pos = self._positions(keys)
        hit = (self._bits[pos >> np.uint64(3)] >> (pos & np.uint64(7)).astype(np.uint8)) & 1
        return hit.all(axis=0).astype(bool)

    def add(self, keys: np.ndarray) -> None:
        pos = self._positions(keys).ravel()
        if not len(pos):
            return
        index = (pos >> np.uint64(3)).astype(np.int64)
        bits = (1 << (pos & np.uint64(7))).astype(np.uint8)
        order = np.argsort(index, kind="stable")
        index, bits = index[order], bits[order]
        # one OR per byte (a fancy-index |= would keep only one bit of bytes set twice)
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        self._bits[index[starts]] |= np.bitwise_or.reduceat(bits, starts)


class _Runs:
    """Exact 128-bit keys of first occurrences, as sorted runs: per batch in memory, merged on disk."""

    def __init__(self, hold_rows: int) -> None:
        self.hold_rows = hold_rows
        self._held: list[tuple[np.ndarray, np.ndarray]] = []  # one sorted (hi, lo) per batch
        self._held_rows = 0
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # spilled: memory-mapped (hi, lo)
        self._files: list = []

    def add(self, hi: np.ndarray, lo: np.ndarray) -> None:
        if not len(hi):
            return
        order = np.argsort(hi, kind="stable")
        self._held.append((hi[order], lo[order]))
        self._held_rows += len(hi)
        if self._held_rows > self.hold_rows:
            self._spill()

    def _spill(self) -> None:
        hi = np.concatenate([part[0] for part in self._held])
        lo = np.concatenate([part[1] for part in self._held])
        order = np.argsort(hi, kind="stable")
        hi, lo = hi[order], lo[order]
        try:
            fh = tempfile.TemporaryFile(prefix="tb_ids_")
            fh.write(hi.tobytes())
            fh.write(lo.tobytes())
            fh.flush()
            n = len(hi)
            run = (np.memmap(fh, np.uint64, "r", 0, (n,)), np.memmap(fh, np.uint64, "r", 8 * n, (n,)))
        except OSError:  # no temporary folder: keep one merged run in memory
            run, fh = (hi, lo), None
        if fh is not None:
            self._files.append(fh)
        self._runs.append(run)
        self._held, self._held_rows = [], 0

    def contains(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hi), dtype=bool)
        for run_hi, run_lo in (*self._runs, *self._held):
            left = np.searchsorted(run_hi, hi, "left")
            right = np.searchsorted(run_hi, hi, "right")
            for i in np.flatnonzero(right > left):
                if not found[i]:
                    found[i] = bool((run_lo[left[i] : right[i]] == lo[i]).any())
        return found

    def close(self) -> None:
        self._runs, self._held, self._held_rows = [], [], 0
        for fh in self._files:
            fh.close()
        self._files = []


class RepeatTracker:
    """Counts, record by record and in stream order, how often the same content came before.

    One pass is enough: :meth:`observe` answers for each digest of a batch how many
    earlier records (in this and earlier batches) had the same content, so ids can be
    given while the input streams. Memory stays bounded whatever the input: a 16 MiB
    filter answers "surely new" for almost every record; only its "maybe" answers look
    at the exact keys, which are held in memory up to ``hold_rows`` records and beyond
    that in sorted runs in temporary files. Contents seen more than once are counted in
    a dictionary (only those).
    """

    def __init__(self, hold_rows: int = _HOLD_ROWS) -> None:
        self._filter: _Filter | None = None
        self._runs = _Runs(hold_rows)
        self.counts: dict[bytes, int] = {}  # digest -> records so far, for repeated content only
        self.repeats = 0

    def observe(self, digests: list[bytes]) -> np.ndarray:
        """For each digest, how many records before it had the same content (int64 array)."""
        n = len(digests)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if self._filter is None:
            self._filter = _Filter()
        hi, lo = _keys(digests)
        maybe = self._filter.contains(hi)
        order = np.argsort(hi, kind="stable")
        same = hi[order][1:] == hi[order][:-1]
        within = np.zeros(n, dtype=bool)
        within[order[1:][same]] = True
        within[order[:-1][same]] = True
        occurrences = np.zeros(n, dtype=np.int64)
        candidates = np.flatnonzero(maybe | within)
        if candidates.size:
            earlier = np.zeros(candidates.size, dtype=bool)
            asked = maybe[candidates]
            if asked.any():
                earlier[asked] = self._runs.contains(hi[candidates][asked], lo[candidates][asked])
            local: dict[bytes, int] = {}
            counts = self.counts
            for i, before in zip(candidates.tolist(), earlier.tolist()):
                d = digests[i]
                k = counts.get(d)
                if k is None:
                    k = local.get(d)
                    if k is None:
                        if before:  # first seen in an earlier batch
                            occurrences[i] = 1
                            counts[d] = 2
                        else:
                            local[d] = 1
                        continue
                    local[d] = k + 1
                else:
                    counts[d] = k + 1
                occurrences[i] = k
            for d, k in local.items():
                if k > 1:
                    counts[d] = k
        new = occurrences == 0
        self.repeats += int(n - new.sum())
        self._filter.add(hi[new])
        self._runs.add(hi[new], lo[new])
        return occurrences

    def discard(self) -> None:
        self._runs.close()
        self._filter = None


_HEX = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), dtype=np.uint16)


def ids_from_digests(digests: list[bytes], occurrences: list[int]) -> pa.Array:
    """The data_id strings (64 hex digits) as one Arrow array, built without a per-row loop."""
    n = len(digests)
    if n == 0:
        return pa.array([], pa.string())
    raw = np.frombuffer(b"".join(digests), dtype=np.uint8)
    text = _HEX[raw].tobytes()
    offsets = np.arange(0, 64 * n + 1, 64, dtype=np.int32)
    ids = pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text))
    later = np.flatnonzero(np.asarray(occurrences)).tolist()
    if later:
        values = ids.to_pylist()
        for i in later:
            values[i] = hashlib.sha256(digests[i] + b"#" + str(occurrences[i]).encode()).hexdigest()
        ids = pa.array(values, pa.string())
    return ids


class BatchBlobs:
    """Bytes per batch of one pass, kept in an anonymous temporary file for the next pass.

    The next pass reads the same source in the same batches; each batch is matched by its
    first record number and size, and any mismatch (or no temporary folder) makes the cache
    answer None from then on, so that the caller computes again: it can only save time.
    """

    prefix = "tb_batches_"

    def __init__(self) -> None:
        self._file = None
        self._marks: list[tuple[int, int, int, int]] = []  # (first record, rows, byte offset, bytes)
        self._next = 0
        self._broken = False
        self._size = 0

    def put_blob(self, first: int, rows: int, blob: bytes) -> None:
        if self._broken:
            return
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix=self.prefix)
            self._file.write(blob)
        except OSError:
            self.close()
            self._broken = True
            return
        self._marks.append((first, rows, self._size, len(blob)))
        self._size += len(blob)

    def get_blob(self, first: int, rows: int) -> bytes | None:
        if self._broken or self._file is None or self._next >= len(self._marks):
            return None
        mark_first, mark_rows, offset, size = self._marks[self._next]
        if (mark_first, mark_rows) != (first, rows):
            self._broken = True
            return None
        self._next += 1
        self._file.seek(offset)
        return self._file.read(size)

    def rewind(self) -> None:
        """Serve the cached batches again from the first (another pass over the same input)."""
        self._next = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class DigestCache(BatchBlobs):
    """The validation pass's digests, for the write pass (see :class:`BatchBlobs`): the cache can
    only save hashing, never change an id."""

    prefix = "tb_digests_"

    def put(self, first: int, digests: list[bytes]) -> None:
        self.put_blob(first, len(digests), b"".join(digests))

    def get(self, first: int, rows: int) -> list[bytes] | None:
        blob = self.get_blob(first, rows)
        if blob is None:
            return None
        return [blob[i : i + 32] for i in range(0, len(blob), 32)]


def id_fingerprint(ids: pa.Array) -> tuple[int, int]:
    """(count, exact sum of the first 64 bits) of 64-hex-digit ids; the database computes the same."""
    values = ids.to_pylist()
    return len(values), sum(int(value[:16], 16) for value in values)


def random_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]
