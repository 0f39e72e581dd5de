"""The plain programs tb-ingest is compared with, each run as a whole process like tb-ingest.

    python bench/baselines.py copy-loop SET DEST        # Pillow open + size check + shutil.copyfile, one file after another
    python bench/baselines.py resize-loop SET DEST      # decode + resize to 256x256 + JPEG encode, one process
    python bench/baselines.py load-data CSV URL TABLE   # the server's own LOAD DATA of the CSV into the contract layout

SET is an image set made by bench/images.py (``labels.csv`` and ``images/``). The caller
times the whole process (interpreter start and imports included, as for tb-ingest).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

SIZE = (256, 256)


def names(folder: Path) -> list[str]:
    lines = (folder / "labels.csv").read_text().splitlines()[1:]
    return [line.split(",", 1)[0] for line in lines]


def copy_loop(folder: Path, dest: Path) -> None:
    from PIL import Image

    dest.mkdir(parents=True)
    for name in names(folder):
        src = folder / "images" / name
        with Image.open(src) as im:
            if im.size != SIZE:
                raise SystemExit(f"unexpected size {im.size}")
        shutil.copyfile(src, dest / name)


def resize_loop(folder: Path, dest: Path) -> None:
    from PIL import Image

    dest.mkdir(parents=True)
    for name in names(folder):
        with Image.open(folder / "images" / name) as im:
            im.load()
            im.resize(SIZE, Image.Resampling.BILINEAR).save(dest / name, "JPEG", quality=95)


def load_data(csv_path: Path, url: str, table: str) -> None:
    """LOAD DATA of the raw CSV into the contract's layout (bench/tabular.py), data_id and run id set by the server."""
    import pymysql
    import sqlalchemy as sa

    from tabular import contract_ddl, load_data_sql

    parsed = sa.make_url(url)
    conn = pymysql.connect(
        host=parsed.host, port=parsed.port or 3306, user=parsed.username, password=parsed.password or "",
        database=parsed.database, charset="utf8mb4", local_infile=True, autocommit=False,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(contract_ddl(table))
            cur.execute(load_data_sql(csv_path, table))
            conn.commit()
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    mode, *args = argv
    if mode == "copy-loop":
        copy_loop(Path(args[0]), Path(args[1]))
    elif mode == "resize-loop":
        resize_loop(Path(args[0]), Path(args[1]))
    elif mode == "load-data":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        load_data(Path(args[0]), args[1], args[2])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(f"{time.perf_counter() - started:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
