"""Every row of the performance table in one run: tb-ingest against plain programs, both whole processes.

    python bench/run.py                       # the full table (about 15 minutes on 2 cores)
    python bench/run.py --quick               # smaller inputs, one round: a few minutes
    python bench/run.py --readme README.md    # also rewrite the README's performance table
    python bench/run.py --only images,network # a subset: tabular, images, network, resize

Fair measurement: both sides run as whole processes (interpreter start and imports
included); before each, dirty pages are written back (``os.sync()``) and the output goes
to a fresh folder (a fresh table); the sides alternate from round to round and the best
round of each counts. The network volume is ``bench/slow_volume.py`` (FUSE, a delay on
every open and read), mounted by this script (needs ``fusermount3`` and ``mfusepy``).
The database is the MySQL/MariaDB at --host/--port (a throwaway database is made and
dropped); images' rows go to SQLite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import images  # noqa: E402  (bench/images.py: the image sets)
import tabular  # noqa: E402  (bench/tabular.py: the CSV, the contract layout)

PREVIOUS_ROWS_PER_S = 8_500  # the ingestor this one replaces, on this machine kind
README_START = "<!-- bench/run.py: start -->"
README_END = "<!-- bench/run.py: end -->"


def settle() -> None:
    os.sync()
    time.sleep(0.5)


def timed(cmd: list[str], env: dict | None = None, *, first_byte: tuple[str, Path] | None = None) -> tuple[float, int, float | None]:
    """Run ``cmd`` as a whole process: (wall seconds, peak RSS in KiB, ms to the first read of the input)."""
    env = dict(env or os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # installed packages run from compiled bytecode
    stats = Path(tempfile.mktemp(prefix="tb-bench-time-"))
    full = ["/usr/bin/time", "-f", "%M", "-o", str(stats), *cmd] if Path("/usr/bin/time").exists() else cmd
    if first_byte is not None:
        env["TB_BENCH_INPUT"], out = first_byte[0], first_byte[1]
        env["TB_BENCH_OUT"] = str(out)
    settle()
    env["TB_BENCH_T0_NS"] = str(time.monotonic_ns())
    start = time.perf_counter()
    proc = subprocess.run(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"{' '.join(cmd[:4])} ... exited {proc.returncode}")
    rss = int(stats.read_text().split()[-1]) if stats.exists() else 0
    stats.unlink(missing_ok=True)
    ttfb = None
    if first_byte is not None and first_byte[1].exists():
        ttfb = float(first_byte[1].read_text())
        first_byte[1].unlink()
    return wall, rss, ttfb


def tb_cmd(*args: str) -> list[str]:
    return [sys.executable, str(HERE / "first_byte.py"), *args]


def tb_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "INGEST_CONFIG", "STORAGE_PATH", "LABEL_FILE", "TABLE_NAME"))}
    env.update(LOG_LEVEL="WARNING", **extra)
    return env


class Results:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.notes: list[str] = []

    def add(self, work: str, baseline: str, now: str, target: str) -> None:
        self.rows.append((work, baseline, now, target))
        print(f"| {work} | {baseline} | {now} | {target} |", flush=True)

    def markdown(self) -> str:
        lines = ["| Work | Baseline in the same run | tb-ingest | Target |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes])


def best_of(rounds: int, base, ours) -> tuple[list, list]:
    """Alternate the two sides round by round (which goes first changes); every result of each."""
    got_base, got_ours = [], []
    for r in range(rounds):
        for side in ((base, ours) if r % 2 == 0 else (ours, base)):
            (got_base if side is base else got_ours).append(side(r))
    return got_base, got_ours


# -- tabular ------------------------------------------------------------------------------


def bench_tabular(args, res: Results, work: Path) -> None:
    server_args = argparse.Namespace(host=args.host, port=args.port, user=args.user, password=args.password)
    database = f"tb_bench_{uuid.uuid4().hex[:8]}"
    server = tabular.Server(server_args, database)
    admin = server.connect()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cur.execute("SELECT VERSION()")
        version = cur.fetchone()[0]
    admin.close()
    res.notes.append(f"database: {version} on the same host")
    try:
        for rows, rounds in args.tabular_sizes:
            csv_path = work / f"bench-{rows}.csv"
            if not csv_path.exists():
                tabular.generate(csv_path, rows)

            def drop(table: str) -> None:
                conn = server.connect(database)
                with conn.cursor() as cur:
                    cur.execute(f"DROP TABLE IF EXISTS `{table}`")
                    cur.execute("DELETE FROM tracebloc_ingest_runs") if _has(cur, "tracebloc_ingest_runs") else None
                    cur.execute("DELETE FROM tracebloc_ingest_meta") if _has(cur, "tracebloc_ingest_meta") else None
                conn.commit()
                conn.close()

            def base(r: int) -> float:
                drop("contract_b")
                wall, _rss, _ = timed([sys.executable, str(HERE / "baselines.py"), "load-data", str(csv_path), server.url(), "contract_b"])
                drop("contract_b")
                return wall

            peaks: list[int] = []
            ttfbs: list[float] = []
            info: dict = {}

            def ours(r: int) -> float:
                drop("tb_fast")
                config = tabular.write_config(work, csv_path, "tb_fast")
                report = work / "report.json"
                wall, rss, ttfb = timed(
                    tb_cmd("--plugin", "tabular_classification", "--config", str(config), "--report", str(report)),
                    tb_env(DATABASE_URL=server.url(), TRACEBLOC_OUTPUT_DIR=str(work / "out")),
                    first_byte=(csv_path.name, work / "ttfb.txt"),
                )
                import json

                data = json.loads(report.read_text())
                info.update(write_path=data.get("write_path"), passes=data.get("passes"))
                peaks.append(rss)
                if ttfb is not None:
                    ttfbs.append(ttfb)
                return wall

            got_b, got_d = best_of(rounds, base, ours)
            b, d = min(got_b), min(got_d)
            ratio = b / d
            each = ", ".join(f"{b_ / d_:.2f}" for b_, d_ in zip(got_b, got_d))
            target = "≥ 0.9 × and ≥ 10 × the previous ingestor" if rows < 1_000_000 else "≥ 0.95 ×"
            now = f"**{ratio:.2f} ×** ({rows / d:,.0f} rows/s; rounds {each})"
            if rows < 1_000_000:
                now += f", {rows / d / PREVIOUS_ROWS_PER_S:.1f} × the previous ingestor ({PREVIOUS_ROWS_PER_S:,} rows/s)"
            res.add(
                f"tabular, {rows:,} rows × 20 columns, first load into MariaDB ({info.get('write_path')}, {info.get('passes')} pass)",
                f"server's own `LOAD DATA` of the CSV into the same layout: {rows / b:,.0f} rows/s",
                now,
                target,
            )
            res.notes.append(f"tabular {rows:,} rows: peak RSS {max(peaks) / 1024:,.0f} MiB; first byte of the CSV read "
                             f"{min(ttfbs):,.0f} ms after the process started" if ttfbs else "")
            args.peaks[f"rows{rows}"] = max(peaks)
    finally:
        admin = server.connect()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()


def _has(cur, table: str) -> bool:
    cur.execute("SHOW TABLES LIKE %s", (table,))
    return cur.fetchone() is not None


# -- images ---------------------------------------------------------------------------------


def image_set(work: Path, count: int, *, mixed: bool) -> Path:
    folder = work / f"{'mixed' if mixed else 'uniform'}-{count}"
    if not (folder / "labels.csv").exists():
        images.make_set(folder, count, mixed=mixed)
    return folder


def tb_images(folder: Path, work: Path, tag: str, *extra: str, src_path: Path | None = None) -> tuple[float, int, float | None]:
    shared, out = work / f"shared-{tag}", work / f"out-{tag}"
    for path in (shared, out):
        shutil.rmtree(path, ignore_errors=True)
    cmd = tb_cmd("--config", str(folder / "ingest.yaml"), "--plugin", "image_classification",
                 "--storage-path", str(shared), "--output-dir", str(out), *extra)
    if src_path is not None:
        cmd += ["--src-path", str(src_path), "--label-file", str(src_path / "labels.csv")]
    result = timed(cmd, tb_env(), first_byte=("labels.csv", work / "ttfb.txt"))
    shutil.rmtree(shared, ignore_errors=True)
    return result


def plain(mode: str, folder: Path, work: Path, tag: str) -> float:
    dest = work / f"dest-{tag}"
    shutil.rmtree(dest, ignore_errors=True)
    wall, _rss, _ = timed([sys.executable, str(HERE / "baselines.py"), mode, str(folder), str(dest)])
    shutil.rmtree(dest, ignore_errors=True)
    return wall


def bench_images(args, res: Results, work: Path) -> None:
    for count, rounds in args.image_sizes:
        folder = image_set(work, count, mixed=False)
        images.warm(folder)
        peaks: list[int] = []
        ttfbs: list[float] = []

        def ours(r: int) -> float:
            wall, rss, ttfb = tb_images(folder, work, f"b{r}")
            peaks.append(rss)
            if ttfb is not None:
                ttfbs.append(ttfb)
            return wall

        got_a, got_b = best_of(rounds, lambda r: plain("copy-loop", folder, work, f"a{r}"), ours)
        a, b = min(got_a), min(got_b)
        target = "≥ 0.8 ×" if count < 50_000 else "≥ 1.0 ×"
        res.add(
            f"images, {count:,} uniform 256² JPEGs",
            f"plain loop (Pillow open + size check + copy): {count / a:,.0f} files/s",
            f"**{a / b:.2f} ×** ({count / b:,.0f} files/s; rounds {', '.join(f'{x / y:.2f}' for x, y in zip(got_a, got_b))})",
            target,
        )
        res.notes.append(f"images {count:,}: peak RSS {max(peaks) / 1024:,.0f} MiB; first byte of the manifest read "
                         f"{min(ttfbs):,.0f} ms after the process started")
        args.peaks[f"images{count}"] = max(peaks)


def bench_resize(args, res: Results, work: Path) -> None:
    count, rounds = args.resize_size
    folder = image_set(work, count, mixed=True)
    images.warm(folder)
    got_c, got_d = best_of(
        rounds,
        lambda r: plain("resize-loop", folder, work, f"c{r}"),
        lambda r: tb_images(folder, work, f"d{r}", "--resize-policy", "resize")[0],
    )
    c, d = min(got_c), min(got_d)
    res.add(
        f"mixed sizes ({count:,}) → `target_size` with `--resize-policy resize`",
        f"single-process decode + resize + encode: {count / c:,.0f} files/s",
        f"**{c / d:.2f} ×** ({count / d:,.0f} files/s on {os.cpu_count()} cores)",
        "≥ 1.7 × on 2 cores",
    )


def bench_network(args, res: Results, work: Path) -> None:
    count, rounds = args.network_size
    folder = image_set(work, count, mixed=False)
    mount = work / "slow-mount"
    mount.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, str(HERE / "slow_volume.py"), str(folder), str(mount), "--delay-ms", str(args.delay_ms)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (mount / "labels.csv").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the FUSE volume did not come up (fusermount3 and mfusepy installed?)")
            time.sleep(0.1)
        got_a, got_b = best_of(
            rounds,
            lambda r: plain("copy-loop", mount, work, f"na{r}"),
            lambda r: tb_images(folder, work, f"nb{r}", src_path=mount)[0],
        )
    finally:
        subprocess.run(["fusermount3", "-u", str(mount)], check=False)
        server.wait(timeout=30)
    a, b = min(got_a), min(got_b)
    res.add(
        f"images on a network volume ({args.delay_ms:g} ms per open and per read, {count:,} files)",
        f"the same plain serial loop on the same volume: {count / a:,.0f} files/s",
        f"**{a / b:.1f} ×** ({count / b:,.0f} files/s)",
        "≥ 8 ×",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller inputs and one round each")
    parser.add_argument("--only", default="tabular,images,network,resize")
    parser.add_argument("--readme", type=Path, default=None, help="rewrite the table between the bench markers of this file")
    parser.add_argument("--workdir", type=Path, default=None, help="keep generated inputs here (reused)")
    parser.add_argument("--delay-ms", type=float, default=2.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default=os.environ.get("BENCH_MYSQL_PASSWORD", ""))
    args = parser.parse_args(argv)
    if args.quick:
        args.tabular_sizes, args.image_sizes = [(100_000, 1)], [(2_000, 1)]
        args.network_size, args.resize_size = (500, 1), (1_000, 1)
    else:
        args.tabular_sizes = [(300_000, 3), (1_000_000, 2)]
        args.image_sizes = [(5_000, 3), (50_000, 2)]
        args.network_size, args.resize_size = (2_000, 2), (5_000, 2)
    args.peaks = {}
    only = set(args.only.split(","))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    res = Results()
    load = os.getloadavg()
    res.notes.append(f"{os.cpu_count()} cores; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} when the run began")
    print("| Work | Baseline in the same run | tb-ingest | Target |\n|---|---|---|---|", flush=True)
    try:
        # one small run first: the measured runs start from compiled bytecode
        warm = image_set(work, 20, mixed=False)
        tb_images(warm, work, "warmup")
        if "tabular" in only:
            bench_tabular(args, res, work)
        if "images" in only:
            bench_images(args, res, work)
        if "network" in only:
            bench_network(args, res, work)
        if "resize" in only:
            bench_resize(args, res, work)
        if args.peaks:
            res.add(
                "peak RSS, " + " / ".join(args.peaks),
                "—",
                " / ".join(f"{kib / 1024:,.0f} MiB" for kib in args.peaks.values()),
                "< 300 MiB, flat with size",
            )
        load = os.getloadavg()
        res.notes = [n for n in res.notes if n]
        res.notes.append(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} when the run ended")
        print()
        for note in res.notes:
            print(f"- {note}")
        if args.readme is not None:
            text = args.readme.read_text(encoding="utf-8")
            head, rest = text.split(README_START, 1)
            _old, tail = rest.split(README_END, 1)
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            block = f"{README_START}\nMeasured {stamp} with `python bench/run.py{' --quick' if args.quick else ''}`:\n\n{res.markdown()}\n{README_END}"
            args.readme.write_text(head + block + tail, encoding="utf-8")
            print(f"rewrote the table in {args.readme}")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
