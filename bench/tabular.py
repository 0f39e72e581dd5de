"""Tabular load benchmark: tb-ingest against MariaDB's own LOAD DATA and a plain executemany.

Generates a deterministic CSV (default 1,000,000 rows x 20 columns: a row id, 8 ints,
8 floats, 2 short strings and a 4-class label) in a temporary folder and, against one
MySQL/MariaDB server, measures in one run:

  (a) LOAD DATA LOCAL INFILE of the raw CSV into a plain table
  (b) LOAD DATA of the same rows into the contract's layout (framework columns + typed
      features + a unique data_id), i.e. the limit for our layout
  (c) PyMySQL executemany of 1,000-row INSERT statements into the contract's layout
  (d) tb-ingest --plugin tabular_classification end to end, on the fast path (LOAD DATA)
      and on the INSERT path (TRACEBLOC_DISABLE_LOAD_DATA=1), plus a re-run of the fast
      path on the same file (must change no row)

A throwaway database is created and dropped. Usage:

    python bench/tabular.py [--rows 1000000] [--host 127.0.0.1] [--port 3306] [--user root]
                            [--password ''] [--keep-csv] [--only a,b,c,d]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

INTS = [f"i{k}" for k in range(1, 9)]
FLOATS = [f"f{k}" for k in range(1, 9)]
STRINGS = ["s1", "s2"]
LABELS = ["alpha", "beta", "gamma", "delta"]
FEATURES = {"row_id": "BIGINT", **{c: "INT" for c in INTS}, **{c: "DOUBLE" for c in FLOATS}, **{c: "VARCHAR(16)" for c in STRINGS}}
WORDS = np.array(["red", "green", "blue", "cyan", "magenta", "yellow", "black", "white", "grey", "teal", "navy", "olive"])


def generate(path: Path, rows: int, *, seed: int = 20261126, chunk: int = 250_000) -> None:
    """Write the benchmark CSV (same bytes for the same rows and seed)."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as fh:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            cols = {"row_id": pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64))}
            for c in INTS:
                cols[c] = pa.array(rng.integers(-1_000_000, 1_000_000, n, dtype=np.int64))
            for c in FLOATS:
                cols[c] = pa.array(np.round(rng.normal(0, 1000, n), 4))
            for c in STRINGS:
                a = WORDS[rng.integers(0, len(WORDS), n)]
                b = rng.integers(0, 1000, n).astype(str)
                cols[c] = pa.array(np.char.add(np.char.add(a, "_"), b))
            cols["label"] = pa.array(np.array(LABELS)[rng.integers(0, len(LABELS), n)])
            table = pa.table(cols)
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=start == 0, quoting_style="none"))


def write_config(folder: Path, csv_path: Path, table: str) -> Path:
    lines = [
        "apiVersion: tracebloc.io/v1",
        "kind: IngestConfig",
        "category: tabular_classification",
        f"table: {table}",
        "intent: train",
        f"csv: {csv_path}",
        "label: label",
        "schema:",
    ] + [f"  {name}: {kind}" for name, kind in FEATURES.items()]
    path = folder / f"{table}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Server:
    def __init__(self, args, database: str) -> None:
        import pymysql

        self.args = args
        self.database = database
        self.pymysql = pymysql

    def connect(self, database: str | None = None, **extra):
        return self.pymysql.connect(
            host=self.args.host, port=self.args.port, user=self.args.user, password=self.args.password,
            database=database, charset="utf8mb4", local_infile=True, autocommit=False, **extra,
        )

    def url(self) -> str:
        pw = f":{self.args.password}" if self.args.password else ""
        return f"mysql+pymysql://{self.args.user}{pw}@{self.args.host}:{self.args.port}/{self.database}"


