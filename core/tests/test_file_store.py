"""The shared file store: path guard, copy once, atomic writes, ledger, folder ownership."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from tracebloc_ingestor.categories import CategorySpec
from tracebloc_ingestor.context import RunContext
from tracebloc_ingestor.files import (
    LEDGER_NAME,
    MARKER_NAME,
    TEMP_PREFIX,
    CopyJob,
    FileStore,
    FileStoreError,
    PathProblem,
    member_path,
)
from tracebloc_ingestor.schema import TableSchema
from tracebloc_ingestor.settings import load_settings
from tracebloc_ingestor.sinks.database import Database


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "src"
    (root / "images" / "sub").mkdir(parents=True)
    (root / "images" / "a.jpg").write_bytes(b"A" * 5000)
    (root / "images" / "sub" / "b.jpg").write_bytes(b"B" * 3000)
    (tmp_path / "outside.jpg").write_bytes(b"secret")
    return root


@pytest.mark.parametrize(
    "value, rule",
    [
        ("../outside.jpg", "path_escape"),
        ("sub/../../outside.jpg", "path_escape"),
        ("..\\outside.jpg", "path_escape"),
        ("/etc/passwd", "path_escape"),
        ("C:/x.jpg", "path_escape"),
        ("", "required"),
        ("  ", "required"),
    ],
)
def test_member_path_refuses_values_that_leave_the_folder(source, value, rule):
    with pytest.raises(PathProblem) as caught:
        member_path(source / "images", value)
    assert caught.value.rule == rule


def test_member_path_follows_links_but_only_inside(source, tmp_path):
    images = source / "images"
    (images / "out.jpg").symlink_to(tmp_path / "outside.jpg")
    (images / "in.jpg").symlink_to(images / "sub" / "b.jpg")
    (images / "outdir").symlink_to(tmp_path)
    with pytest.raises(PathProblem) as caught:
        member_path(images, "out.jpg")
    assert caught.value.rule == "path_escape"
    with pytest.raises(PathProblem):
        member_path(images, "outdir/outside.jpg")
    assert member_path(images, "in.jpg") == (images / "sub" / "b.jpg").resolve()
    assert member_path(images, "sub/b.jpg") == (images / "sub" / "b.jpg").resolve()


def opened(tmp_path, identity="id-1", **kwargs) -> FileStore:
    store = FileStore(tmp_path / "shared" / "t", **kwargs)
    store.open(identity, table="t")
    return store


def test_each_file_is_stored_once_with_size_and_checksum(source, tmp_path):
    store = opened(tmp_path)
    a, b = source / "images" / "a.jpg", source / "images" / "sub" / "b.jpg"
    results = store.store([CopyJob("a.jpg", a), CopyJob("a.jpg", a), CopyJob("b.jpg", b)])
    assert sorted((r.name, r.size, r.written) for r in results) == [("a.jpg", 5000, True), ("b.jpg", 3000, True)]
    assert store.store([CopyJob("a.jpg", a)]) == []  # already stored by this run
    folder = tmp_path / "shared" / "t"
    assert (folder / "a.jpg").read_bytes() == a.read_bytes()
    ledger = [json.loads(line) for line in (folder / LEDGER_NAME).read_text().splitlines()]
    assert {(e["name"], e["size"], e["sha256"]) for e in ledger} == {
        ("a.jpg", 5000, sha(b"A" * 5000)),
        ("b.jpg", 3000, sha(b"B" * 3000)),
    }
    assert store.stored_bytes == 8000
    assert sorted(os.listdir(folder)) == sorted([".tracebloc-dataset.json", LEDGER_NAME, "a.jpg", "b.jpg"])


def test_a_second_run_rewrites_nothing_that_is_already_there(source, tmp_path):
    a = source / "images" / "a.jpg"
    opened(tmp_path).store([CopyJob("a.jpg", a)])
    final = tmp_path / "shared" / "t" / "a.jpg"
    before = final.stat()
    again = opened(tmp_path).store([CopyJob("a.jpg", a)])
    assert [(r.name, r.written) for r in again] == [("a.jpg", False)]
    after = final.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # a changed source is stored again
    a.write_bytes(b"C" * 5000)
    changed = opened(tmp_path).store([CopyJob("a.jpg", a)])
    assert [(r.name, r.written) for r in changed] == [("a.jpg", True)]
    assert final.read_bytes() == b"C" * 5000


def test_processed_content_goes_through_the_same_atomic_path(source, tmp_path):
    store = opened(tmp_path)
    store.store([CopyJob("a.jpg", source / "images" / "a.jpg", produce=lambda p: p.read_bytes()[:10])])
    assert (tmp_path / "shared" / "t" / "a.jpg").read_bytes() == b"A" * 10


def test_bytes_held_in_memory_are_stored_like_files(tmp_path):
    """A category that holds a file's content (a text from a table cell) stores it without a source file."""
    folder = tmp_path / "shared" / "t"
    store = opened(tmp_path)
    results = store.store([CopyJob.of_bytes("r1.txt", b"first"), CopyJob.of_bytes("r1.txt", b"first"), CopyJob.of_bytes("r2.txt", b"")])
    assert sorted((r.name, r.size, r.sha256, r.written) for r in results) == [
        ("r1.txt", 5, sha(b"first"), True),
        ("r2.txt", 0, sha(b""), True),
    ]
    assert (folder / "r1.txt").read_bytes() == b"first" and (folder / "r2.txt").read_bytes() == b""
    assert not [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]
    # another run with the same bytes rewrites nothing; changed bytes are stored again
    before = (folder / "r1.txt").stat()
    again = opened(tmp_path).store([CopyJob.of_bytes("r1.txt", b"first")])
    assert [(r.name, r.written) for r in again] == [("r1.txt", False)]
    assert (folder / "r1.txt").stat().st_mtime_ns == before.st_mtime_ns
    changed = opened(tmp_path).store([CopyJob.of_bytes("r1.txt", b"FIRST")])
    assert [(r.name, r.written) for r in changed] == [("r1.txt", True)] and (folder / "r1.txt").read_bytes() == b"FIRST"


