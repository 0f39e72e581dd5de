"""image_classification end to end: sample, bad files, idempotence, interrupted copies, policies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tracebloc_ingestor.api import FileStore
from tracebloc_ingestor_image import ImageClassification


def flags(tmp_path, url, **more):
    base = {"database_url": url, "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared")}
    base.update(more)
    return base


def test_sample_lands_in_the_database_and_the_store(tmp_path, any_url, kit):
    config = kit.templates / "image_classification" / "ingest.yaml"
    report, out, err = kit.ingest(ImageClassification(), flags(tmp_path, any_url, config_path=str(config)))
    assert report.exit_code == 0, out + err
    rows = kit.rows_of(any_url, "shapes_sample", "filename, extension, label, annotation, data_intent")
    assert sorted(rows) == sorted(
        (f"{kind}_{i}", ".jpg", kind, None, "train") for kind in ("circle", "square") for i in range(1, 5)
    )
    folder = tmp_path / "shared" / "shapes_sample"
    assert kit.stored(folder) == sorted(f"{r[0]}.jpg" for r in rows)
    images = kit.templates / "image_classification" / "images"
    for name in kit.stored(folder):
        assert (folder / name).read_bytes() == (images / name).read_bytes()
    payload = json.loads((tmp_path / "out" / "shapes_sample.registration.json").read_text())["payload"]
    assert payload["labels"] == {"circle": 4, "square": 4}
    meta = payload["meta_data"]
    assert meta["images"] == 8 and meta["image_modes"] == {"RGB": 8} and meta["image_resolutions"] == {"64x64": 8}
    assert payload["size_bytes"] >= sum((images / n).stat().st_size for n in os.listdir(images))
    text = json.dumps(payload)
    assert "circle_1" not in text and ".jpg" not in text  # no file names leave


def bad_dataset(root: Path, kit) -> list[tuple]:
    """A manifest whose rows 3.. each break one rule; returns (row, file, rule) expected."""
    images = root / "images"
    kit.draw(images / "good1.jpg")
    kit.draw(images / "good2.jpg", seed=3)
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg at all" * 20)
    data = kit.draw(images / "full.jpg", (128, 128)).read_bytes()
    (images / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (images / "full.jpg").unlink()
    png = kit.draw(images / "whole.png").read_bytes()
    (images / "cut.png").write_bytes(png[: len(png) - 20])
    damaged = bytearray(png)
    damaged[png.index(b"IDAT") + 10] ^= 0xFF  # inside the pixel data: its chunk CRC no longer matches
    (images / "damaged.png").write_bytes(bytes(damaged))
    (images / "whole.png").unlink()
    kit.bomb_png(images / "bomb.png")
    kit.draw(images / "wrong.jpg", fmt="PNG")
    kit.draw(images / "a" / "twin.jpg")
    kit.draw(images / "b" / "twin.jpg", seed=5)
    (root.parent / "outside.jpg").write_bytes(kit.draw(root.parent / "o.jpg").read_bytes())
    (images / "link.jpg").symlink_to(root.parent / "outside.jpg")
    kit.draw(images / "tiny.jpg", (8, 8))
    kit.draw(images / "odd.jpg", (80, 64))
    rows = [
        ("good1.jpg", "cat"),
        ("good2", "dog"),  # extension found on disk
        ("corrupt.jpg", "cat"),
        ("truncated.jpg", "cat"),
        ("cut.png", "cat"),
        ("damaged.png", "cat"),
        ("bomb.png", "cat"),
        ("wrong.jpg", "cat"),
        ("missing.jpg", "cat"),
        ("a/twin.jpg", "cat"),
        ("b/twin.jpg", "cat"),
        ("../outside.jpg", "cat"),
        ("/etc/hostname.jpg", "cat"),
        ("link.jpg", "cat"),
        ("tiny.jpg", "cat"),
        ("odd.jpg", "cat"),
    ]
    kit.write_csv(root / "labels.csv", ("filename", "label"), rows)
    return [
        (3, "images/corrupt.jpg", "image_open"),
        (4, "images/truncated.jpg", "truncated"),
        (5, "images/cut.png", "truncated"),
        (6, "images/damaged.png", "checksum"),
        (7, "images/bomb.png", "pixel_budget"),
        (8, "images/wrong.jpg", "image_format"),
        (9, "images/missing.jpg", "missing_file"),
        (11, "images/b/twin.jpg", "duplicate_name"),
        (12, "images/../outside.jpg", "path_escape"),
        (13, "images//etc/hostname.jpg", "path_escape"),
        (14, "images/link.jpg", "path_escape"),
        (15, "images/tiny.jpg", "min_size"),
        (16, "images/odd.jpg", "image_size"),
    ]


def test_every_bad_file_is_named_by_row_path_and_rule_and_nothing_is_written(tmp_path, any_url, kit):
    root = tmp_path / "src"
    expected = bad_dataset(root, kit)
    report, out, err = kit.ingest(
        ImageClassification(),
        flags(tmp_path, any_url, src_path=str(root), label_file="labels.csv", table="pics", target_size="64x64"),
    )
    assert report.exit_code == 1
    found = {(i.row, i.file, i.rule) for i in report.issues}
    assert set(expected) <= found, sorted(found - set(expected))
    assert not {i.row for i in report.issues} & {1, 2, 10}
    for row, file, rule in expected:
        assert f"{file}, row {row:,}" in err and f"[{rule}]" in err
    assert not kit.has_table(any_url, "pics")
    assert not (tmp_path / "shared").exists()


def classification_set(root: Path, kit, n=6, size=(64, 64)):
    rows = []
    for i in range(n):
        kit.draw(root / "images" / f"img{i}.jpg", size if not callable(size) else size(i), seed=i)
        rows.append((f"img{i}.jpg", "cat" if i % 2 else "dog"))
    rows.append(("img0.jpg", "dog"))  # a second row for the same image
    kit.write_csv(root / "labels.csv", ("filename", "label"), rows)
    return rows


def test_rerun_is_idempotent_and_copies_nothing_again(tmp_path, any_url, kit):
    root = tmp_path / "src"
    classification_set(root, kit)
    args = flags(tmp_path, any_url, src_path=str(root), label_file="labels.csv", table="pics")
    first, out, err = kit.ingest(ImageClassification(), args)
    assert first.exit_code == 0, out + err
    registration = tmp_path / "out" / "pics.registration.json"
    first_size = json.loads(registration.read_text())["payload"]["size_bytes"]
    folder = tmp_path / "shared" / "pics"
    before = {n: (folder / n).stat() for n in kit.stored(folder)}
    ledger = (folder / ".tracebloc-files.jsonl").read_text()
    rows = kit.rows_of(any_url, "pics", "data_id, filename, extension, label")
    assert len(rows) == 7 and len(before) == 6
    second, out, err = kit.ingest(ImageClassification(), args)
    assert second.exit_code == 0, out + err
    assert kit.rows_of(any_url, "pics", "data_id, filename, extension, label") == rows
    after = {n: (folder / n).stat() for n in kit.stored(folder)}
    assert {n: (s.st_ino, s.st_mtime_ns) for n, s in after.items()} == {n: (s.st_ino, s.st_mtime_ns) for n, s in before.items()}
    assert (folder / ".tracebloc-files.jsonl").read_text() == ledger
    assert json.loads(registration.read_text())["payload"]["size_bytes"] == first_size


class BreakingStore(ImageClassification):
    """Copies fail half-way through each source file (as if the volume went away)."""

    def make_store(self, ctx):
        class Half:
            def __init__(self, path):
                self.fh = open(path, "rb")
                self.done = False

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def read(self, n=-1):
                if self.done:
                    raise OSError(5, "Input/output error")
                self.done = True
                return self.fh.read(100)

        return FileStore(ctx.destination, workers=2, opener=Half)


def test_an_interrupted_copy_fails_the_run_and_leaves_no_partial_file(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    classification_set(root, kit)
    args = flags(tmp_path, sqlite_url, src_path=str(root), label_file="labels.csv", table="pics")
    report, out, err = kit.ingest(BreakingStore(), args)
    # the copy is the one read of each source, made while it is checked: a read that breaks is
    # that file's problem, named with its path, and nothing is published
    assert report.exit_code == 1 and report.status == "invalid"
    assert {i.rule for i in report.issues} == {"unreadable"} and all(i.file for i in report.issues)
    folder = tmp_path / "shared" / "pics"
    assert not folder.exists() and not (tmp_path / "shared").exists() and not kit.has_table(sqlite_url, "pics")
    # the next run of the same dataset completes it
    report, out, err = kit.ingest(ImageClassification(), args)
    assert report.exit_code == 0, out + err
    assert len(kit.stored(folder)) == 6 and len(kit.rows_of(sqlite_url, "pics")) == 7


def test_a_folder_holding_another_dataset_is_refused_before_writing(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    classification_set(root, kit)
    folder = tmp_path / "shared" / "pics"
    folder.mkdir(parents=True)
    (folder / "someone_else.jpg").write_bytes(b"x")
    report, out, err = kit.ingest(
        ImageClassification(), flags(tmp_path, sqlite_url, src_path=str(root), label_file="labels.csv", table="pics")
    )
    assert report.exit_code == 1
    assert [i.rule for i in report.issues] == ["destination"]
    assert not kit.has_table(sqlite_url, "pics")
    assert os.listdir(folder) == ["someone_else.jpg"]


@pytest.mark.parametrize("policy", ["resize", "pad"])
def test_mixed_sizes_are_converted_to_exactly_target_size(tmp_path, sqlite_url, kit, policy):
    root = tmp_path / "src"
    sizes = [(64, 64), (120, 80), (40, 90), (300, 200), (64, 64), (33, 33)]
    classification_set(root, kit, size=lambda i: sizes[i])
    kit.draw(root / "images" / "img5.jpg", (33, 33)).rename(root / "images" / "img5.jpg")
    args = flags(tmp_path, sqlite_url, src_path=str(root), label_file="labels.csv", table="pics", target_size="64x64")
    rejected, _, _ = kit.ingest(ImageClassification(), args)
    assert rejected.exit_code == 1 and {i.rule for i in rejected.issues} == {"image_size"}
    report, out, err = kit.ingest(ImageClassification(), {**args, "resize_policy": policy})
    assert report.exit_code == 0, out + err
    folder = tmp_path / "shared" / "pics"
    for name in kit.stored(folder):
        with Image.open(folder / name) as im:
            assert im.size == (64, 64) and im.format == "JPEG"
    # an image already of target_size is stored as it was
    assert (folder / "img0.jpg").read_bytes() == (root / "images" / "img0.jpg").read_bytes()
    payload = json.loads((tmp_path / "out" / "pics.registration.json").read_text())["payload"]
    assert payload["meta_data"]["image_resolutions"] == {"64x64": 6}


def test_full_decode_catches_damage_the_cheap_checks_cannot_see(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    classification_set(root, kit)
    # A PNG whose chunks are all intact but whose compressed pixels stop early.
    raw = b"".join(b"\x00" + bytes(range(64)) * 3 for _ in range(64))
    ihdr = (64).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    body = zlib_compress_part(raw)
    (root / "images" / "short.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + kit.png_chunk(b"IHDR", ihdr) + kit.png_chunk(b"IDAT", body) + kit.png_chunk(b"IEND", b"")
    )
    with open(root / "labels.csv", "a", encoding="utf-8") as fh:
        fh.write("short.png,cat\n")
    args = flags(tmp_path, sqlite_url, src_path=str(root), label_file="labels.csv", table="pics", validate_only=True)
    cheap, _, _ = kit.ingest(ImageClassification(), args)
    assert cheap.exit_code == 0
    full, _, _ = kit.ingest(ImageClassification(), {**args, "full_decode": True})
    assert full.exit_code == 1
    assert [(i.row, i.file, i.rule) for i in full.issues] == [(8, "images/short.png", "truncated")]


def zlib_compress_part(raw: bytes) -> bytes:
    import zlib

    return zlib.compress(raw)[: len(zlib.compress(raw)) // 2]


@pytest.mark.parametrize(
    "category, table, files",
    [
        ("image_classification", "shapes_sample", 8),
        ("object_detection", "scenes_sample", 8),
        ("keypoint_detection", "poses_sample", 4),
        ("semantic_segmentation", "tiles_sample", 8),
    ],
)
def test_template_runs_as_copied(tmp_path, category, table, files):
    folder = tmp_path / category
    shutil.copytree(Path(__file__).resolve().parents[1] / "templates" / category, folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG", "TABLE_NAME", "STORAGE_PATH"))}
    proc = subprocess.run([sys.executable, "ingestor.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "📊 INGESTION SUMMARY 📊" in proc.stdout
    stored = [n for n in os.listdir(folder / "tracebloc-output" / "shared" / table) if not n.startswith(".")]
    assert len(stored) == files


def test_an_image_listed_with_two_labels_is_refused_naming_both_rows(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    rows = classification_set(root, kit)
    rows.append(("img0.jpg", "cat"))  # img0 is a dog in rows 1 and 7
    kit.write_csv(root / "labels.csv", ("filename", "label"), rows)
    report, out, err = kit.ingest(ImageClassification(), flags(tmp_path, sqlite_url, src_path=str(root), label_file="labels.csv", table="pics"))
    assert report.exit_code == 1
    conflicts = [(i.rule, i.row, i.file) for i in report.issues]
    assert conflicts == [("conflicting_label", 8, "images/img0.jpg")]
    assert "row 1 with another label" in report.issues[0].message and "cat" not in report.issues[0].message
    assert not kit.has_table(sqlite_url, "pics")
def test_the_local_data_report_shows_a_few_thumbnails_per_label(tmp_path, sqlite_url, kit):
    import base64
    import io
    import re

    config = kit.templates / "image_classification" / "ingest.yaml"
    report, out, err = kit.ingest(ImageClassification(), flags(tmp_path, sqlite_url, config_path=str(config)))
    assert report.exit_code == 0, out + err
    page = Path(report.data_report).read_text(encoding="utf-8")
    assert "Sample images" in page and "at most 3 per label" in page
    thumbs = re.findall(r'<figure class="thumb"><img src="data:image/png;base64,([^"]+)" alt="([^"]*)">', page)
    assert sorted(caption for _, caption in thumbs) == ["circle"] * 3 + ["square"] * 3
    for data, _ in thumbs:
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            assert im.format == "PNG" and max(im.size) <= 128
    for name in ("Image modes", "Image resolutions", "Image formats"):
        assert name in page
    payload = json.loads((tmp_path / "out" / "shapes_sample.registration.json").read_text())["payload"]
    assert "thumbnail" not in json.dumps(payload).lower()
