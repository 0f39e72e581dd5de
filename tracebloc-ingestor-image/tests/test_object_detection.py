"""object_detection: VOC parsing, boxes against the real image, one record per image."""

from __future__ import annotations

import json

from tracebloc_ingestor_image import ObjectDetection


def voc(width, height, *objects, extra=""):
    body = "".join(
        f"<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
        for n, a, b, c, d in objects
    )
    return f"{extra}<annotation><size><width>{width}</width><height>{height}</height></size>{body}</annotation>"


def flags(tmp_path, url, **more):
    return {"database_url": url, "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared"), **more}


def test_sample_is_one_record_per_image_with_the_class_histogram(tmp_path, any_url, kit):
    config = kit.templates / "object_detection" / "ingest.yaml"
    report, out, err = kit.ingest(ObjectDetection(), flags(tmp_path, any_url, config_path=str(config)))
    assert report.exit_code == 0, out + err
    rows = kit.rows_of(any_url, "scenes_sample", "filename, extension, label")
    assert [r[:2] for r in sorted(rows)] == [(f"scene_{i}", ".jpg") for i in range(1, 5)]
    for stem, _, label in rows:
        xml = (kit.templates / "object_detection" / "annotations" / f"{stem}.xml").read_text()
        expected = {k: xml.count(f"<name>{k}</name>") for k in ("circle", "square")}
        assert label == " ".join(f"{k}:{v}" for k, v in sorted(expected.items()) if v)
    folder = tmp_path / "shared" / "scenes_sample"
    assert kit.stored(folder) == sorted(f"scene_{i}{e}" for i in range(1, 5) for e in (".jpg", ".xml"))
    payload = json.loads((tmp_path / "out" / "scenes_sample.registration.json").read_text())["payload"]
    assert sum(payload["meta_data"]["boxes"].values()) == sum(
        (kit.templates / "object_detection" / "annotations" / f"scene_{i}.xml").read_text().count("<object>") for i in range(1, 5)
    )


def test_bad_annotations_are_named_and_nothing_is_written(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    cases = {
        "ok": voc(64, 64, ("car", 1, 1, 30, 30), ("person", 5, 5, 60, 60)),
        "outside": voc(64, 64, ("car", 10, 10, 70, 30)),
        "wrongsize": voc(100, 64, ("car", 1, 1, 30, 30)),
        "badclass": voc(64, 64, ("two words", 1, 1, 30, 30)),
        "entity": voc(64, 64, ("&x;", 1, 1, 30, 30), extra='<!DOCTYPE a [<!ENTITY x "car">]>'),
        "broken": "<annotation><size>",
        "huge": voc(64, 64, ("car", 1, 1, 30, 30)) + "<!--" + "x" * (1 << 20) + "-->",
    }
    for i, (stem, text) in enumerate(cases.items()):
        kit.draw(root / "images" / f"{stem}.jpg", seed=i)
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"{stem}.xml").write_text(text)
    (root / "annotations" / "noimage.xml").write_text(voc(64, 64, ("car", 1, 1, 2, 2)))
    report, out, err = kit.ingest(ObjectDetection(), flags(tmp_path, sqlite_url, src_path=str(root), table="boxes"))
    assert report.exit_code == 1
    found = {(i.row, i.file, i.rule) for i in report.issues}
    # rows are the sorted annotation files: badclass broken entity huge noimage ok outside wrongsize
    assert found == {
        (1, "annotations/badclass.xml", "class_name"),
        (2, "annotations/broken.xml", "xml"),
        (3, "annotations/entity.xml", "xml"),
        (4, "annotations/huge.xml", "xml_size"),
        (5, "images/noimage", "missing_file"),
        (7, "annotations/outside.xml", "bbox"),
        (8, "annotations/wrongsize.xml", "xml_size_tag"),
    }
    assert not kit.has_table(sqlite_url, "boxes") and not (tmp_path / "shared").exists()


def test_an_optional_manifest_names_the_images_once_each(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    for i, stem in enumerate(("a", "b")):
        kit.draw(root / "images" / f"{stem}.png", seed=i)
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"{stem}.xml").write_text(voc(64, 64, ("car", 1, 1, 30, 30)))
    kit.write_csv(root / "scenes.csv", ("filename", "image_label"), [("a", "car"), ("b.png", "car"), ("a", "car")])
    args = flags(tmp_path, sqlite_url, src_path=str(root), table="boxes", label_file="scenes.csv")
    report, _, _ = kit.ingest(ObjectDetection(), args)
    assert [(i.row, i.rule) for i in report.issues] == [(3, "duplicate_record")]
    kit.write_csv(root / "scenes.csv", ("filename", "image_label"), [("a", "car"), ("b.png", "car")])
    report, out, err = kit.ingest(ObjectDetection(), args)
    assert report.exit_code == 0, out + err
    assert sorted(kit.rows_of(sqlite_url, "boxes", "filename, extension, label")) == [("a", ".png", "car:1"), ("b", ".png", "car:1")]
    assert kit.stored(tmp_path / "shared" / "boxes") == ["a.png", "a.xml", "b.png", "b.xml"]


def test_resizing_is_refused_because_boxes_would_no_longer_match(tmp_path, sqlite_url, kit):
    config = kit.templates / "object_detection" / "ingest.yaml"
    report, _, _ = kit.ingest(ObjectDetection(), flags(tmp_path, sqlite_url, config_path=str(config), resize_policy="resize"))
    assert report.exit_code == 1 and [i.rule for i in report.issues] == ["resize_policy"]


def test_without_a_manifest_an_image_without_annotation_is_named(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    for i in range(3):
        kit.draw(root / "images" / f"s{i}.jpg", seed=i)
    (root / "annotations").mkdir()
    for i in range(2):
        (root / "annotations" / f"s{i}.xml").write_text(voc(64, 64, ("car", 1, 1, 9, 9)), encoding="utf-8")
    report, out, err = kit.ingest(ObjectDetection(), flags(tmp_path, sqlite_url, src_path=str(root), table="scenes"))
    assert report.exit_code == 0, out + err
    assert [(i.rule, i.severity, i.file) for i in report.issues] == [("no_annotation", "warning", "images/s2.jpg")]
    assert len(kit.rows_of(sqlite_url, "scenes", "filename")) == 2