def test_two_contents_for_one_name_are_refused_and_a_job_needs_one_origin(source, tmp_path):
    store = opened(tmp_path)
    with pytest.raises(FileStoreError, match="two different sources"):
        store.store([CopyJob.of_bytes("x.txt", b"one"), CopyJob.of_bytes("x.txt", b"two")])
    store.store([CopyJob.of_bytes("y.txt", b"one")])
    with pytest.raises(FileStoreError, match="two different sources"):
        store.store([CopyJob("y.txt", source / "images" / "a.jpg")])  # a later batch, a file this time
    with pytest.raises(ValueError):
        CopyJob("z.txt")
    with pytest.raises(ValueError):
        CopyJob("z.txt", source / "images" / "a.jpg", data=b"both")


class FailingReader(io.RawIOBase):
    """A source that breaks after ``limit`` bytes, like a network volume going away."""

    def __init__(self, path: Path, limit: int) -> None:
        self._fh = open(path, "rb")
        self._left = limit

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            raise OSError(5, "Input/output error")
        chunk = self._fh.read(min(n if n > 0 else self._left, self._left))
        self._left -= len(chunk)
        return chunk

    def close(self) -> None:
        self._fh.close()
        super().close()


def test_an_interrupted_copy_leaves_no_file_under_its_final_name(source, tmp_path):
    store = opened(tmp_path, opener=lambda p: FailingReader(p, 1000))
    with pytest.raises(FileStoreError) as caught:
        store.store([CopyJob("a.jpg", source / "images" / "a.jpg")])
    assert "a.jpg" in str(caught.value) and "input/output error" in str(caught.value)
    folder = tmp_path / "shared" / "t"
    assert not (folder / "a.jpg").exists()
    assert not [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]
    assert not (folder / LEDGER_NAME).exists()


def test_leftover_temporary_files_are_removed_when_the_store_opens(tmp_path):
    folder = tmp_path / "shared" / "t"
    opened(tmp_path)
    (folder / f"{TEMP_PREFIX}abc-a.jpg").write_bytes(b"half")
    opened(tmp_path)
    assert sorted(os.listdir(folder)) == [MARKER_NAME]


def test_two_sources_for_one_name_are_refused(source, tmp_path):
    store = opened(tmp_path)
    with pytest.raises(FileStoreError):
        store.store([CopyJob("x.jpg", source / "images" / "a.jpg"), CopyJob("x.jpg", source / "images" / "sub" / "b.jpg")])
    with pytest.raises(FileStoreError):
        store.store([CopyJob("../x.jpg", source / "images" / "a.jpg")])


def test_a_folder_of_another_dataset_is_refused(tmp_path):
    folder = tmp_path / "shared" / "t"
    store = FileStore(folder)
    assert store.destination_problem("id-1") is None  # absent
    folder.mkdir(parents=True)
    assert store.destination_problem(None) is None  # empty
    (folder / "old.jpg").write_bytes(b"x")
    assert "no tracebloc marker" in store.destination_problem("id-1")
    with pytest.raises(FileStoreError):
        store.open("id-1", table="t")
    (folder / "old.jpg").unlink()
    opened(tmp_path, "id-1")
    (folder / "a.jpg").write_bytes(b"x")
    assert store.destination_problem("id-1") is None  # the same dataset again
    assert "another dataset" in store.destination_problem("id-2")
    assert "another dataset" in store.destination_problem(None)
    with pytest.raises(FileStoreError):
        FileStore(folder).open("id-2", table="t")


