"""Image ingestion benchmark: tb-ingest against plain Pillow loops.

Draws two deterministic sets of JPEGs in a temporary folder (default 5,000 each): a
uniform set of 256x256 and a mixed set of sizes between 160 and 640 pixels per side.
In one run it measures:

  (a) uniform set, plain loop: Pillow open + size check + shutil.copyfile per image
  (b) uniform set, tb-ingest --plugin image_classification (validation, store, rows)
  (c) mixed set, single-process Pillow loop: decode + resize to 256x256 + JPEG encode
  (d) mixed set, tb-ingest --plugin image_classification --resize-policy resize

and prints files/s, the ratios to the targets, and the peak RSS of each tb-ingest
process. Rows go to an SQLite file (or to --database-url). Usage:

    python bench/images.py [--count 5000] [--database-url URL] [--keep] [--only a,b,c,d] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baselines  # noqa: E402  (the plain loops, also run as whole processes by bench/run.py)

SIZE = (256, 256)
OLD_INGESTOR_FILES_PER_S = 1337  # the existing ingestor on this machine kind (issue 4)


def _draw(path: Path, size: tuple[int, int], seed: int) -> None:
    rnd = random.Random(seed)
    im = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = rnd.randrange(size[0]), rnd.randrange(size[1])
        x1, y1 = x0 + rnd.randrange(8, size[0] // 2), y0 + rnd.randrange(8, size[1] // 2)
        draw.ellipse((x0, y0, x1, y1), fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    # a little noise so that files have realistic sizes, not flat colour
    noise = Image.effect_noise(size, 24).convert("RGB")
    Image.blend(im, noise, 0.15).save(path, "JPEG", quality=90)


def make_set(folder: Path, count: int, *, mixed: bool) -> Path:
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(7 if mixed else 3)
    sizes = [(rnd.randint(160, 640), rnd.randint(160, 640)) if mixed else SIZE for _ in range(count)]
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(lambda i: _draw(images / f"img{i:06d}.jpg", sizes[i], i), range(count)))
    with open(folder / "labels.csv", "w", encoding="utf-8") as fh:
        fh.write("filename,label\n")
        for i in range(count):
            fh.write(f"img{i:06d}.jpg,{'cat' if i % 3 else 'dog'}\n")
    (folder / "ingest.yaml").write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: image_classification\n"
        f"table: bench_{'mixed' if mixed else 'uniform'}\nintent: train\ncsv: labels.csv\nimages: images\n"
        f"label: label\ntarget_size: [{SIZE[0]}, {SIZE[1]}]\n"
    )
    return folder


def warm(folder: Path) -> None:
    """Read every image once so that every measurement starts from the same (warm) page cache."""
    for entry in os.scandir(folder / "images"):
        with open(entry.path, "rb") as fh:
            while fh.read(1 << 20):
                pass


def settle() -> None:
    """Write back dirty pages first: otherwise a measurement pays for the previous one's
    writes (the kernel throttles new writes while many are pending), and the order of
    the measurements would decide their ratios."""
    os.sync()
    time.sleep(0.5)


def plain_copy_loop(folder: Path, dest: Path) -> float:
    settle()
    start = time.perf_counter()
    baselines.copy_loop(folder, dest)
    return time.perf_counter() - start


def plain_resize_loop(folder: Path, dest: Path) -> float:
    settle()
    start = time.perf_counter()
    baselines.resize_loop(folder, dest)
    return time.perf_counter() - start


def tb_ingest(folder: Path, work: Path, tag: str, database_url: str | None, *extra: str) -> tuple[float, int, int]:
    """Run tb-ingest in its own process; return (seconds, exit code, peak RSS in KiB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "INGEST_CONFIG", "STORAGE_PATH"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package runs from compiled bytecode
    out = work / f"out-{tag}"
    cmd = [
        sys.executable, "-m", "tracebloc_ingestor.cli", "--config", str(folder / "ingest.yaml"),
        "--plugin", "image_classification", "--storage-path", str(work / f"shared-{tag}"),
        "--output-dir", str(out), *extra,
    ]
    if database_url:
        cmd += ["--database-url", database_url]
    settle()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    # The child's own peak RSS: wait4 on a finished Popen is not available, so read
    # RUSAGE_CHILDREN deltas instead (children run one at a time here).
    rss = _children_peak_kib()
    if proc.returncode != 0:
        sys.stderr.write(stdout.decode(errors="replace")[-3000:] + stderr.decode(errors="replace")[-3000:])
    return seconds, proc.returncode, rss


def _children_peak_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--database-url", default=None, help="default: an SQLite file in the work folder")
    parser.add_argument("--workdir", default=None, help="reuse/keep generated sets here")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--only", default="a,b,c,d")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement; the best counts")
    args = parser.parse_args()
    only = set(args.only.split(","))
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tb-bench-images-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        uniform, mixed = work / f"uniform-{args.count}", work / f"mixed-{args.count}"
        t0 = time.perf_counter()
        for folder, is_mixed in ((uniform, False), (mixed, True)):
            needed = only & ({"c", "d"} if is_mixed else {"a", "b"})
            if needed and not (folder / "labels.csv").exists():
                make_set(folder, args.count, mixed=is_mixed)
        print(f"sets of {args.count:,} images ready in {time.perf_counter() - t0:.1f} s ({work})")
        for name in os.listdir(work):
            if name.startswith(("dest-", "shared-", "out-")):
                shutil.rmtree(work / name)
        # One small run first, so that the measured runs start from compiled bytecode.
        warmup = work / "warmup"
        if not (warmup / "labels.csv").exists():
            make_set(warmup, 20, mixed=False)
        tb_ingest(warmup, work, "warmup", None)
        n = args.count
        runs: dict[str, list[float]] = {}
        for folder, letters in ((uniform, {"a", "b"}), (mixed, {"c", "d"})):
            if only & letters:
                warm(folder)
        # Each measurement runs --repeat times into fresh folders and the best counts: the
        # first burst of file creations after the clean-up above is several times slower on
        # some disks, and whichever measurement came first would pay for it.
        peak = 0
        for round_ in range(args.repeat):
            tag = f"{round_}"
            if "a" in only:
                runs.setdefault("a", []).append(n / plain_copy_loop(uniform, work / f"dest-a{tag}"))
            if "b" in only:
                seconds, code, rss = tb_ingest(uniform, work, f"b{tag}", args.database_url)
                runs.setdefault("b", []).append(n / seconds)
                peak = max(peak, rss)
                if code:
                    raise SystemExit(f"tb-ingest exited {code}")
            if "c" in only:
                runs.setdefault("c", []).append(n / plain_resize_loop(mixed, work / f"dest-c{tag}"))
            if "d" in only:
                seconds, code, rss = tb_ingest(mixed, work, f"d{tag}", args.database_url, "--resize-policy", "resize")
                runs.setdefault("d", []).append(n / seconds)
                peak = max(peak, rss)
                if code:
                    raise SystemExit(f"tb-ingest exited {code}")
        labels = {
            "a": "(a) uniform, plain open+check+copyfile loop  ",
            "b": "(b) uniform, tb-ingest image_classification  ",
            "c": "(c) mixed, single-process decode+resize+encode",
            "d": "(d) mixed, tb-ingest --resize-policy resize   ",
        }
        rate = {key: max(values) for key, values in runs.items()}
        for key in sorted(runs):
            each = ", ".join(f"{r:,.0f}" for r in runs[key])
            print(f"{labels[key]} {rate[key]:8,.0f} files/s  (runs: {each})")
        if peak:
            print(f"peak RSS of the tb-ingest processes: {peak / 1024:,.0f} MiB")
        print()
        if "a" in rate and "b" in rate:
            print(f"uniform: tb-ingest / plain loop = {rate['b'] / rate['a']:.2f} (target >= 0.8)")
        if "b" in rate:
            print(f"uniform: tb-ingest / existing ingestor ({OLD_INGESTOR_FILES_PER_S:,} files/s) = {rate['b'] / OLD_INGESTOR_FILES_PER_S:.2f} (target >= 3)")
        if "c" in rate and "d" in rate:
            print(f"mixed:   tb-ingest resize / single-process loop = {rate['d'] / rate['c']:.2f} (target >= 1.6)")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
