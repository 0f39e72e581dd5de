"""Copy the files a dataset's rows refer to into its flat folder, once each, published at once.

Every file is first written into a staging folder of the run beside the dataset folder,
on the same file system (``<storage>/.tb-staging-<table>-<tag>/``). Publishing moves the
staged files into place: one rename of the whole staging folder when the dataset folder
does not exist yet, else one rename per file. So a failed or killed run leaves at most
its staging folder, never a partial file under a final name, and the next run of the
table removes it. A ledger next to the files records each stored name with its size and
SHA-256; a marker records which dataset owns the folder, so that a re-run of the same
dataset is accepted (and rewrites nothing that is already there) and another dataset's
folder is refused.

A file can be staged while it is checked (:meth:`FileStore.stage`, from worker threads):
the source is opened and read once, and the check reads the staged copy.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import pickle
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Sequence

import attrs

log = logging.getLogger("tracebloc_ingestor")

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Executor, Future

MARKER_NAME = ".tracebloc-dataset.json"
LEDGER_NAME = ".tracebloc-files.jsonl"
# the shards of a scaled-out run write a ledger each: .tracebloc-files-<run id>-<shard>.jsonl
LEDGER_PREFIX = ".tracebloc-files"
TEMP_PREFIX = ".tb-partial-"
STAGING_PREFIX = ".tb-staging-"
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
    the same path; it runs in the store's worker threads (or worker processes, see
    :class:`FileStore`) on a copy of the source staged by the same run, so the source is
    read once. ``data`` (see :meth:`of_bytes`) stores content the category holds in memory
    (a text read from a table cell): there is no source file.
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


class _SourceError(Exception):
    """Reading the source failed (the source's problem, not the store's)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class FileStore:
    """The flat folder of one dataset (``<storage_path>/<table>``).

    ``process_producers``: run :attr:`CopyJob.produce` functions that can be pickled in a
    pool of worker processes (CPU-bound work such as resizing then uses every core). The
    workers are forked when the store opens, while the run has no other thread yet (a
    fork then copies no lock held by another thread and imports nothing again); where
    that is not so, or the pool breaks, producers run in the store's threads.
    """

    def __init__(
        self,
        folder: Path,
        *,
        workers: int = DEFAULT_WORKERS,
        opener: Callable[[Path], BinaryIO] = _open_source,
        process_producers: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.workers = max(1, int(workers))
        self.opener = opener
        self.process_producers = process_producers
        self._ledger: dict[str, tuple[int, str]] | None = None
        self._identity: str | None = None
        self._table: str | None = None
        self._deferred = False
        self._staging: Path | None = None
        self._lock = threading.Lock()
        # name -> (source, size, sha256) of what this run staged and not yet published
        self._staged: dict[str, tuple[str, int, str]] = {}
        # name -> size of what this run stored (or found stored); kept small for 100k-file runs
        self._done: dict[str, int] = {}
        self._sources: dict[str, str] = {}
        self._run_tag = uuid.uuid4().hex[:12]
        self._ledger_name = LEDGER_NAME
        self._shared: str | None = None  # a scaled-out run: "<run id>s" (this run's shards' staging folders)
        self._own_prefix: str | None = None
        self._processes: "Executor | None" = None
        self._early: dict[str, "Future"] = {}  # name -> its producer's result, started while the file was checked
        self._made_parent = False  # the storage folder did not exist: removed again if nothing is published
        self._picklable: dict[int, bool] = {}

    def share(self, run_id: str, shard: int) -> None:
        """This store is one shard's of a scaled-out run: other shards of the run write into the same
        folder at the same time. Its staging folder and its ledger are its own (named after the run
        and the shard), the staging folders of the run's other shards are left alone, files are
        published one by one, and the folder with its marker is created once, by whichever shard
        comes first."""
        self._shared = f"{run_id}s"
        self._own_prefix = f"{run_id}s{shard}-"
        self._run_tag = f"{self._own_prefix}{uuid.uuid4().hex[:12]}"
        self._ledger_name = f"{LEDGER_PREFIX}-{run_id}-{shard}.jsonl"

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

    def open(self, identity: str, *, table: str, deferred: bool = False) -> None:
        """Start the run's staging folder for ``identity``; remove what earlier runs left.

        ``deferred``: files become visible only at :meth:`publish` (for rows committed at
        the end of the run); otherwise each :meth:`store` call publishes its files.
        """
        problem = self.destination_problem(identity)
        if problem:
            raise FileStoreError(problem)
        self._identity, self._table, self._deferred = identity, table, deferred
        parent = self.folder.parent
        try:
            self._made_parent = not parent.exists()
            parent.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
            staging = parent / f"{STAGING_PREFIX}{self.folder.name}-{self._run_tag}"
            staging.mkdir()
        except OSError as exc:
            raise FileStoreError(f"{self._where(None)}: {_reason(exc)} while preparing the staging folder") from None
        self._staging = staging
        self._ledger = self._read_ledger()
        self._start_processes()
        if not deferred:  # the dataset folder with its marker now, then file by file
            if not self.folder.exists():
                self._publish_folder()
            else:
                self._write_marker(self.folder)

    def _remove_leftovers(self) -> None:
        """Staging folders of this table's earlier runs, and temporary files of older versions."""
        prefix = f"{STAGING_PREFIX}{self.folder.name}-"
        for entry in os.scandir(self.folder.parent):
            if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
                tag = entry.name[len(prefix):]
                if self._shared is not None and tag.startswith(self._shared) and not tag.startswith(self._own_prefix):
                    continue  # another shard of this run is staging there now
                shutil.rmtree(entry.path, ignore_errors=True)
        if self.folder.is_dir():
            for name in os.listdir(self.folder):
                if name.startswith(TEMP_PREFIX):
                    _unlink_quietly(self.folder / name)

    def _read_ledger(self) -> dict[str, tuple[int, str]]:
        """Every ledger of the folder: the one of runs without shards and each shard's."""
        out: dict[str, tuple[int, str]] = {}
        lines: list[str] = []
        try:
            names = sorted(n for n in os.listdir(self.folder) if n.startswith(LEDGER_PREFIX) and n.endswith(".jsonl"))
        except FileNotFoundError:
            return out
        for name in names:
            try:
                lines.extend((self.folder / name).read_text(encoding="utf-8").splitlines())
            except FileNotFoundError:
                continue
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

    def size_of(self, name: str) -> int:
        """Bytes the stored file ``name`` takes (staged, published by this run, or by an earlier one); 0 if none."""
        with self._lock:
            staged = self._staged.get(name)
        if staged is not None:
            return staged[1]
        if name in self._done:
            return self._done[name]
        return _size(self.folder / name) or 0

    @property
    def staging(self) -> bool:
        """Whether the run is storing (files checked now can be staged by :meth:`stage`)."""
        return self._staging is not None

    # -- staging -----------------------------------------------------------------------

    def _check_name(self, name: str, source: str) -> None:
        if "/" in name or name.startswith(".") or name in _OWN_FILES or not name:
            raise FileStoreError(f"{name!r} is not a plain file name")
        with self._lock:
            seen = self._sources.setdefault(name, source)
        if seen != source:
            raise FileStoreError(f"two different sources would both be stored as {name!r}")

    def stage(self, name: str, source: Path | str) -> Path | None:
        """Copy ``source`` into the staging folder as ``name`` (reading it once); its staged path.

        Safe from several threads. None when the store is not staging. An error reading
        the source raises OSError (the source's problem); an error writing raises
        FileStoreError naming the stored file and the reason.
        """
        staging = self._staging
        if staging is None:
            return None
        source = os.fspath(source)
        self._check_name(name, source)
        if name in self._done:
            return None  # published already: checked from the source
        with self._lock:
            known = self._staged.get(name)
        if known is None:
            try:
                size, digest = self._copy(source, staging / name)
            except _SourceError as exc:
                raise exc.error from None
            with self._lock:
                self._staged[name] = (source, size, digest)
        return staging / name

    def _copy(self, source: str, target: Path) -> tuple[int, str]:
        """Read ``source`` once into ``target`` (a new file), hashing on the way."""
        if self.opener is _open_source:
            return self._copy_fds(source, os.fspath(target))
        h = hashlib.sha256()
        size = 0
        with contextlib.ExitStack() as stack:
            try:
                fin = stack.enter_context(self.opener(Path(source)))
            except OSError as exc:
                raise _SourceError(exc) from None
            try:
                fout = stack.enter_context(open(target, "xb"))
            except OSError as exc:
                raise FileStoreError(self._write_error(target.name, exc, source)) from None
            try:
                while True:
                    try:
                        chunk = fin.read(CHUNK)
                    except OSError as exc:
                        raise _SourceError(exc) from None
                    if not chunk:
                        break
                    h.update(chunk)
                    try:
                        fout.write(chunk)
                    except OSError as exc:
                        raise FileStoreError(self._write_error(target.name, exc, source)) from None
                    size += len(chunk)
            except BaseException:
                stack.close()
                _unlink_quietly(target)
                raise
        return size, h.hexdigest()

    def _copy_fds(self, source: str, target: str) -> tuple[int, str]:
        """:meth:`_copy` on plain descriptors: the least work per file (many files are small)."""
        try:
            fin = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise _SourceError(exc) from None
        fout = -1
        try:
            try:
                fout = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise FileStoreError(self._write_error(os.path.basename(target), exc, source)) from None
            h = hashlib.sha256()
            size = 0
            while True:
                try:
                    chunk = os.read(fin, CHUNK)
                except OSError as exc:
                    raise _SourceError(exc) from None
                if not chunk:
                    break
                h.update(chunk)
                view = memoryview(chunk)
                try:
                    while view:
                        view = view[os.write(fout, view):]
                except OSError as exc:
                    raise FileStoreError(self._write_error(os.path.basename(target), exc, source)) from None
                size += len(chunk)
                if len(chunk) < CHUNK and os.fstat(fin).st_size <= size:
                    break  # a small file is read in one call: no second read to find its end
        except BaseException:
            if fout >= 0:
                os.close(fout)
                fout = -1
                _unlink_quietly(Path(target))
            raise
        finally:
            os.close(fin)
            if fout >= 0:
                os.close(fout)
        return size, h.hexdigest()

    # -- storing ---------------------------------------------------------------------

    def store(self, jobs: Iterable[CopyJob]) -> list[StoredFile]:
        """Store every job's file (in parallel), each name once per run; raise on any failure.

        A name already stored by this run is skipped; one staged by :meth:`stage` is not
        read again (its ``produce`` runs on the staged copy). Two different sources for one
        name are refused. Without ``deferred`` the files are published at once.
        """
        if self._ledger is None or self._staging is None:
            raise FileStoreError("the store was not opened")
        todo: dict[str, CopyJob] = {}
        for job in jobs:
            source = job.origin
            self._check_name(job.name, source)
            if job.name in self._done or job.name in todo:
                continue
            todo[job.name] = job
        if not todo:
            return []
        results: list[StoredFile] = []
        failures: list[tuple[str, BaseException]] = []
        jobs_list = list(todo.values())
        with self._lock:
            ready = [job for job in jobs_list if job.produce is None and job.name in self._staged]
        if len(ready) == len(jobs_list):
            # staged while checked, nothing to make of them: no thread has work to do
            with self._lock:
                results = [StoredFile(job.name, *self._staged[job.name][1:], True) for job in ready]
        else:
            done, failed, jobs_list = self._collect_early(jobs_list)
            results.extend(done)
            failures.extend(failed)
            in_processes = [j for j in jobs_list if j.produce is not None and self._processes is not None
                            and j.name in self._staged and self._can_pickle(j.produce)]
            if in_processes:
                done, failed = self._produce_in_processes(in_processes)
                results.extend(done)
                failures.extend(failed)
                taken = {j.name for j in in_processes}
                jobs_list = [j for j in jobs_list if j.name not in taken]
            # Each worker takes a contiguous share: one task per file costs more than a small copy.
            shares = min(self.workers, len(jobs_list))
            if shares:
                with ThreadPoolExecutor(max_workers=shares, thread_name_prefix="tb-store") as pool:
                    for done, failed in pool.map(self._store_share, [jobs_list[i::shares] for i in range(shares)]):
                        results.extend(done)
                        failures.extend(failed)
        if failures:
            name, exc = failures[0]
            if isinstance(exc, FileStoreError):
                more = f" (and {len(failures) - 1:,} more files)" if len(failures) > 1 else ""
                raise FileStoreError(f"{exc}{more}")
            raise FileStoreError(self._failure_message(failures, todo))
        if not self._deferred:
            return self._publish_names([r.name for r in results])
        return results

    def _failure_message(self, failures: list[tuple[str, BaseException]], todo: dict[str, CopyJob]) -> str:
        """The first failure's cause in words, where it happened, and (out of space) how much was missing."""
        name, exc = failures[0]
        reason = (exc.strerror or "").lower() if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        where = self._where(name)
        more = f" and {len(failures) - 1:,} more files" if len(failures) > 1 else ""
        space = ""
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            needed = sum(_job_size(todo[n]) for n, _ in failures if n in todo)
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
        staged = self._staging / job.name
        with self._lock:
            known = self._staged.get(job.name)
        if job.data is not None:
            self._write_file(staged, job.data, job.name)
            known = (job.origin, len(job.data), hashlib.sha256(job.data).hexdigest())
        elif known is None:
            try:
                size, digest = self._copy(os.fspath(job.source), staged)
            except _SourceError as exc:
                raise exc.error from None
            known = (os.fspath(job.source), size, digest)
        if job.produce is not None:
            data = self._produce(job.produce, staged)
            self._write_file(staged, data, job.name)
            known = (known[0], len(data), hashlib.sha256(data).hexdigest())
        with self._lock:
            self._staged[job.name] = known
        return StoredFile(job.name, known[1], known[2], True)

    def produce_early(self, name: str, produce: Callable[[Path], bytes]) -> bool:
        """Start making the staged file ``name`` with ``produce`` in a worker process now (thread-safe).

        For a checker that knows right away what a file needs (a resize): the work then runs
        while the next files are checked, and :meth:`store` only collects it. False when it
        cannot start here (no worker processes, not staged, not picklable).
        """
        pool = self._processes
        if pool is None or self._staging is None or not self._can_pickle(produce):
            return False
        with self._lock:
            if name not in self._staged or name in self._early:
                return False
            self._early[name] = pool.submit(_produce_into, (produce, os.fspath(self._staging / name)))
        return True

    def _collect_early(self, jobs: list[CopyJob]) -> tuple[list[StoredFile], list[tuple[str, BaseException]], list[CopyJob]]:
        done: list[StoredFile] = []
        failed: list[tuple[str, BaseException]] = []
        rest: list[CopyJob] = []
        for job in jobs:
            with self._lock:
                future = self._early.pop(job.name, None) if job.produce is not None else None
            if future is None:
                rest.append(job)
                continue
            try:
                size, digest, problem = future.result()
            except Exception:  # noqa: BLE001 - the pool broke: made again below, in a thread
                rest.append(job)
                continue
            if problem is not None:
                failed.append((job.name, FileStoreError(f"{self._where(job.name)}: {problem}")))
                continue
            with self._lock:
                self._staged[job.name] = (self._staged[job.name][0], size, digest)
            done.append(StoredFile(job.name, size, digest, True))
        return done, failed, rest

    def _produce_in_processes(self, jobs: list[CopyJob]) -> tuple[list[StoredFile], list[tuple[str, BaseException]]]:
        """Each staged file made by its producer in the worker processes, which write the result in place.

        Handed over in chunks and nothing but paths and sizes travel between the processes:
        many small tasks would cost more in hand-over than the work.
        """
        from concurrent.futures.process import BrokenProcessPool

        tasks = [(job.produce, os.fspath(self._staging / job.name)) for job in jobs]
        chunk = max(1, len(tasks) // (4 * (os.cpu_count() or 1)))
        done: list[StoredFile] = []
        failed: list[tuple[str, BaseException]] = []
        try:
            answers = list(self._processes.map(_produce_into, tasks, chunksize=chunk))
        except BrokenProcessPool:
            log.warning("the worker processes stopped; processing files in threads instead")
            self._processes = None
            return self._store_share(jobs)
        for job, (size, digest, problem) in zip(jobs, answers):
            if problem is not None:
                failed.append((job.name, FileStoreError(f"{self._where(job.name)}: {problem}")))
                continue
            with self._lock:
                source = self._staged[job.name][0]
                self._staged[job.name] = (source, size, digest)
            done.append(StoredFile(job.name, size, digest, True))
        return done, failed

    def _produce(self, produce: Callable[[Path], bytes], path: Path) -> bytes:
        pool = self._processes
        if pool is not None and self._can_pickle(produce):
            from concurrent.futures.process import BrokenProcessPool

            try:
                return pool.submit(produce, path).result()
            except BrokenProcessPool:
                log.warning("the worker processes stopped; processing files in threads instead")
                self._processes = None
        return produce(path)

    def _can_pickle(self, produce: Callable) -> bool:
        key = id(produce)
        if key not in self._picklable:
            try:
                pickle.dumps(produce)
                self._picklable[key] = True
            except Exception:  # closures, lambdas: run in a thread instead
                self._picklable[key] = False
        return self._picklable[key]

    def _start_processes(self) -> None:
        if not self.process_producers or self._processes is not None or (os.cpu_count() or 1) < 2:
            return
        import multiprocessing

        if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
            log.info("not forking worker processes (other threads run already); producers run in threads")
            return
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=multiprocessing.get_context("fork"))
        try:
            pool.submit(int).result()  # a fork-context pool starts every worker at its first task: now
        except Exception:  # noqa: BLE001 - no processes here (limits, sandbox): threads do the work
            pool.shutdown(wait=False, cancel_futures=True)
            log.info("worker processes could not be started; producers run in threads")
            return
        self._processes = pool

    def _write_error(self, name: str, exc: OSError, source: str | None, needed: int | None = None) -> str:
        """``no space left on device while writing t/x.jpg (2.9 MiB free, 14.2 MiB needed)``: no content."""
        reason = (exc.strerror or type(exc).__name__).lower() if isinstance(exc, OSError) else type(exc).__name__
        space = ""
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            if needed is None and source is not None:
                needed = _size(Path(source)) or 0
            try:
                space = f" ({_mib(shutil.disk_usage(self.folder.parent).free)} free, {_mib(needed or 0)} needed)"
            except OSError:
                pass
        return f"{reason} while writing {self._where(name)}{space}"

    def _write_file(self, path: Path, data: bytes, name: str) -> None:
        """Overwrite a staged file in place: the staging folder is the run's own and is published
        only whole, so no reader sees it half-written, and no new inode is made (file creation is
        the costly part on ext4 after many deletions)."""
        try:
            _overwrite(os.fspath(path), data)
        except OSError as exc:
            raise FileStoreError(self._write_error(name, exc, None, len(data))) from None

    # -- publishing ------------------------------------------------------------------

    def publish(self) -> list[StoredFile]:
        """Make every staged file visible under its name; remove the staging folder.

        When the dataset folder does not exist yet, the staging folder becomes it with one
        rename (marker and ledger inside); otherwise each new or changed file is renamed
        into place and a file the ledger already holds with the same size and checksum
        is left as it is.
        """
        if self._staging is None:
            return []
        if self._deferred and not self.folder.exists() and self._shared is None:
            names = list(self._staged)
            results = [StoredFile(n, self._staged[n][1], self._staged[n][2], True) for n in names]
            try:
                self._append_ledger(results, folder=self._staging)
                self._write_marker(self._staging)
                os.rename(self._staging, self.folder)
            except OSError as exc:
                raise FileStoreError(f"{self._where(None)}: {_reason(exc)} while publishing the files") from None
            self._staging = None
            self._finish_names(results)
            return results
        results = self._publish_names(list(self._staged))
        self.discard()
        return results

    def publish_each(self) -> None:
        """From now on every :meth:`store` publishes its files at once, those staged while they
        were checked included (the shards of a scaled-out run: their rows are written chunk by
        chunk, each after its files). The dataset folder is created now if it is missing."""
        if self._staging is None:
            raise FileStoreError("the store was not opened")
        self._deferred = False
        try:
            if not self.folder.exists():
                self._publish_folder()
            else:
                self._write_marker(self.folder)
        except OSError as exc:
            raise FileStoreError(f"{self._where(None)}: {_reason(exc)} while creating the folder") from None

    def _publish_folder(self) -> None:
        """Create the dataset folder (empty but for its marker) by renaming a prepared one."""
        fresh = self.folder.parent / f"{STAGING_PREFIX}{self.folder.name}-{self._run_tag}-folder"
        try:
            fresh.mkdir()
            self._write_marker(fresh)
            os.rename(fresh, self.folder)
        except OSError as exc:
            shutil.rmtree(fresh, ignore_errors=True)
            if not self.folder.is_dir():
                raise FileStoreError(f"{self._where(None)}: {_reason(exc)} while creating the folder") from None

    def _publish_names(self, names: Sequence[str]) -> list[StoredFile]:
        if not self.folder.exists():
            self._publish_folder()
        elif self._marker() is None:
            self._write_marker(self.folder)
        out: list[StoredFile] = []
        for name in names:
            _source, size, digest = self._staged[name]
            staged = self._staging / name
            if self._ledger.get(name) == (size, digest) and _size(self.folder / name) == size:
                _unlink_quietly(staged)  # already there, unchanged: not rewritten
                out.append(StoredFile(name, size, digest, False))
                continue
            try:
                os.replace(staged, self.folder / name)
            except OSError as exc:
                raise FileStoreError(f"{self._where(name)}: {_reason(exc)} while publishing") from None
            out.append(StoredFile(name, size, digest, True))
        written = [r for r in out if r.written]
        if written:
            self._append_ledger(written, folder=self.folder)
        self._finish_names(out)
        return out

    def _finish_names(self, results: Sequence[StoredFile]) -> None:
        for result in results:
            self._done[result.name] = result.size
            self._staged.pop(result.name, None)

    def discard(self) -> None:
        """Forget and remove whatever is staged and not published (idempotent)."""
        staging, self._staging = self._staging, None
        early, self._early = self._early, {}
        for future in early.values():
            future.cancel()
        for future in early.values():
            with contextlib.suppress(Exception):
                future.result()  # nothing may write into the folder while it is removed
        self._staged.clear()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
            if self._made_parent and not self.folder.exists():
                with contextlib.suppress(OSError):
                    os.rmdir(self.folder.parent)  # only if empty

    def close(self) -> None:
        """Remove the staging folder if the run did not publish, and stop worker processes."""
        self.discard()
        if self._processes is not None:
            self._processes.shutdown(wait=True, cancel_futures=True)
            self._processes = None

    def _write_marker(self, folder: Path) -> None:
        if folder == self.folder and self._marker() is not None:
            return
        body = json.dumps({"dataset": self._identity, "table": self._table, "format": 1}).encode()
        tmp = folder / f"{TEMP_PREFIX}{self._run_tag}-marker"
        with open(tmp, "wb") as fout:
            fout.write(body)
        os.replace(tmp, folder / MARKER_NAME)

    def _append_ledger(self, files: Sequence[StoredFile], *, folder: Path) -> None:
        lines = "".join(json.dumps({"name": f.name, "size": f.size, "sha256": f.sha256}) + "\n" for f in files)
        with open(folder / self._ledger_name, "a", encoding="utf-8") as fh:
            fh.write(lines)
        # The in-memory ledger is not extended: a name stored by this run is never looked up again.

    def _where(self, name: str | None) -> str:
        table = self._table or self.folder.name
        return f"{table}/{name}" if name else f"the folder of {table}"


def _produce_into(task: tuple[Callable[[Path], bytes], str]) -> tuple[int, str, str | None]:
    """In a worker process: overwrite the staged file with what its producer makes of it; (size, sha256, problem)."""
    produce, staged = task
    try:
        data = produce(Path(staged))
        _overwrite(staged, data)
    except Exception as exc:  # noqa: BLE001 - named by its reason, never its content
        return 0, "", _reason(exc)
    return len(data), hashlib.sha256(data).hexdigest(), None


def _overwrite(path: str, data: bytes) -> None:
    """Write ``data`` over the file at ``path`` and cut it to that length.

    Not truncated to zero first: ext4 writes a file back at once when it is closed after
    such a truncation (its guard for replace-by-truncate), which would make every write wait.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)  # created for bytes held in memory
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _job_size(job: CopyJob) -> int:
    if job.data is not None:
        return len(job.data)
    return _size(Path(job.source)) or 0


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
