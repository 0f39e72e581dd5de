"""Fixtures of the image tests: real images drawn with Pillow, real databases, a store in tmp_path."""

from __future__ import annotations

import csv
import os
import struct
import types
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tracebloc_ingestor.testing.fixtures import *  # noqa: F401,F403
from tracebloc_ingestor.testing.runs import has_table, table_rows
from tracebloc_ingestor.testing.runs import run_plugin as ingest

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def draw(path: Path, size=(64, 64), *, fmt: str | None = None, mode: str = "RGB", seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new(mode, size, 0 if mode in ("L", "P") else (20 + seed * 7 % 200, 80, 120))
    ImageDraw.Draw(im).rectangle((2, 2, size[0] // 2, size[1] // 2), fill=255 if mode in ("L", "P") else (200, 40, 40))
    fmt = fmt or ("PNG" if path.suffix.lower() == ".png" else "JPEG")
    im.save(path, fmt)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, width: int = 40_000, height: int = 40_000) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b""))
    return path


def write_csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def stored(folder: Path) -> list[str]:
    """Visible files of a dataset folder (the store's own dot files left out)."""
    return sorted(n for n in os.listdir(folder) if not n.startswith(".")) if folder.exists() else []


@pytest.fixture
def kit():
    return types.SimpleNamespace(
        draw=draw,
        bomb_png=bomb_png,
        png_chunk=png_chunk,
        write_csv=write_csv,
        ingest=ingest,
        rows_of=table_rows,
        has_table=has_table,
        stored=stored,
        templates=TEMPLATES,
    )


@pytest.fixture(params=["sqlite", "mysql"])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ingest.sqlite'}"
    return request.getfixturevalue("mysql_url")
