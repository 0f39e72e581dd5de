"""The image options in their three forms: flags, environment variables and ingest.yaml keys."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

from click.testing import CliRunner
from PIL import Image

from tracebloc_ingestor.cli import main
from tracebloc_ingestor_image import ImageClassification, ObjectDetection

CONFIG = "apiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: image_classification\ntable: pics\nintent: train\ncsv: labels.csv\n"


def dataset(root, kit, sizes):
    rows = []
    for i, size in enumerate(sizes):
        kit.draw(root / "images" / f"img{i}.jpg", size, seed=i)
        rows.append((f"img{i}", "cat" if i % 2 else "dog"))
    kit.write_csv(root / "labels.csv", ("filename", "label"), rows)


def clean_environment(**more):
    cleared = ("TRACEBLOC_", "MYSQL_", "DATABASE_URL", "LABEL_FILE", "INGEST_CONFIG", "TABLE_NAME", "STORAGE_PATH", "SRC_PATH", "TARGET_SIZE", "RESIZE_POLICY")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(cleared)}, **more}


def test_the_template_configured_only_by_environment_variables_resizes(tmp_path, kit):
    # the form the template's docstring advertises: LABEL_FILE=... SRC_PATH=... TABLE_NAME=... TARGET_SIZE=...
    root = tmp_path / "raw"
    dataset(root, kit, [(64, 64), (120, 80), (40, 90), (300, 200)])
    work = tmp_path / "work"
    shutil.copytree(kit.templates / "image_classification", work)
    env = clean_environment(LABEL_FILE="labels.csv", SRC_PATH=str(root), TABLE_NAME="env_pics", TARGET_SIZE="64x64", RESIZE_POLICY="resize")
    proc = subprocess.run([sys.executable, "ingestor.py"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = work / "tracebloc-output" / "shared" / "env_pics"
    assert kit.stored(folder) == [f"img{i}.jpg" for i in range(4)]
    for name in kit.stored(folder):
        with Image.open(folder / name) as im:
            assert im.size == (64, 64)
    with sqlite3.connect(work / "tracebloc-output" / "ingest.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM env_pics").fetchone() == (4,)


def test_help_lists_the_category_options():
    result = CliRunner().invoke(main, ["--plugin", "image_classification", "--help"], env=clean_environment())
    assert result.exit_code == 0, result.output
    for flag in ("--target-size", "--resize-policy", "--full-decode", "--max-pixels", "--min-size", "--image-extension", "--images"):
        assert flag in result.output
    for variable in ("TARGET_SIZE", "RESIZE_POLICY", "IMAGES_DIR", "IMAGE_EXTENSION"):
        assert variable in result.output
    assert "--annotations" not in result.output and "--masks" not in result.output


def test_bad_values_are_refused_before_anything_is_read_naming_where_they_came_from(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    dataset(root, kit, [(64, 64), (64, 64)])
    environ = {"RESIZE_POLICY": "squash", "MAX_PIXELS": "0", "MIN_SIZE": "big", "IMAGE_EXTENSION": "gif", "FULL_DECODE": "maybe"}
    flags = {"database_url": sqlite_url, "src_path": str(root), "label_file": "labels.csv", "table": "pics", "output_dir": str(tmp_path / "out"),
             "storage_path": str(tmp_path / "shared"), "target_size": "64"}
    report, _, err = kit.ingest(ImageClassification(), flags, environ)
    assert report.exit_code == 2
    for where in ("environment RESIZE_POLICY", "environment MAX_PIXELS", "environment MIN_SIZE", "environment IMAGE_EXTENSION",
                  "environment FULL_DECODE", "--target-size"):
        assert where in err
    assert "gif" not in err
    assert not kit.has_table(sqlite_url, "pics")


def test_file_options_in_ingest_yaml_are_read_and_unknown_keys_refused(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    dataset(root, kit, [(64, 64), (48, 48)])
    kit.draw(root / "images" / "img0.png", (64, 64))  # the extension option picks img0.jpg over it
    config = root / "ingest.yaml"
    config.write_text(CONFIG + "spec:\n  file_options:\n    min_size: [50, 50]\n    max_pixels: 5000\n    extension: jpg\n    full_decode: true\n")
    flags = {"config_path": str(config), "database_url": sqlite_url, "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared")}
    report, _, _ = kit.ingest(ImageClassification(), flags)
    assert report.exit_code == 1
    assert {(i.row, i.file, i.rule) for i in report.issues} == {(2, "images/img1.jpg", "min_size")}
    config.write_text(CONFIG + "spec:\n  file_options:\n    max_pixels: 1000\n")
    report, _, _ = kit.ingest(ImageClassification(), flags)
    assert {i.rule for i in report.issues} == {"pixel_budget"}
    config.write_text(CONFIG + "masks: masks\nspec:\n  file_options:\n    resize: true\n")
    report, _, err = kit.ingest(ImageClassification(), flags)
    assert report.exit_code == 2
    assert "ingest.yaml: masks: unknown key" in err and "ingest.yaml: spec.file_options.resize: unknown key" in err


def test_folders_come_from_flags_environment_or_ingest_yaml(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    dataset(root / "pictures", kit, [(64, 64), (64, 64)])
    (root / "pictures" / "labels.csv").rename(root / "labels.csv")
    (root / "pictures" / "images").rename(root / "photos")
    flags = {"database_url": sqlite_url, "src_path": str(root), "label_file": "labels.csv", "table": "pics",
             "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared"), "validate_only": True}
    missing, _, _ = kit.ingest(ImageClassification(), flags)
    # a run that cannot start reads no record (each would only repeat "missing")
    assert [(i.rule, i.file) for i in missing.issues] == [("missing_folder", "images")]
    by_env, _, _ = kit.ingest(ImageClassification(), flags, {"IMAGES_DIR": "photos"})
    by_flag, _, _ = kit.ingest(ImageClassification(), {**flags, "images": "photos"})
    assert by_env.exit_code == by_flag.exit_code == 0
    config = root / "ingest.yaml"
    config.write_text(CONFIG + "images: photos\n")
    by_yaml, _, _ = kit.ingest(ImageClassification(), {**flags, "config_path": str(config)})
    assert by_yaml.exit_code == 0


def test_object_detection_reads_its_annotations_folder_option(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    kit.draw(root / "images" / "a.jpg")
    (root / "voc").mkdir()
    (root / "voc" / "a.xml").write_text("<annotation><object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>")
    flags = {"database_url": sqlite_url, "src_path": str(root), "table": "boxes", "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared")}
    missing, _, _ = kit.ingest(ObjectDetection(), flags)
    assert [(i.rule, i.file) for i in missing.issues] == [("missing_folder", "annotations")]
    report, out, err = kit.ingest(ObjectDetection(), flags, {"ANNOTATIONS_DIR": "voc"})
    assert report.exit_code == 0, out + err
    assert kit.stored(tmp_path / "shared" / "boxes") == ["a.jpg", "a.xml"]
