"""Scaling out on one machine: files/s and rows/s of one run split into 1, 2 and 4 shard processes.

    python bench/shards.py                      # 20,000 images and 1,000,000 rows; N = 1, 2, 4; 2 rounds
    python bench/shards.py --quick              # 4,000 images and 200,000 rows, one round
    python bench/shards.py --only images --shards 1,2,3,4 --rounds 3
    # --host/--port/--user/--password (or BENCH_MYSQL_PASSWORD) for the MySQL/MariaDB server

Each measurement is one run of the whole input: N ``tb-ingest`` processes started together
with the environment an Indexed Job gives its pods (``SHARDS``, ``JOB_COMPLETION_INDEX``,
one ``INGESTOR_ID``), timed from the first start to the last exit (start-up, the
validation barrier and the registration by the last shard included). The reference is
the same input ingested by one process without shards (``one process``), which may take
one pass and one streamed ``LOAD DATA`` where shards take two passes and chunked loads.
As in bench/run.py: whole processes, installed packages from bytecode, dirty pages written
back (``os.sync()``) and a fresh database and store folder before every measurement, the
order of the variants reversed from round to round, the best round of each counting.
Besides the wall time it notes the CPU seconds of the tb-ingest processes (their rusage)
and of the database server (its ``/proc`` counters, when it runs on this host), which show
what limits the speed-up: cores, the database, or the shared volume.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import images  # noqa: E402  (bench/images.py: the image sets)
import tabular  # noqa: E402  (bench/tabular.py: the CSV and its ingest config)


def tb() -> str:
    return os.path.join(os.path.dirname(sys.executable), "tb-ingest")


def settle() -> None:
    os.sync()
    time.sleep(0.5)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ("TRACEBLOC_", "MYSQL_", "DB_", "DATABASE_URL", "INGEST_CONFIG", "STORAGE_PATH", "LABEL_FILE", "TABLE_NAME",
         "SHARD", "JOB_", "INGESTOR_ID", "PYTHONDONTWRITEBYTECODE"))}
    env.update(LOG_LEVEL="WARNING", TRACEBLOC_QUIET="true", TRACEBLOC_DATA_REPORT="false", **extra)
    return env


def server_pid() -> int | None:
    """The MariaDB/MySQL server's process on this host, if any (for its CPU seconds)."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                name = Path(entry.path, "comm").read_text().strip()
            except OSError:
                continue
            if name in ("mariadbd", "mysqld"):
                return int(entry.name)
    return None


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Database:
    """A fresh database per measurement on the server given by the arguments."""

    def __init__(self, args) -> None:
        self.args = args

    def _connect(self):
        import pymysql

        return pymysql.connect(host=self.args.host, port=self.args.port, user=self.args.user,
                               password=self.args.password, autocommit=True)

    def create(self) -> str:
        name = f"tb_shards_{uuid.uuid4().hex[:8]}"
        conn = self._connect()
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
        password = f":{self.args.password}" if self.args.password else ""
        return f"mysql+pymysql://{self.args.user}{password}@{self.args.host}:{self.args.port}/{name}"

    def drop(self, url: str) -> None:
        conn = self._connect()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{url.rsplit('/', 1)[1]}`")
        conn.close()

    def version(self) -> str:
        conn = self._connect()
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            version = cur.fetchone()[0]
        conn.close()
        return version


def one_run(config: Path, shards: int, db: Database, work: Path, server: int | None) -> tuple[float, float, float]:
    """One run of ``config``: (wall seconds, CPU seconds of tb-ingest, CPU seconds of the server).

    ``shards`` 0 is one process without shards.
    """
    url = db.create()
    store, out = work / "store", work / "out"
    for path in (store, out):
        shutil.rmtree(path, ignore_errors=True)
    env = clean_env(DATABASE_URL=url, STORAGE_PATH=str(store), TRACEBLOC_OUTPUT_DIR=str(out))
    run_id = str(uuid.uuid4())
    environs = [env] if shards == 0 else [
        {**env, "SHARDS": str(shards), "JOB_COMPLETION_INDEX": str(i), "INGESTOR_ID": run_id} for i in range(shards)
    ]
    try:
        settle()
        server_before = cpu_seconds(server)
        start = time.perf_counter()
        procs = [subprocess.Popen([tb(), "--config", str(config)], env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for e in environs]
        cpu = 0.0
        failed = []
        for proc in procs:
            _pid, status, usage = os.wait4(proc.pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                failed.append(proc)
        wall = time.perf_counter() - start
        server_cpu = cpu_seconds(server) - server_before
        for proc in failed:
            sys.stderr.write(proc.stdout.read().decode(errors="replace")[-4000:])
        for proc in procs:
            proc.stdout.close()
        if failed:
            raise SystemExit(f"a tb-ingest process of the {shards}-shard run exited {failed[0].returncode}")
        return wall, cpu, server_cpu
    finally:
        db.drop(url)
        for path in (store, out):
            shutil.rmtree(path, ignore_errors=True)


def measure(name: str, unit: str, count: int, config: Path, variants: list[int], rounds: int, db: Database, work: Path,
            server: int | None) -> list[str]:
    one_run(config, max(variants), db, work, server)  # warm-up (page cache, bytecode), not counted
    best: dict[int, tuple[float, float, float]] = {}
    walls: dict[int, list[float]] = {v: [] for v in variants}
    for r in range(rounds):
        for shards in variants if r % 2 == 0 else list(reversed(variants)):
            got = one_run(config, shards, db, work, server)
            walls[shards].append(got[0])
            if shards not in best or got[0] < best[shards][0]:
                best[shards] = got
            print(f"  {name}, {_label(shards)}, round {r + 1}: {got[0]:.2f} s", flush=True)
    reference = best[0][0] if 0 in best else None
    lines = []
    for shards in variants:
        wall, cpu, server_cpu = best[shards]
        vs = f"{reference / wall:.2f} ×" if reference else "—"
        rounds_text = ", ".join(f"{w:.1f}" for w in walls[shards])
        db_text = f"{server_cpu:.1f}" if server is not None else "—"
        lines.append(f"| {name} | {_label(shards)} | {wall:.1f} s ({rounds_text}) | **{count / wall:,.0f} {unit}/s** | {vs} "
                     f"| {cpu:.1f} | {db_text} |")
    return lines


def _label(shards: int) -> str:
    return "one process" if shards == 0 else f"{shards} shard{'s' if shards > 1 else ''}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="images,tabular")
    parser.add_argument("--shards", default="1,2,4")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--images", type=int)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--work", type=Path, help="where the inputs are made (kept for the next run)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default=os.environ.get("BENCH_MYSQL_PASSWORD", ""))
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 2)
    image_count = args.images or (4_000 if args.quick else 20_000)
    row_count = args.rows or (200_000 if args.quick else 1_000_000)
    variants = [0] + [int(n) for n in args.shards.split(",")]
    only = set(args.only.split(","))
    work = args.work or Path(os.environ.get("TMPDIR", "/tmp")) / "tb-bench-shards"
    work.mkdir(parents=True, exist_ok=True)
    db = Database(args)
    server = server_pid()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    lines = ["| Work | Processes | Wall time (rounds) | Throughput | × one process | tb-ingest CPU-s | database CPU-s |",
             "|---|---|---|---|---|---|---|"]
    if "images" in only:
        folder = work / f"images-{image_count}"
        if not (folder / "labels.csv").exists():
            images.make_set(folder, image_count, mixed=False)
        images.warm(folder)
        lines += measure(f"{image_count:,} images (256² JPEG)", "files", image_count, folder / "ingest.yaml", variants,
                         rounds, db, work / "run", server)
    if "tabular" in only:
        folder = work / f"rows-{row_count}"
        folder.mkdir(exist_ok=True)
        csv_path = folder / "data.csv"
        if not csv_path.exists():
            tabular.generate(csv_path, row_count)
        config = tabular.write_config(folder, csv_path, "bench_rows")
        lines += measure(f"{row_count:,} rows × 20 columns", "rows", row_count, config, variants, rounds, db,
                         work / "run", server)
    end_load = os.getloadavg()
    print()
    print(f"Measured {started} with `python bench/shards.py{' --quick' if args.quick else ''}`, {os.cpu_count()} cores, "
          f"{db.version()}{' on the same host' if server else ''}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"at the start, {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f} at the end:")
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