def test_file_bearing_ingestor_adds_paths_batches_and_keeps_file_columns_out(tmp_path, sqlite_url):
    from tracebloc_ingestor import FileBearingIngestor

    class Docs(FileBearingIngestor):
        category = "doc_classification"
        folder_option = "docs"
        max_batch_rows = 2

        def workers(self, ctx):
            return 3

    (tmp_path / "manifest.csv").write_text("filename,label\n a.txt ,x\n,y\nsub/b.txt,x\n", encoding="utf-8")
    flags = {
        "database_url": sqlite_url, "table": "t", "output_dir": str(tmp_path / "o"),
        "label_file": str(tmp_path / "manifest.csv"), "storage_path": str(tmp_path / "shared"),
    }
    settings = load_settings(flags, {}, cwd=tmp_path)
    docs = Docs()
    ctx = RunContext(settings=settings, run_id="r1", category=docs.spec(), source_root=tmp_path)
    batches = list(docs.discover(ctx))
    assert [b.num_rows for b in batches] == [2, 1]  # split at max_batch_rows whatever BATCH_SIZE says
    members = [m for b in batches for m in b.column("_tb_member").to_pylist()]
    files = [f for b in batches for f in b.column("_tb_file").to_pylist()]
    assert members == ["a.txt", None, "sub/b.txt"] and files == ["docs/a.txt", None, "docs/sub/b.txt"]
    assert "filename" in docs.excluded_columns(ctx)
    store = docs.make_store(ctx)
    assert store.folder == tmp_path / "shared" / "t" and store.workers == 3
    assert docs.spec().file_bearing


# -- a full or read-only store: the cause in words, nothing partial --------------------------------

import contextlib
import subprocess


@contextlib.contextmanager
def mounted(target: Path, *args: str):
    """``mount`` for this test (tmpfs, bind); skipped without the right to mount, except under CI=true."""
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and mount failed: {done.stderr.strip()}")
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _docs_run_filling(tmp_path, storage: Path, sizes, filler: Path):
    """Like _docs_run, but the volume is filled up right after the validation pass."""
    from tracebloc_ingestor.api import hookimpl

    class Filler:
        @hookimpl
        def tb_transform(self, batch):
            if not filler.exists():
                with open(filler, "wb") as fh:
                    try:
                        fh.write(b"\0" * (4 << 20))
                    except OSError:
                        pass
            return batch

    return _docs_run(tmp_path, storage, sizes, plugins=[Filler()], one_pass=False)


def _docs_run(tmp_path, storage: Path, sizes, plugins=(), *, one_pass=True):
    from tracebloc_ingestor.api import FileCategory, PathValue, Option
    from tracebloc_ingestor.testing.runs import run_plugin

    class Docs(FileCategory):
        category = "docs_demo"
        data_format = "text"
        folder_option = "docs"
        options = (Option("docs", PathValue(), help="Folder."),)

        def single_pass(self, ctx):
            return one_pass

    (tmp_path / "docs").mkdir()
    rows = []
    for i, size in enumerate(sizes):
        (tmp_path / "docs" / f"d{i}.bin").write_bytes(os.urandom(size))
        rows.append(f"d{i}.bin,{'ab'[i % 2]}")
    (tmp_path / "m.csv").write_text("filename,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    flags = {"label_file": str(tmp_path / "m.csv"), "src_path": str(tmp_path), "table": "docs",
             "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}", "output_dir": str(tmp_path / "out"), "storage_path": str(storage)}
    return run_plugin(Docs(), flags, plugins=plugins)


def test_a_full_store_says_so_in_words_with_the_file_and_the_space(tmp_path):
    # the free-space check passes (the volume fills up while the run writes: another writer, say)
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=256k", "tmpfs") as store:
        filler = store / "other.bin"
        report, out, err = _docs_run_filling(tmp_path, store, [60_000] * 4, filler)
        assert report.exit_code == 1, out
        assert "file store: no space left on device while writing docs/d" in report.message
        assert "MiB free" in report.message and "MiB needed" in report.message
        assert "📁 File Transfer Failures: 1" in out
        # nothing published, nothing partial under any name: at most the run's staging folder, removed by the next run
        assert not (store / "docs").exists() or not list((store / "docs").iterdir())


def test_a_read_only_store_is_found_before_anything_is_read(tmp_path):
    (tmp_path / "ro-source").mkdir()
    with mounted(tmp_path / "ro", "--bind", "-o", "ro", str(tmp_path / "ro-source")) as store:
        report, out, err = _docs_run(tmp_path, store, [100, 200])
        assert report.exit_code == 1, out
        assert report.message.startswith("the run cannot start")
        assert [(i.rule, i.severity) for i in report.issues] == [("destination", "error")]
        assert "is on a read-only file system" in report.issues[0].message
        assert report.counters.total == 0  # nothing was read