def contract_ddl(table: str) -> str:
    feats = ",\n  ".join(f"`{n}` {t} NULL" for n, t in FEATURES.items())
    return f"""CREATE TABLE `{table}` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `created_at` DATETIME DEFAULT CURRENT_TIMESTAMP,
  `updated_at` DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  `status` INT DEFAULT 0,
  `label` VARCHAR(255) NULL,
  `data_intent` VARCHAR(100) NULL,
  `data_id` VARCHAR(255) NOT NULL UNIQUE,
  `filename` VARCHAR(255) NULL,
  `extension` VARCHAR(10) NULL,
  `annotation` TEXT NULL,
  `ingestor_id` VARCHAR(255) NULL,
  {feats},
  PRIMARY KEY (`id`), KEY `ix_ingestor_id` (`ingestor_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""


def bench_a(server: Server, csv_path: Path) -> float:
    """LOAD DATA of the raw CSV into a plain table with the same 20 typed columns."""
    conn = server.connect(server.database)
    try:
        with conn.cursor() as cur:
            cols = ", ".join(f"`{n}` {t}" for n, t in FEATURES.items())
            cur.execute(f"CREATE TABLE plain_a ({cols}, `label` VARCHAR(255), PRIMARY KEY (`row_id`)) DEFAULT CHARSET=utf8mb4")
            start = time.perf_counter()
            cur.execute(
                f"LOAD DATA LOCAL INFILE '{csv_path}' INTO TABLE plain_a CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES"
            )
            conn.commit()
            return time.perf_counter() - start
    finally:
        conn.close()


def load_data_sql(csv_path: Path, table: str) -> str:
    """The server's own LOAD DATA of the raw CSV into the contract layout, data_id and run id set by the server."""
    names = list(FEATURES) + ["label"]
    variables = ", ".join(f"@v{k}" for k in range(len(names)))
    sets = ", ".join(f"`{n}` = @v{k}" for k, n in enumerate(names))
    return (
        f"LOAD DATA LOCAL INFILE '{csv_path}' INTO TABLE `{table}` CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES "
        f"({variables}) SET {sets}, `data_intent` = 'train', `ingestor_id` = '{uuid.uuid4()}', "
        f"`data_id` = SHA2(CONCAT_WS(',', {variables}), 256)"
    )


def bench_b(server: Server, csv_path: Path) -> float:
    """LOAD DATA of the same rows into the contract's layout, data_id and run id set by the server."""
    conn = server.connect(server.database)
    try:
        with conn.cursor() as cur:
            cur.execute(contract_ddl("contract_b"))
            start = time.perf_counter()
            cur.execute(load_data_sql(csv_path, "contract_b"))
            conn.commit()
            return time.perf_counter() - start
    finally:
        conn.close()


def bench_c(server: Server, csv_path: Path) -> float:
    """PyMySQL executemany, 1,000 rows per INSERT, into the contract's layout (commit per batch)."""
    import csv

    conn = server.connect(server.database)
    run_id = str(uuid.uuid4())
    names = list(FEATURES) + ["label"]
    cols = ", ".join(f"`{n}`" for n in names + ["data_id", "data_intent", "ingestor_id"])
    marks = ", ".join(["%s"] * (len(names) + 3))
    sql = f"INSERT INTO contract_c ({cols}) VALUES ({marks}) ON DUPLICATE KEY UPDATE `id` = `id`"
    try:
        with conn.cursor() as cur:
            cur.execute(contract_ddl("contract_c"))
            start = time.perf_counter()
            with open(csv_path, newline="") as fh:
                reader = csv.reader(fh)
                next(reader)
                batch = []
                for row in reader:
                    data_id = hashlib.sha256(",".join(row).encode()).hexdigest()
                    batch.append((*row, data_id, "train", run_id))
                    if len(batch) == 1000:
                        cur.executemany(sql, batch)
                        conn.commit()
                        batch = []
                if batch:
                    cur.executemany(sql, batch)
                    conn.commit()
            return time.perf_counter() - start
    finally:
        conn.close()


def bench_d(server: Server, csv_path: Path, folder: Path, table: str, *, insert_path: bool) -> tuple[float, int, str]:
    """tb-ingest as a subprocess: wall seconds, peak RSS (KiB, via /usr/bin/time or getrusage) and exit."""
    config = write_config(folder, csv_path, table)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "TABLE_NAME", "LABEL_FILE", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=server.url(),
        TRACEBLOC_OUTPUT_DIR=str(folder / "out"),
        LOG_LEVEL="WARNING",
    )
    if insert_path:
        env["TRACEBLOC_DISABLE_LOAD_DATA"] = "1"
    exe = shutil.which("tb-ingest") or str(Path(sys.executable).with_name("tb-ingest"))
    cmd = [exe, "--plugin", "tabular_classification", "--config", str(config)]
    timer = Path("/usr/bin/time")
    stats = folder / f"{table}.time"
    if timer.exists():
        cmd = [str(timer), "-v", "-o", str(stats)] + cmd
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"tb-ingest exited {proc.returncode}")
    rss = 0
    if stats.exists():
        for line in stats.read_text().splitlines():
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1])
    else:
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, rss, proc.stdout


