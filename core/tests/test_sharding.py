"""Shards without a database: which records a shard keeps, exact statistics, settings, the shared file store."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tracebloc_ingestor.api import BaseIngestor, FileCategory
from tracebloc_ingestor.builtins import RecordIdentity
from tracebloc_ingestor.context import RunContext
from tracebloc_ingestor.files.store import CopyJob, FileStore
from tracebloc_ingestor.settings import ConfigError, load_settings
from tracebloc_ingestor.sharding import DIGEST, Shard, ShardFilter, key_shards
from tracebloc_ingestor.stats import Numeric, Tally, Total, dump_stats, exact_sum, load_stats, merge_stats
from tracebloc_ingestor.testing.runs import run_plugin

RUN = "56f65c7e-fcf0-4a6a-bbaa-34e54cfdfbf6"
MYSQL = "mysql+pymysql://u@db.invalid/d"


def _ctx(tmp_path: Path, impl, **flags) -> RunContext:
    settings = load_settings({"table": "t", **flags}, {}, cwd=tmp_path)
    return RunContext(settings=settings, run_id=RUN, category=impl.spec(), source_root=tmp_path)


def _table(n: int = 400) -> pa.RecordBatch:
    rnd = random.Random(7)
    cities = [rnd.choice(["Oslo", "Lima", "Pune", None]) for _ in range(n)]
    ages = [rnd.randint(18, 30) for _ in range(n)]  # few distinct (age, city): many identical records
    return pa.record_batch({"age": pa.array(ages), "city": pa.array(cities), "_tb_row": pa.array(range(1, n + 1), pa.int64())})


def _split(ctx, impl, batch, count):
    parts = []
    for index in range(count):
        identity = RecordIdentity(b"s" * 32)
        parts.append(ShardFilter(Shard(index, count), impl, identity).select(ctx, batch))
    return parts


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_every_record_is_in_exactly_one_shard_and_identical_records_share_it(tmp_path, count):
    impl = BaseIngestor()
    ctx = _ctx(tmp_path, impl)
    batch = _table()
    parts = _split(ctx, impl, batch, count)
    rows = [r for part in parts for r in part.column("_tb_row").to_pylist()]
    assert sorted(rows) == list(range(1, batch.num_rows + 1))  # all of them, none twice
    shard_of = {}
    for index, part in enumerate(parts):
        for age, city in zip(part.column("age").to_pylist(), part.column("city").to_pylist()):
            assert shard_of.setdefault((age, city), index) == index  # identical records: one shard
    assert all(DIGEST in part.schema.names for part in parts)  # the digest goes on to the record identity


def test_ids_are_the_same_as_in_one_process(tmp_path):
    """Repeats are numbered within a shard exactly as in one process: identical records keep their order."""
    impl = BaseIngestor()
    ctx = _ctx(tmp_path, impl)
    batch = _table()
    whole = RecordIdentity(b"s" * 32)
    whole.validate(ctx, batch)
    expected = dict(zip(batch.column("_tb_row").to_pylist(), whole.transform(ctx, batch).column("data_id").to_pylist()))
    got = {}
    for index in range(3):
        identity = RecordIdentity(b"s" * 32)
        part = ShardFilter(Shard(index, 3), impl, identity).select(ctx, batch)
        identity.validate(ctx, part)
        got.update(zip(part.column("_tb_row").to_pylist(), identity.transform(ctx, part).column("data_id").to_pylist()))
    assert got == expected
    assert len(set(expected.values())) == batch.num_rows  # repeats got ids of their own


def test_equal_id_values_share_a_shard(tmp_path):
    impl = BaseIngestor()
    ctx = _ctx(tmp_path, impl, data_id_strategy="column", data_id_column="ref")
    refs = [f"r{i % 50}" for i in range(300)]
    batch = pa.record_batch({"ref": refs, "x": list(range(300)), "_tb_row": pa.array(range(1, 301), pa.int64())})
    seen = {}
    for index, part in enumerate(_split(ctx, impl, batch, 4)):
        for ref in part.column("ref").to_pylist():
            assert seen.setdefault(ref, index) == index


def test_the_key_hash_is_stable():
    # a stored name decides its shard the same way in every process and every version
    assert key_shards(["cat_001", "dog_002", "x"], 4).tolist() == [
        int.from_bytes(__import__("hashlib").blake2b(k.encode(), digest_size=8).digest(), "big") % 4
        for k in ("cat_001", "dog_002", "x")
    ]
    assert key_shards(["cat_001"], 1).tolist() == [0]


class _Pictures(FileCategory):
    category = "pictures_demo"
    extensions = (".png",)


def test_a_file_category_shards_by_stored_name_and_sees_every_name(tmp_path):
    """Rows naming one file go to one shard; a companion-free name clash across shards is still found."""
    impl = _Pictures()
    ctx = _ctx(tmp_path, impl)
    names = [f"a/img{i % 40}.png" for i in range(120)] + ["b/img3.png"]  # b/img3 clashes with a/img3 by name
    batch = pa.record_batch({"filename": names, "label": ["x"] * len(names), "_tb_row": pa.array(range(1, 122), pa.int64())})
    batch = impl.with_paths(ctx, batch)
    keys = impl.shard_key(ctx, batch)
    assert keys[0] == "img0" and keys[-1] == "img3"
    for count in (2, 3):
        parts = _split(ctx, impl, batch, count)
        holders = [i for i, p in enumerate(parts) if "b/img3.png" in p.column("filename").to_pylist()]
        owners = [i for i, p in enumerate(parts) if "a/img3.png" in p.column("filename").to_pylist()]
        assert holders == owners  # same stored name, same shard: the clash is found there


def test_the_write_pass_selects_the_same_rows_without_hashing(tmp_path):
    impl = BaseIngestor()
    ctx = _ctx(tmp_path, impl)
    batch = _table()
    shard_filter = ShardFilter(Shard(1, 3), impl, RecordIdentity(b"s" * 32))
    first = list(shard_filter(ctx, [batch]))[0]
    shard_filter.identity = None  # the write pass must not need the identity (no hashing)
    import attrs

    second = list(shard_filter(attrs.evolve(ctx, phase="write"), [batch]))[0]
    assert second.column("_tb_row").to_pylist() == first.column("_tb_row").to_pylist()
    shard_filter.close()


# -- exact, mergeable statistics


def test_exact_sums_do_not_depend_on_the_split():
    rnd = np.random.default_rng(3)
    values = np.concatenate([rnd.normal(0, 1e6, 5000), rnd.normal(0, 1e-6, 5000), [1e300, -1e300, 5e-324]])
    whole = exact_sum(values)
    assert whole == sum(Fraction(float(v)) for v in values)
    shuffled = rnd.permutation(values)
    parts = sum((exact_sum(chunk) for chunk in np.array_split(shuffled, 7)), Fraction(0))
    assert parts == whole
    assert exact_sum([]) == 0
    assert exact_sum([1.0, float("inf")]) == float("inf")


def test_numeric_mean_and_std_are_the_same_however_merged():
    rnd = np.random.default_rng(5)
    values = rnd.normal(100, 15, 10_000)

    def numeric(part):
        return Numeric(count=len(part), total=exact_sum(part), total_sq=exact_sum(part * part),
                       minimum=float(part.min()), maximum=float(part.max()))

    one = numeric(values)
    for pieces in (2, 3, 10):
        chunks = [numeric(c) for c in np.array_split(values, pieces)]
        random.Random(pieces).shuffle(chunks)
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged = merged.merge(chunk)
        assert merged.to_json() == one.to_json()


def test_statistics_survive_json_without_a_bit_lost():
    stats = {
        "records": Total(12),
        "labels": Tally({"cat": 3, "dog": 9}),
        "feature.x": Numeric(count=3, nulls=1, minimum=0.1, maximum=2.5e-300, total=Fraction(1, 3), total_sq=0.3),
        "feature.empty": Numeric(),
        "feature.huge": Numeric(count=1, total=float("inf"), total_sq=float("inf")),
    }
    text = json.dumps(dump_stats(stats))
    back = load_stats(json.loads(text))
    assert back == stats
    merged = merge_stats(dict(back), back)
    assert merged["labels"] == Tally({"cat": 6, "dog": 18})
    assert merged["feature.x"].total == Fraction(2, 3)


def test_other_statistics_cannot_cross_shards():
    class Odd:
        def merge(self, other):
            return self

    with pytest.raises(TypeError, match="only Total, Tally and Numeric"):
        dump_stats({"odd": Odd()})


# -- settings


def test_an_indexed_job_gives_the_shard_and_the_run_id(tmp_path):
    s = load_settings({"table": "t"}, {"SHARDS": "4", "JOB_COMPLETION_INDEX": "3", "JOB_UID": RUN.upper(),
                                       "DATABASE_URL": MYSQL}, cwd=tmp_path)
    assert s.shard == (3, 4) and s.ingestor_id == RUN
    s = load_settings({"table": "t", "shard": "0/2"}, {"INGESTOR_ID": RUN, "JOB_UID": "0b9c2f1e-6c1d-4a8e-9a55-3f0e7f6b2d11",
                                                        "DATABASE_URL": MYSQL}, cwd=tmp_path)
    assert s.shard == (0, 2) and s.ingestor_id == RUN  # INGESTOR_ID wins over the Job's uid
    s = load_settings({"table": "t"}, {}, cwd=tmp_path)
    assert s.shard is None and s.ingestor_id is None


@pytest.mark.parametrize("flags,environ,message", [
    ({"shard": "2/2"}, {"INGESTOR_ID": RUN, "DATABASE_URL": MYSQL}, "the index must be 0 to 1"),
    ({"shard": "1/0"}, {"INGESTOR_ID": RUN, "DATABASE_URL": MYSQL}, "the number of shards must be 1 to"),
    ({"shard": "a/b"}, {}, "must be INDEX/COUNT"),
    ({"shard": "0/2"}, {"SHARDS": "3", "INGESTOR_ID": RUN, "DATABASE_URL": MYSQL}, "says 2 shards but environment SHARDS says 3"),
    ({}, {"SHARDS": "3", "INGESTOR_ID": RUN, "DATABASE_URL": MYSQL}, "needs this process's index"),
    ({}, {"SHARDS": "3", "JOB_COMPLETION_INDEX": "3", "INGESTOR_ID": RUN, "DATABASE_URL": MYSQL}, "the Job's completions must equal SHARDS"),
    ({}, {"JOB_COMPLETION_INDEX": "1"}, "SHARDS is not"),
    ({"shard": "0/2"}, {"DATABASE_URL": MYSQL}, "needs one run id for all its shards"),
    ({"shard": "0/2"}, {"INGESTOR_ID": RUN}, "needs a MySQL/MariaDB database"),
    ({"shard": "0/2", "data_id_strategy": "uuid"}, {"INGESTOR_ID": RUN, "DATABASE_URL": MYSQL}, "'uuid' gives new ids"),
    ({}, {"INGESTOR_ID": "not-a-uuid"}, "must be a UUID"),
])
def test_shard_settings_that_cannot_work_are_refused(tmp_path, flags, environ, message):
    with pytest.raises(ConfigError) as caught:
        load_settings({"table": "t", **flags}, environ, cwd=tmp_path)
    assert message in str(caught.value)


def test_a_table_without_a_declared_schema_cannot_be_sharded(tmp_path):
    (tmp_path / "data.csv").write_text("age,label\n1,a\n2,b\n")
    report, out, err = run_plugin(BaseIngestor(), {"label_file": str(tmp_path / "data.csv"), "table": "demo", "shard": "0/2",
                                                   "output_dir": str(tmp_path / "out")},
                                  {"INGESTOR_ID": RUN, "DATABASE_URL": MYSQL})
    assert report.exit_code == 2
    assert "needs a declared schema" in err and "--shard" in err


# -- the shared file store


def _store(folder: Path, shard: int, count_run: str = RUN) -> FileStore:
    store = FileStore(folder / "ds")
    store.share(count_run, shard)
    store.open("identity", table="ds")
    return store


def test_shards_store_into_one_folder_each_with_its_own_ledger(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        (src / f"f{i}.bin").write_bytes(bytes([i]) * (100 + i))
    a, b = _store(tmp_path, 0), _store(tmp_path, 1)
    a.store([CopyJob(f"f{i}.bin", src / f"f{i}.bin") for i in (0, 2, 4)])
    b.store([CopyJob(f"f{i}.bin", src / f"f{i}.bin") for i in (1, 3, 5)])
    folder = tmp_path / "ds"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [f"f{i}.bin" for i in range(6)]
    ledgers = sorted(p.name for p in folder.iterdir() if p.name.startswith(".tracebloc-files"))
    assert ledgers == [f".tracebloc-files-{RUN}-0.jsonl", f".tracebloc-files-{RUN}-1.jsonl"]
    a.close(), b.close()
    # shard 0 again (a retried pod): every file is found stored, by either shard's ledger
    again = _store(tmp_path, 0)
    done = again.store([CopyJob(f"f{i}.bin", src / f"f{i}.bin") for i in range(6)])
    assert [d.written for d in done] == [False] * 6
    again.close()


def test_a_shard_removes_its_own_leftovers_and_keeps_the_other_shards_staging(tmp_path):
    first = _store(tmp_path, 1)
    staging_of_1 = next(p for p in tmp_path.iterdir() if p.name.startswith(".tb-staging-ds-") and f"{RUN}s1-" in p.name)
    other = _store(tmp_path, 0)  # shard 0 opens while shard 1 is staging
    assert staging_of_1.is_dir()
    stale = tmp_path / ".tb-staging-ds-0123456789ab"  # a run without shards left this
    stale.mkdir()
    retry = _store(tmp_path, 1)  # shard 1 again: its old staging folder is its own leftover
    assert not staging_of_1.exists() and not stale.exists()
    for store in (first, other, retry):
        store.close()


def test_the_write_pass_reads_the_shards_records_back_instead_of_the_input(tmp_path):
    impl = BaseIngestor()
    ctx = _ctx(tmp_path, impl)
    batches = [_table(300), _table(200)]
    shard_filter = ShardFilter(Shard(0, 2), impl, RecordIdentity(b"s" * 32))
    first = list(shard_filter(ctx, iter(batches)))
    assert shard_filter.replayable
    again = list(shard_filter.replay())
    assert [b.to_pydict() for b in again] == [b.to_pydict() for b in first]
    shard_filter.close()
    assert not shard_filter.replayable


def test_a_shard_whose_records_cannot_be_kept_reads_the_input_again(tmp_path, monkeypatch):
    import tempfile

    impl = BaseIngestor()
    ctx = _ctx(tmp_path, impl)
    shard_filter = ShardFilter(Shard(1, 2), impl, RecordIdentity(b"s" * 32))
    real = tempfile.TemporaryFile

    def full(*args, prefix="", **kwargs):
        if prefix == "tb_shard_rows_":
            raise OSError(28, "No space left on device")
        return real(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    first = list(shard_filter(ctx, iter([_table()])))
    assert not shard_filter.replayable  # the write pass discovers again and selects the same rows
    import attrs

    second = list(shard_filter(attrs.evolve(ctx, phase="write"), iter([_table()])))
    assert second[0].column("_tb_row").to_pylist() == first[0].column("_tb_row").to_pylist()
    shard_filter.close()


def test_a_statistic_the_shards_cannot_merge_fails_the_run_naming_it():
    from tracebloc_ingestor.pipeline import RunFailed
    from tracebloc_ingestor.scaleout import _dumped

    class Odd:
        def merge(self, other):
            return self

    with pytest.raises(RunFailed, match="statistic 'odd' is a Odd") as caught:
        _dumped({"records": Total(1), "odd": Odd()})
    assert caught.value.reason == "statistics"


class _Masked(FileCategory):
    """A record's file plus a companion (a mask) named by the manifest, in the folder masks/."""

    category = "masked_demo"
    extensions = (".png",)
    file_columns = ("filename", "mask")

    def companions(self, ctx, batch, index, member):
        mask = batch.column("mask")[index].as_py()
        return [self.companion(ctx, "masks", mask)] if mask else []


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_a_companion_that_clashes_with_another_shards_file_is_found_once(tmp_path, count):
    """Row 2's file has the name of row 1's mask: one process refuses row 2; so do the shards, whatever N."""
    folder, masks = tmp_path / "files", tmp_path / "masks"
    folder.mkdir()
    masks.mkdir()
    for name in [f"img_{i}.png" for i in range(30)] + ["shared.png"]:
        (folder / name).write_bytes(b"x")
    (masks / "shared.png").write_bytes(b"m")
    manifest = {"filename": ["img_0.png", "shared.png"] + [f"img_{i}.png" for i in range(1, 30)],
                "mask": ["shared.png"] + [None] * 30, "label": ["a", "b"] * 15 + ["a"]}
    impl = _Masked()
    found = []
    for index in range(count):
        ctx = _ctx(tmp_path, impl)
        batch = pa.record_batch({**manifest, "_tb_row": pa.array(range(1, 32), pa.int64())})
        batch = impl.with_paths(ctx, batch)
        own = ShardFilter(Shard(index, count), impl, RecordIdentity(b"s" * 32)).select(ctx, batch)
        found += [(i.row, i.rule) for i in impl.validate(ctx, own) if i.is_error]
    assert found == [(2, "duplicate_name")]