def test_an_os_failure_during_the_run_names_its_cause_and_path():
    from tracebloc_ingestor.failures import describe_failure

    store = Path("/vol/shared")
    message, reason = describe_failure(OSError(28, "No space left on device", "/vol/shared/t/x.jpg"),
                                       [("source", Path("/vol")), ("store", store)])
    assert (message, reason) == ("No space left on device (ENOSPC) at store t/x.jpg", "no_space")
    message, reason = describe_failure(ValueError("customer 4711 has a bad value"))
    assert "4711" not in message and message.startswith("ValueError during the run") and reason == "internal_error"


def test_too_little_free_space_for_the_files_found_stops_before_writing(tmp_path):
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=256k", "tmpfs") as store:
        # two passes: the files are copied after validation, so their space is checked first
        report, out, err = _docs_run(tmp_path, store, [120_000] * 4, one_pass=False)  # 469 KiB of files for 256 KiB
        assert report.exit_code == 1 and [i.rule for i in report.issues] == ["free_space"]
        assert "MiB at" in report.issues[0].message and "are free" in report.issues[0].message
        assert not (store / "docs").exists()  # nothing written
def shout(path: Path) -> bytes:
    """A producer that can be pickled (module level): upper-case bytes."""
    return path.read_bytes().upper()


def test_staged_files_are_published_at_once_and_producers_run_in_worker_processes(source, tmp_path):
    from tracebloc_ingestor.files.store import STAGING_PREFIX

    (source / "images" / "c.txt").write_bytes(b"abc" * 100)
    (source / "images" / "d.txt").write_bytes(b"def" * 100)
    store = FileStore(tmp_path / "shared" / "t", process_producers=True)
    store.open("id-1", table="t", deferred=True)
    folder = tmp_path / "shared" / "t"
    staged = store.stage("c.txt", source / "images" / "c.txt")
    assert staged is not None and staged.read_bytes() == b"abc" * 100 and not folder.exists()
    early = store.produce_early("c.txt", shout)
    assert early == (store._processes is not None)  # processes unless this process ran threads already
    store.stage("d.txt", source / "images" / "d.txt")
    results = store.store([
        CopyJob("c.txt", source / "images" / "c.txt", produce=shout),
        CopyJob("d.txt", source / "images" / "d.txt", produce=lambda p: p.read_bytes()[:3]),  # not picklable: a thread
    ])
    assert sorted((r.name, r.size) for r in results) == [("c.txt", 300), ("d.txt", 3)]
    assert not folder.exists()  # nothing visible before publishing
    store.publish()
    store.close()
    assert (folder / "c.txt").read_bytes() == b"ABC" * 100 and (folder / "d.txt").read_bytes() == b"def"
    ledger = {e["name"]: e["sha256"] for e in map(json.loads, (folder / LEDGER_NAME).read_text().splitlines())}
    assert ledger == {"c.txt": sha(b"ABC" * 100), "d.txt": sha(b"def")}
    assert not [n for n in os.listdir(tmp_path / "shared") if n.startswith(STAGING_PREFIX)]


def test_a_store_that_is_not_published_leaves_only_its_staging_folder_until_the_next_run(source, tmp_path):
    from tracebloc_ingestor.files.store import STAGING_PREFIX

    first = FileStore(tmp_path / "shared" / "t")
    first.open("id-1", table="t", deferred=True)
    first.stage("a.jpg", source / "images" / "a.jpg")
    # killed here: no publish, no clean-up
    left = [n for n in os.listdir(tmp_path / "shared") if n.startswith(STAGING_PREFIX)]
    assert len(left) == 1 and not (tmp_path / "shared" / "t").exists()
    second = FileStore(tmp_path / "shared" / "t")
    second.open("id-1", table="t", deferred=True)
    second.stage("a.jpg", source / "images" / "a.jpg")
    second.publish()
    assert sorted(os.listdir(tmp_path / "shared")) == ["t"]
    assert (tmp_path / "shared" / "t" / "a.jpg").read_bytes() == b"A" * 5000


def test_in_one_pass_a_volume_filling_up_while_staging_is_named_with_the_space(tmp_path):
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=256k", "tmpfs") as store:
        report, out, err = _docs_run(tmp_path, store, [120_000] * 4)
        assert report.exit_code == 1 and report.passes == 1
        assert "no space left on device while writing docs/d" in report.message
        assert "MiB free" in report.message and "MiB needed" in report.message
        assert not (store / "docs").exists()  # nothing published
