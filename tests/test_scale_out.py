"""One dataset ingested by N processes, as the pods of an Indexed Job: real tb-ingest processes, real MariaDB.

N shards (1, 2, 4) give the same table (same rows, same data_ids), the same stored files and
the same registration (but for the run id) as one process; a shard killed mid-write and
started again converges to the same; a shard with a bad record fails the whole run with
nothing written or registered; two runs of one table keep apart.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tracebloc_ingestor.testing.fixtures import require_mysql
from tracebloc_ingestor.testing.mysql import temporary_database
from tracebloc_ingestor.testing.shards import finish, seed_salt, start_shards, tb_ingest

ROOT = Path(__file__).resolve().parents[1]
TITLE = "Scaled-out dataset"
FRAMEWORK_NOISE = ("id", "created_at", "updated_at", "ingestor_id")


def clean_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "CLIENT_", "BACKEND_", "SHARD", "JOB_", "INGESTOR_"))}
    for key in ("DATABASE_URL", "LABEL_FILE", "TABLE_NAME", "SRC_PATH", "INGEST_CONFIG", "TITLE", "LOG_LEVEL", "BATCH_SIZE"):
        env.pop(key, None)
    env.update(TRACEBLOC_QUIET="true", TITLE=TITLE, **extra)
    return env


# -- inputs


def write_tabular(folder: Path, rows: int = 3000) -> Path:
    """A table with repeated records (identical rows are separate samples), NULLs, decimals and doubles."""
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(20261201)
    records = []
    for i in range(rows):
        if i % 9 == 8:
            records.append(records[rnd.randrange(len(records))])  # a repeat of an earlier record
            continue
        records.append([
            rnd.choice(["Oslo", "Lima", "Pune", "Kyiv", ""]),
            str(rnd.randint(18, 90)),
            "" if i % 17 == 0 else f"{rnd.uniform(0, 99999):.2f}",
            repr(rnd.gauss(0, 1) * 10 ** rnd.randint(-6, 6)),
            rnd.choice(["yes", "no", "maybe"]),
        ])
    with open(folder / "data.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["city", "age", "income", "score", "label"])
        writer.writerows(records)
    config = folder / "ingest.yaml"
    config.write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: tabular_classification\ntable: people\n"
        "intent: train\ncsv: data.csv\nlabel: label\nschema:\n  city: VARCHAR(16)\n  age: INT\n"
        "  income: DECIMAL(10,2)\n  score: DOUBLE\n",
        encoding="utf-8",
    )
    return config


def write_images(folder: Path, count: int = 150) -> Path:
    """Small drawn images of three classes, PNG and JPEG, named by a manifest."""
    from PIL import Image, ImageDraw

    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(1201)
    rows = []
    for i in range(count):
        label = ("circle", "square", "bar")[i % 3]
        im = Image.new("RGB", (40, 40), (rnd.randint(180, 255), rnd.randint(180, 255), rnd.randint(180, 255)))
        draw = ImageDraw.Draw(im)
        box = (rnd.randint(0, 10), rnd.randint(0, 10), rnd.randint(24, 39), rnd.randint(24, 39))
        (draw.ellipse if label == "circle" else draw.rectangle)(box, fill=(rnd.randint(0, 120), 40, 90))
        ext = ".png" if i % 4 else ".jpg"
        im.save(images / f"{label}_{i:04d}{ext}")
        rows.append((f"{label}_{i:04d}{ext}", label))
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["filename", "label"])
        writer.writerows(rows)
    config = folder / "ingest.yaml"
    config.write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: image_classification\ntable: shapes\n"
        "intent: train\ncsv: labels.csv\nimages: images\nlabel: label\ntarget_size: [40, 40]\n",
        encoding="utf-8",
    )
    return config


# -- what a run leaves


def table_rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                return []
            columns = [c["name"] for c in sa.inspect(conn).get_columns(table) if c["name"] not in FRAMEWORK_NOISE]
            names = ", ".join(f"`{c}`" for c in columns)
            return sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT {names} FROM `{table}`"))
    finally:
        engine.dispose()


def run_ids(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.exec_driver_sql(f"SELECT DISTINCT ingestor_id FROM `{table}`")}
    finally:
        engine.dispose()


def stored_files(store: Path) -> dict[str, str]:
    if not store.is_dir():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in store.iterdir() if not p.name.startswith(".")}


def payload(output: Path, table: str) -> dict:
    data = json.loads((output / f"{table}.registration.json").read_text(encoding="utf-8"))
    return data.get("payload", data)


def comparable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "ingestor_id"}


def one_process(config: Path, url: str, work: Path, **env) -> subprocess.CompletedProcess:
    environ = clean_env(DATABASE_URL=url, TRACEBLOC_OUTPUT_DIR=str(work / "out"), STORAGE_PATH=str(work / "store"), **env)
    return subprocess.run([tb_ingest(), "--config", str(config)], capture_output=True, text=True, env=environ, timeout=300)


def shard_env(url: str, work: Path, **env) -> dict[str, str]:
    return clean_env(DATABASE_URL=url, TRACEBLOC_OUTPUT_DIR=str(work / "out"), STORAGE_PATH=str(work / "store"),
                     LOG_LEVEL="INFO", **env)


def outputs(shards) -> str:
    return "\n".join(f"--- shard {s.index} (exit {s.returncode})\n{s.stdout}\n{s.stderr}" for s in shards)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale_out_inputs")
    return {"tabular": (write_tabular(folder / "tabular"), "people"), "image": (write_images(folder / "images"), "shapes")}


@pytest.fixture(scope="module")
def baselines(inputs, tmp_path_factory):
    """Each input ingested by one process without shards: what every sharded run must equal."""
    require_mysql()
    found = {}
    with temporary_database() as tab_url, temporary_database() as img_url:
        for kind, url in (("tabular", tab_url), ("image", img_url)):
            config, table = inputs[kind]
            work = tmp_path_factory.mktemp(f"one_{kind}")
            proc = one_process(config, url, work, BATCH_SIZE="700")
            assert proc.returncode == 0, proc.stdout + proc.stderr
            found[kind] = {"url": url, "rows": table_rows(url, table), "files": stored_files(work / "store" / table),
                           "payload": payload(work / "out", table)}
        yield found


@pytest.mark.parametrize("kind", ["tabular", "image"])
@pytest.mark.parametrize("count", [1, 2, 4])
def test_n_shards_give_what_one_process_gives(tmp_path, inputs, baselines, kind, count):
    config, table = inputs[kind]
    base = baselines[kind]
    with temporary_database() as url:
        seed_salt(base["url"], url, table)  # the same salt: data_ids comparable across the two databases
        run_id = str(uuid.uuid4())
        shards = finish(start_shards(["--config", str(config)], shard_env(url, tmp_path, BATCH_SIZE="700"), count,
                                     tmp_path / "logs", run_id=run_id))
        assert [s.returncode for s in shards] == [0] * count, outputs(shards)
        assert table_rows(url, table) == base["rows"]  # same rows, same data_ids
        assert run_ids(url, table) == {run_id}
    assert stored_files(tmp_path / "store" / table) == base["files"]
    body = payload(tmp_path / "out", table)
    assert body["ingestor_id"] == run_id
    assert comparable(body) == comparable(base["payload"])
    # exactly one shard registered the run; each shard's summary says which part it played
    registered = [s for s in shards if "Status: success" in s.stdout]
    assert len(registered) == 1, outputs(shards)
    assert f"Total Records Found: {len(base['rows']):,}" in registered[0].stdout
    assert sum("Status: loaded" in s.stdout for s in shards) == count - 1


def test_companion_files_of_object_detection_are_sharded_with_their_records(tmp_path, mysql_url):
    """Images with their annotation files (companions): three shards store what one process stores."""
    config = ROOT / "tracebloc-ingestor-image/templates/object_detection/ingest.yaml"
    with temporary_database() as one_url:
        proc = one_process(config, one_url, tmp_path / "one")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        seed_salt(one_url, mysql_url, "scenes_sample")
        expected_rows = table_rows(one_url, "scenes_sample")
    shards = finish(start_shards(["--config", str(config)], shard_env(mysql_url, tmp_path / "n"), 3, tmp_path / "logs"))
    assert [s.returncode for s in shards] == [0, 0, 0], outputs(shards)
    assert table_rows(mysql_url, "scenes_sample") == expected_rows
    expected_files = stored_files(tmp_path / "one" / "store" / "scenes_sample")
    assert any(name.endswith(".xml") for name in expected_files)
    assert stored_files(tmp_path / "n" / "store" / "scenes_sample") == expected_files
    assert comparable(payload(tmp_path / "n" / "out", "scenes_sample")) == comparable(payload(tmp_path / "one" / "out", "scenes_sample"))


def _ledger_lines(store: Path, run_id: str, index: int) -> int:
    path = store / f".tracebloc-files-{run_id}-{index}.jsonl"
    try:
        return len(path.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return 0


def test_a_shard_killed_mid_write_and_started_again_converges(tmp_path, mysql_url):
    config = write_images(tmp_path / "input", count=900)
    with temporary_database() as one_url:
        proc = one_process(config, one_url, tmp_path / "one")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        seed_salt(one_url, mysql_url, "shapes")
        expected_rows = table_rows(one_url, "shapes")
    work = tmp_path / "n"
    env = shard_env(mysql_url, work, BATCH_SIZE="10", TRACEBLOC_DISABLE_LOAD_DATA="1")
    run_id = str(uuid.uuid4())
    shards = start_shards(["--config", str(config)], env, 2, work / "logs", run_id=run_id)
    victim = shards[1]
    deadline = time.monotonic() + 120
    while _ledger_lines(work / "store" / "shapes", run_id, 1) < 3:  # shard 1 has published files: it is writing
        assert victim.process.poll() is None, "shard 1 finished before it could be killed:\n" + outputs(shards)
        assert time.monotonic() < deadline, outputs(shards)
        time.sleep(0.005)
    victim.process.send_signal(signal.SIGKILL)
    finish(shards)
    assert victim.returncode == -signal.SIGKILL
    assert shards[0].returncode == 0 and "Status: loaded" in shards[0].stdout, outputs(shards)
    assert not (work / "out" / "shapes.registration.json").exists()  # nothing registered without shard 1
    partial = table_rows(mysql_url, "shapes")
    assert len(partial) < len(expected_rows)
    # the pod is retried: the same shard of the same run
    again = finish(start_shards(["--config", str(config)], env, 2, work / "retry", run_id=run_id, indices=[1]))
    assert again[0].returncode == 0, outputs(again)
    assert "Status: success" in again[0].stdout  # it finished last: it registered the run
    assert table_rows(mysql_url, "shapes") == expected_rows
    assert stored_files(work / "store" / "shapes") == stored_files(tmp_path / "one" / "store" / "shapes")
    assert comparable(payload(work / "out", "shapes")) == comparable(payload(tmp_path / "one" / "out", "shapes"))
    assert not any(p.name.startswith(".tb-staging-") for p in (work / "store").iterdir())
    # and once more (a retry after success): nothing to do, success
    late = finish(start_shards(["--config", str(config)], env, 2, work / "late", run_id=run_id, indices=[0]))
    assert late[0].returncode == 0 and "is registered already" in late[0].stdout, outputs(late)


def test_a_bad_record_in_one_shard_fails_the_whole_run(tmp_path, mysql_url, backend_double):
    folder = tmp_path / "input"
    config = write_tabular(folder, rows=600)
    lines = (folder / "data.csv").read_text(encoding="utf-8").splitlines()
    fields = lines[300].split(",")
    fields[1] = "forty"  # age is an INT
    lines[300] = ",".join(fields)
    (folder / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = shard_env(mysql_url, tmp_path, TRACEBLOC_API_URL=backend_double.url, BACKEND_TOKEN=backend_double.token)
    run_id = str(uuid.uuid4())
    shards = finish(start_shards(["--config", str(config)], env, 3, tmp_path / "logs", run_id=run_id))
    assert [s.returncode for s in shards] == [1, 1, 1], outputs(shards)
    bad = [s for s in shards if "[integer]" in s.stderr]
    assert len(bad) == 1  # the shard that holds the record names it
    assert "row 300, column 'age'" in bad[0].stderr
    for s in shards:
        if s is not bad[0]:
            assert f"shard {bad[0].index}: 1 error" in s.stdout and "nothing was written" in s.stdout, outputs(shards)
    assert table_rows(mysql_url, "people") == []
    assert backend_double.registrations() == []
    assert backend_double.failures() == []  # an invalid input is not a failure to report (as without shards)
    # a retried pod of the failed run stops at once, saying why
    retry = finish(start_shards(["--config", str(config)], env, 3, tmp_path / "retry", run_id=run_id, indices=[2]))
    assert retry[0].returncode == 1 and "validation found errors" in retry[0].stdout


def test_two_runs_of_one_table_keep_apart(tmp_path, mysql_url):
    """While a run's shards live, another sharded run and a run without shards wait; then they verify it."""
    config = write_tabular(tmp_path / "input", rows=400)
    first_id = str(uuid.uuid4())
    env = shard_env(mysql_url, tmp_path / "a")
    first = start_shards(["--config", str(config)], env, 2, tmp_path / "a" / "logs", run_id=first_id, indices=[0])
    engine = sa.create_engine(mysql_url)

    def shard_rows() -> list[tuple]:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("tracebloc_ingest_shards"):
                return []
            return [tuple(r) for r in conn.exec_driver_sql("SELECT ingestor_id, shard, state FROM tracebloc_ingest_shards")]

    deadline = time.monotonic() + 60
    while (first_id, 0, "validated") not in shard_rows():  # shard 0 waits at the barrier for shard 1
        assert time.monotonic() < deadline and first[0].process.poll() is None, outputs(first)
        time.sleep(0.05)
    second_id = str(uuid.uuid4())
    second = start_shards(["--config", str(config)], shard_env(mysql_url, tmp_path / "b"), 1, tmp_path / "b" / "logs",
                          run_id=second_id)
    plain = subprocess.Popen([tb_ingest(), "--config", str(config)], env=clean_env(DATABASE_URL=mysql_url,
                             TRACEBLOC_OUTPUT_DIR=str(tmp_path / "c" / "out")), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    assert second[0].process.poll() is None and plain.poll() is None  # both wait for the first run
    assert all(row[0] == first_id for row in shard_rows())
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("people")  # nothing written while the first run validates
    first += start_shards(["--config", str(config)], env, 2, tmp_path / "a" / "logs", run_id=first_id, indices=[1])
    finish(first)
    assert [s.returncode for s in first] == [0, 0], outputs(first)
    finish(second)
    out, err = plain.communicate(timeout=120)
    assert second[0].returncode == 0, outputs(second)
    assert plain.returncode == 0, out + err
    # the later runs found the first run's dataset: they verified it and wrote nothing of their own
    assert run_ids(mysql_url, "people") == {first_id}
    assert "already present from an earlier identical run: 400" in out
    engine.dispose()


def test_a_shard_that_never_comes_fails_the_run_after_shard_wait(tmp_path, mysql_url, backend_double):
    config = write_tabular(tmp_path / "input", rows=200)
    env = shard_env(mysql_url, tmp_path, SHARD_WAIT="2", TRACEBLOC_API_URL=backend_double.url,
                    BACKEND_TOKEN=backend_double.token)
    run_id = str(uuid.uuid4())
    alone = finish(start_shards(["--config", str(config)], env, 3, tmp_path / "logs", run_id=run_id, indices=[0]))
    assert alone[0].returncode == 1, outputs(alone)
    assert "shards 1, 2 did not finish validating within 2 s (SHARD_WAIT)" in alone[0].stdout
    assert table_rows(mysql_url, "people") == []
    assert backend_double.failures() == [{"ingestor_id": run_id, "reason": "shard_timeout"}]
    assert backend_double.registrations() == []
    late = finish(start_shards(["--config", str(config)], env, 3, tmp_path / "late", run_id=run_id, indices=[1]))
    assert late[0].returncode == 1 and f"run {run_id} failed" in late[0].stdout, outputs(late)
