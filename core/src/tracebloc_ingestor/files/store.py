"""Copy the files a dataset's rows refer to into its flat folder, once each and atomically.

A file is first written under a temporary name in the destination folder and renamed
only when complete, so a crash never leaves a partial file under a final name (leftover
temporary files are removed by the next run). A ledger next to the files records each
stored name with its size and SHA-256; a marker records which dataset owns the folder,
so that a re-run of the same dataset is accepted and another dataset's folder refused.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Sequence

import attrs

MARKER_NAME = ".tracebloc-dataset.json"
LEDGER_NAME = ".tracebloc-files.jsonl"
TEMP_PREFIX = ".tb-partial-"
# Below malloc's mmap threshold: a bigger read buffer costs page faults on every small file.
CHUNK = 64 << 10
DEFAULT_WORKERS = 4
_OWN_FILES = {MARKER_NAME, LEDGER_NAME}


class FileStoreError(Exception):
    """Storing failed; the message names the stored file name and the reason, never content."""


@attrs.frozen
class CopyJob:
    """One file to store as ``name``: the bytes of ``source``, what ``produce(source)`` returns, or ``data``.

    ``produce`` lets a category store a processed file (a resized image, say) through
    the same atomic path; it runs in the store's worker threads. ``data`` (see
    :meth:`of_bytes`) stores content the category holds in memory (a text read from a
    table cell): there is no source file.
    """

    name: str
    source: Path | str | None = None
    produce: Callable[[Path], bytes] | None = attrs.field(default=None, eq=False)
    data: bytes | None = attrs.field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if (self.source is None) == (self.data is None):
            raise ValueError("a CopyJob has either a source file or data, not both and not neither")
        if self.data is not None and self.produce is not None:
            raise ValueError("a CopyJob with data has nothing to produce from")

    @classmethod
    def of_bytes(cls, name: str, data: bytes) -> "CopyJob":
        """A job that stores ``data`` as ``name``."""
        return cls(name, data=bytes(data))

    @property
    def origin(self) -> str:
        """What the bytes come from, to tell two jobs for one name apart (a path, or the data's size and hash)."""
        if self.data is None:
            return os.fspath(self.source)
        return f"<{len(self.data)} bytes, hash {hash(self.data) & 0xFFFFFFFFFFFFFFFF:016x}>"


@attrs.frozen
class StoredFile:
    name: str
    size: int
    sha256: str
    written: bool


def _open_source(path: Path) -> BinaryIO:
    return open(path, "rb")


class FileStore:
    """The flat folder of one dataset (``<storage_path>/<table>``)."""

    def __init__(
        self,
        folder: Path,
        *,
        workers: int = DEFAULT_WORKERS,
        opener: Callable[[Path], BinaryIO] = _open_source,
    ) -> None:
        self.folder = Path(folder)
        self.workers = max(1, int(workers))
        self.opener = opener
        self._ledger: dict[str, tuple[int, str]] | None = None
        # name -> size of what this run stored (or found stored); kept small for 100k-file runs
        self._done: dict[str, int] = {}
        self._sources: dict[str, str] = {}
        self._run_tag = uuid.uuid4().hex[:8]
        self._temp_numbers = itertools.count()

    # -- ownership -------------------------------------------------------------------

    def _entries(self) -> list[str]:
        return [n for n in os.listdir(self.folder) if not n.startswith(TEMP_PREFIX)]

    def _marker(self) -> dict | None:
        try:
            data = json.loads((self.folder / MARKER_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def destination_problem(self, identity: str | None) -> str | None:
        """Why this folder cannot take the dataset ``identity``, or None when it can.

        Absent or empty: fine. Marked with the same identity: a re-run, fine. Anything
        else holds another dataset's files.
        """
        if not self.folder.exists():
            return None
        if not self.folder.is_dir():
            return "the destination exists and is not a folder"
        try:
            entries = self._entries()
        except OSError as exc:
            return f"the destination folder cannot be listed ({exc.strerror or type(exc).__name__})"
        if not entries:
            return None
        marker = self._marker()
        if marker is None:
            return f"the destination folder already holds {len(entries):,} files of another dataset (no tracebloc marker)"
        if identity is None or marker.get("dataset") != identity:
            return "the destination folder already holds another dataset's files; choose a new TABLE_NAME"
        return None

    def open(self, identity: str, *, table: str) -> None:
        """Create or re-enter the folder for ``identity``; remove temporary leftovers."""
        problem = self.destination_problem(identity)
        if problem:
            raise FileStoreError(problem)
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(self.folder):
            if name.startswith(TEMP_PREFIX):
                try:
                    os.unlink(self.folder / name)
                except FileNotFoundError:
                    pass
        if self._marker() is None:
            body = json.dumps({"dataset": identity, "table": table, "format": 1}).encode()
            self._write_atomic(MARKER_NAME, body)
        self._ledger = self._read_ledger()

    def _read_ledger(self) -> dict[str, tuple[int, str]]:
        out: dict[str, tuple[int, str]] = {}
        try:
            lines = (self.folder / LEDGER_NAME).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            try:
                entry = json.loads(line)
                out[entry["name"]] = (int(entry["size"]), str(entry["sha256"]))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash: the file is simply stored again
        return out

    @property
    def stored_bytes(self) -> int:
        """Bytes of every file this store holds for the run so far."""
        return sum(self._done.values())

    @property
    def stored_names(self) -> list[str]:
        return list(self._done)

    # -- storing ---------------------------------------------------------------------

    def store(self, jobs: Iterable[CopyJob]) -> list[StoredFile]:
        """Store every job's file (in parallel), each name once per run; raise on any failure.

        A name already stored by this run is skipped. A name the ledger holds with the
        same size and checksum is left as it is (no rewrite). Two different sources for
        one name are refused.
        """
        if self._ledger is None:
            raise FileStoreError("the store was not opened")
        todo: dict[str, CopyJob] = {}
        for job in jobs:
            source = job.origin
            seen = self._sources.get(job.name)
            if seen is not None and seen != source:
                raise FileStoreError(f"two different sources would both be stored as {job.name!r}")
            self._sources[job.name] = source
            if job.name in self._done or job.name in todo:
                continue
            if "/" in job.name or job.name.startswith(".") or job.name in _OWN_FILES or not job.name:
                raise FileStoreError(f"{job.name!r} is not a plain file name")
            todo[job.name] = job
        if not todo:
            return []
        results: list[StoredFile] = []
        failures: list[tuple[str, BaseException]] = []
        # Each worker takes a contiguous share: one task per file costs more than a small copy.
        jobs_list = list(todo.values())
        shares = min(self.workers, len(jobs_list))
        with ThreadPoolExecutor(max_workers=shares) as pool:
            for done, failed in pool.map(self._store_share, [jobs_list[i::shares] for i in range(shares)]):
                results.extend(done)
                failures.extend(failed)
        for result in results:
            self._done[result.name] = result.size
        written = [r for r in results if r.written]
        if written:
            self._append_ledger(written)
        if failures:
            raise FileStoreError(self._failure_message(failures, todo))
        return results

    def _failure_message(self, failures: list[tuple[str, BaseException]], todo: dict[str, CopyJob]) -> str:
        """The first failure's cause in words, where it happened, and (out of space) how much was missing."""
        name, exc = failures[0]
        reason = (exc.strerror or "").lower() if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        where = f"{self.folder.name}/{name}"
        more = f" and {len(failures) - 1:,} more files" if len(failures) > 1 else ""
        space = ""
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            needed = sum(_size(Path(todo[n].source)) or 0 for n, _ in failures if n in todo)
            try:
                free = shutil.disk_usage(self.folder).free
                space = f" ({_mib(free)} free, {_mib(needed)} needed)"
            except OSError:
                pass
        return f"{reason} while writing {where}{more}{space}"

    def _store_share(self, jobs: list[CopyJob]) -> tuple[list[StoredFile], list[tuple[str, BaseException]]]:
        done: list[StoredFile] = []
        failed: list[tuple[str, BaseException]] = []
        for job in jobs:
            try:
                done.append(self._store_one(job))
            except Exception as exc:  # noqa: BLE001 - collected, reported by store()
                failed.append((job.name, exc))
        return done, failed

    def _store_one(self, job: CopyJob) -> StoredFile:
        final = self.folder / job.name
        known = self._ledger.get(job.name) if self._ledger else None
        if job.produce is not None or job.data is not None:
            data = job.data if job.data is not None else job.produce(Path(job.source))
            digest = hashlib.sha256(data).hexdigest()
            if known == (len(data), digest) and _size(final) == len(data):
                return StoredFile(job.name, len(data), digest, False)
            self._write_atomic(job.name, data)
            return StoredFile(job.name, len(data), digest, True)
        if known is not None and _size(final) == known[0]:
            size, digest = self._hash_source(job.source)
            if (size, digest) == known:
                return StoredFile(job.name, size, digest, False)
        size, digest = self._copy(job.source, job.name)
        return StoredFile(job.name, size, digest, True)

    def _hash_source(self, source: Path) -> tuple[int, str]:
        h = hashlib.sha256()
        size = 0
        with self.opener(source) as fin:
            while chunk := fin.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
        return size, h.hexdigest()

    def _temp(self, name: str) -> Path:
        # unique per run and file; a counter, since a uuid4 per file costs a random-bytes syscall
        return self.folder / f"{TEMP_PREFIX}{self._run_tag}{next(self._temp_numbers)}-{name}"

    def _copy(self, source: Path, name: str) -> tuple[int, str]:
        tmp = self._temp(name)
        h = hashlib.sha256()
        size = 0
        try:
            with self.opener(source) as fin, open(tmp, "xb") as fout:
                while chunk := fin.read(CHUNK):
                    h.update(chunk)
                    fout.write(chunk)
                    size += len(chunk)
            os.replace(tmp, self.folder / name)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        return size, h.hexdigest()

    def _write_atomic(self, name: str, data: bytes) -> None:
        tmp = self._temp(name)
        try:
            with open(tmp, "xb") as fout:
                fout.write(data)
            os.replace(tmp, self.folder / name)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    def _append_ledger(self, files: Sequence[StoredFile]) -> None:
        lines = "".join(json.dumps({"name": f.name, "size": f.size, "sha256": f.sha256}) + "\n" for f in files)
        with open(self.folder / LEDGER_NAME, "a", encoding="utf-8") as fh:
            fh.write(lines)
        # The in-memory ledger is not extended: a name stored by this run is never looked up again.


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB"