def table_fingerprint(server: Server, table: str) -> tuple[int, str]:
    conn = server.connect(server.database)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*), MAX(id), MAX(updated_at) FROM `{table}`")
            count, max_id, updated = cur.fetchone()
            cur.execute(f"CHECKSUM TABLE `{table}`")
            checksum = cur.fetchone()[1]
            return count, f"{max_id}/{updated}/{checksum}"
    finally:
        conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default=os.environ.get("BENCH_MYSQL_PASSWORD", ""))
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    parser.add_argument("--keep-csv", action="store_true", help="keep the generated CSV and print its path")
    parser.add_argument(
        "--d-runs", default="fast,rerun,insert", help="which tb-ingest runs (d) to do: fast, rerun, insert"
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))

    folder = Path(tempfile.mkdtemp(prefix="tb_bench_"))
    database = f"tb_bench_{uuid.uuid4().hex[:8]}"
    server = Server(args, database)
    rows = args.rows
    results: dict[str, tuple[float, int | None]] = {}
    try:
        csv_path = folder / "bench.csv"
        t0 = time.perf_counter()
        generate(csv_path, rows)
        print(f"generated {rows:,} rows x 20 columns, {csv_path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - t0:.1f} s")
        admin = server.connect()
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
            cur.execute("SELECT @@version, @@local_infile, @@max_allowed_packet")
            version, infile, packet = cur.fetchone()
        admin.close()
        print(f"server {version}, local_infile={infile}, max_allowed_packet={packet}")

        def show(key: str, title: str, seconds: float, rss_kib: int | None = None) -> None:
            results[key] = (seconds, rss_kib)
            mem = f"  peak RSS {rss_kib / 1024:6.0f} MiB" if rss_kib else ""
            print(f"({key}) {title:<52} {seconds:8.2f} s  {rows / seconds:10,.0f} rows/s{mem}", flush=True)

        if "a" in only:
            show("a", "LOAD DATA raw CSV -> plain table", bench_a(server, csv_path))
        if "b" in only:
            show("b", "LOAD DATA -> contract layout", bench_b(server, csv_path))
        if "c" in only:
            show("c", "executemany 1,000-row INSERTs -> contract layout", bench_c(server, csv_path))
        runs = set(args.d_runs.split(",")) if "d" in only else set()
        if runs & {"fast", "rerun"}:
            wall, rss, _ = bench_d(server, csv_path, folder, "tb_fast", insert_path=False)
            show("d_fast", "tb-ingest, fast path (LOAD DATA)", wall, rss)
        if "rerun" in runs:
            before = table_fingerprint(server, "tb_fast")
            wall, rss, _ = bench_d(server, csv_path, folder, "tb_fast", insert_path=False)
            show("d_rerun", "tb-ingest, re-run of the same file (fast path)", wall, rss)
            after = table_fingerprint(server, "tb_fast")
            print(f"    re-run changed rows: {'no' if before == after else 'YES'} ({after[0]:,} rows)")
        if "insert" in runs:
            wall, rss, _ = bench_d(server, csv_path, folder, "tb_insert", insert_path=True)
            show("d_insert", "tb-ingest, INSERT path (TRACEBLOC_DISABLE_LOAD_DATA=1)", wall, rss)
            count, _ = table_fingerprint(server, "tb_insert")
            print(f"    INSERT path rows: {count:,}")

        def ratio(num: str, den: str, label: str) -> None:
            if num in results and den in results:
                print(f"{label:<28} {results[den][0] / results[num][0]:.3f}")

        print("ratios (throughput of the first over the second):")
        ratio("d_fast", "a", "d(fast) / a")
        ratio("d_fast", "b", "d(fast) / b")
        ratio("d_insert", "c", "d(INSERT) / c")
        ratio("d_rerun", "d_fast", "d(re-run) / d(first run)")
    finally:
        try:
            admin = server.connect()
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            admin.close()
        finally:
            if args.keep_csv:
                print(f"kept {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
