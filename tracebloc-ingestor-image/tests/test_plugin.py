"""The distribution: entry points, the command line, the core's lazy validator."""

from __future__ import annotations

import os
import subprocess
import sys

from PIL import Image

from tracebloc_ingestor.loader import installed_plugins

CATEGORIES = ("image_classification", "object_detection", "keypoint_detection", "semantic_segmentation")


def test_entry_points_name_the_four_categories():
    names = {(p.name, p.distribution) for p in installed_plugins()}
    assert {(c, "tracebloc-ingestor-image") for c in CATEGORIES} <= names


def test_core_finds_the_image_resolution_validator(tmp_path, sqlite_url, kit):
    from tracebloc_ingestor import ImageResolutionValidator
    from tracebloc_ingestor_image import ImageClassification

    class Exactly32(ImageClassification):
        validators = (*ImageClassification.validators, ImageResolutionValidator((32, 32)))

    config = kit.templates / "image_classification" / "ingest.yaml"
    report, _, _ = kit.ingest(
        Exactly32(), {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path / "o"), "storage_path": str(tmp_path / "s")}
    )
    assert report.exit_code == 1
    assert {i.rule for i in report.issues} == {"image_size"} and len(report.issues) == 8


def test_tb_ingest_loads_the_plugin_by_entry_point_and_resizes(tmp_path, kit):
    root = tmp_path / "src"
    rows = []
    for i, size in enumerate([(64, 64), (90, 70), (200, 120)]):
        kit.draw(root / "images" / f"i{i}.jpg", size, seed=i)
        rows.append((f"i{i}", "a" if i % 2 else "b"))
    kit.write_csv(root / "labels.csv", ("filename", "label"), rows)
    (root / "ingest.yaml").write_text(
        "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: image_classification\n"
        "table: cli_pics\nintent: train\ncsv: labels.csv\ntarget_size: [64, 64]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "INGEST_CONFIG", "STORAGE_PATH"))}
    cmd = [sys.executable, "-m", "tracebloc_ingestor.cli", "--config", str(root / "ingest.yaml"), "--plugin", "image_classification",
           "--resize-policy", "resize", "--storage-path", str(tmp_path / "shared"), "--output-dir", str(tmp_path / "out")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / "shared" / "cli_pics"
    assert kit.stored(folder) == ["i0.jpg", "i1.jpg", "i2.jpg"]
    for name in kit.stored(folder):
        with Image.open(folder / name) as im:
            assert im.size == (64, 64)


def test_core_validators_see_the_referenced_files(tmp_path, sqlite_url, kit):
    from tracebloc_ingestor import FileTypeValidator
    from tracebloc_ingestor_image import ImageClassification

    class OnlyPng(ImageClassification):
        validators = (*ImageClassification.validators, FileTypeValidator(allowed=[".csv", ".png"]))

    config = kit.templates / "image_classification" / "ingest.yaml"
    report, _, _ = kit.ingest(
        OnlyPng(), {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path / "o"), "storage_path": str(tmp_path / "s")}
    )
    assert report.exit_code == 1
    assert {(i.row, i.file, i.rule) for i in report.issues} == {
        (row, f"images/{name}", "file_type")
        for row, name in enumerate((l.split(",")[0] for l in (config.parent / "labels.csv").read_text().splitlines()[1:]), start=1)
    }


def test_the_package_root_exports_the_validator_through_the_entry_point_group():
    from importlib.metadata import entry_points

    import tracebloc_ingestor
    from tracebloc_ingestor_image.validators import ImageResolutionValidator

    (found,) = entry_points(group="tracebloc_ingestor.exports", name="ImageResolutionValidator")
    assert found.dist.name == "tracebloc-ingestor-image"
    assert tracebloc_ingestor.ImageResolutionValidator is ImageResolutionValidator


def test_the_distribution_imports_only_the_public_api():
    from pathlib import Path

    from tracebloc_ingestor.testing.layering import public_api_violations

    assert public_api_violations([Path(__file__).resolve().parents[1] / "src"]) == []
