"""keypoint_detection: Annotation/Visibility JSON against number_of_keypoints and the image."""

from __future__ import annotations

import json

from tracebloc_ingestor_image import KeypointDetection


def flags(tmp_path, url, **more):
    return {"database_url": url, "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared"), **more}


def test_sample_stores_annotation_and_declared_visibility(tmp_path, any_url, kit):
    config = kit.templates / "keypoint_detection" / "ingest.yaml"
    report, out, err = kit.ingest(KeypointDetection(), flags(tmp_path, any_url, config_path=str(config)))
    assert report.exit_code == 0, out + err
    rows = kit.rows_of(any_url, "poses_sample", "filename, extension, label, annotation, Visibility")
    manifest = (kit.templates / "keypoint_detection" / "keypoints.csv").read_text()
    assert len(rows) == 4
    for stem, ext, label, annotation, visibility in rows:
        assert ext == ".jpg" and label in ("standing", "waving")
        assert len(json.loads(annotation)) == 3 and set(json.loads(visibility)) == set(json.loads(annotation))
        assert annotation.replace('"', '""') in manifest
    assert kit.stored(tmp_path / "shared" / "poses_sample") == [f"pose_{i}.jpg" for i in range(1, 5)]


def test_bad_keypoints_are_named_and_nothing_is_written(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    kit.draw(root / "images" / "p.jpg", (96, 96))
    ok = json.dumps({"a": [1, 2], "b": {"x": 50, "y": 60}, "c": [95.5, 0]})
    vis = json.dumps({"a": 1, "b": 0, "c": 2})
    rows = [
        ("p.jpg", ok, vis, "x"),
        ("p.jpg", json.dumps({"a": [1, 2], "b": [3, 4]}), json.dumps({"a": 1, "b": 1}), "y"),  # two of three
        ("p.jpg", json.dumps({"a": [1, 2], "b": [96, 4], "c": [5, 6]}), vis, "x"),  # x == width
        ("p.jpg", json.dumps({"a": [1, 2], "b": ["1", 4], "c": [5, 6]}), vis, "x"),
        ("p.jpg", "{not json", vis, "x"),
        ("p.jpg", ok, json.dumps({"a": 1, "b": 3, "c": 1}), "x"),
        ("p.jpg", ok, json.dumps({"a": 1}), "x"),
    ]
    kit.write_csv(root / "kp.csv", ("filename", "Annotation", "Visibility", "label"), rows)
    args = flags(tmp_path, sqlite_url, src_path=str(root), label_file="kp.csv", table="kp", target_size="96x96", number_of_keypoints=3)
    report, out, err = kit.ingest(KeypointDetection(), args)
    assert report.exit_code == 1
    assert {(i.row, i.column, i.rule) for i in report.issues} == {
        (2, "Annotation", "keypoint_count"),
        (3, "Annotation", "keypoint_bounds"),
        (4, "Annotation", "keypoint"),
        (5, "Annotation", "annotation"),
        (6, "Visibility", "visibility"),
        (7, "Visibility", "visibility"),
    }
    assert all(i.file == "images/p.jpg" for i in report.issues)
    assert "not json" not in err
    assert not kit.has_table(sqlite_url, "kp") and not (tmp_path / "shared").exists()


def test_number_of_keypoints_and_target_size_are_required(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    kit.draw(root / "images" / "p.jpg", (96, 96))
    kit.write_csv(root / "kp.csv", ("filename", "Annotation", "label"), [("p.jpg", json.dumps({"a": [1, 2]}), "x"), ("p.jpg", json.dumps({"a": [3, 2]}), "y")])
    report, _, _ = kit.ingest(KeypointDetection(), flags(tmp_path, sqlite_url, src_path=str(root), label_file="kp.csv", table="kp"))
    assert report.exit_code == 1
    assert {i.rule for i in report.issues} == {"number_of_keypoints", "target_size"}
    # Visibility is not declared: it is not stored
    report, out, err = kit.ingest(
        KeypointDetection(),
        flags(tmp_path, sqlite_url, src_path=str(root), label_file="kp.csv", table="kp", target_size="96x96", number_of_keypoints=1),
    )
    assert report.exit_code == 0, out + err
    assert kit.rows_of(sqlite_url, "kp", "filename, annotation, label") == [("p", '{"a": [1, 2]}', "x"), ("p", '{"a": [3, 2]}', "y")]
