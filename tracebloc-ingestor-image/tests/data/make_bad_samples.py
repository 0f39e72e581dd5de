"""Draw the bad samples of the conformance tests with the image tests' helpers (no downloads).

    python make_bad_samples.py      # rewrites bad_<category>/ next to this file

Each sample holds a sound record or two and several that break a rule of their category;
the conformance kit expects the run to refuse it with nothing written. The output is
committed (a few KB); run this again only to change the samples.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from conftest import draw, write_csv  # noqa: E402  (the tests' own drawing helpers)


def cut(path: Path, keep: float) -> None:
    """Keep the first ``keep`` of the file: a truncated image whose header is whole."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def sample(category: str, why: str, config: str, files) -> None:
    """Write ``bad_<category>/``: ``files(folder)`` fills it, ``config`` follows the ingest.yaml header."""
    folder = HERE / f"bad_{category}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    files(folder)
    header = f"# A sample {category} refuses: {why}\napiVersion: tracebloc.io/v1\nkind: IngestConfig\ncategory: {category}\n"
    (folder / "ingest.yaml").write_text(header + config, encoding="utf-8")


def classification(folder: Path) -> None:
    images = folder / "images"
    draw(images / "circle_ok.jpg")
    draw(images / "square_ok.jpg", seed=3)
    cut(draw(images / "cut_short.jpg"), 0.75)
    draw(images / "wrong_size.jpg", (48, 64))
    draw(images / "too_small.jpg", (16, 16))
    (images / "not_image.png").write_text("this is plain text, not a PNG\n", encoding="utf-8")
    draw(images / "jpeg_inside.png", fmt="JPEG")
    names = ["circle_ok.jpg", "square_ok.jpg", "cut_short.jpg", "wrong_size.jpg", "too_small.jpg", "not_image.png",
             "jpeg_inside.png", "missing_one.jpg", "../escape.jpg"]
    rows = [(name, ("circle", "square")[n % 2], f"2024-03-0{n + 1}") for n, name in enumerate(names)]
    write_csv(folder / "labels.csv", ("filename", "label", "captured_on"), [*rows, ("circle_ok.jpg", "", "last-tuesday-noon")])


def _voc(stem: str, size: tuple[int, int], name: str, box: tuple[int, int, int, int]) -> str:
    x0, y0, x1, y1 = box
    return (
        f"<annotation><filename>{stem}.jpg</filename><size><width>{size[0]}</width><height>{size[1]}</height>"
        f"<depth>3</depth></size><object><name>{name}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
        f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object></annotation>\n"
    )


def detection(folder: Path) -> None:
    images, annotations = folder / "images", folder / "annotations"
    annotations.mkdir()
    scene, box = (128, 96), (2, 2, 40, 40)
    scenes = {  # stem: (image size, <size> of the XML, class, box); None: no XML
        "scene_ok": (scene, scene, "circle", box),
        "box_outside": (scene, scene, "square", (100, 50, 180, 120)),
        "size_differs": (scene, (640, 480), "circle", box),
        "cut_short": (scene, scene, "circle", box),
        "wrong_size": ((96, 96), (96, 96), "circle", box),
        "bad_class": (scene, scene, "two words", box),
        "no_annotation": (scene, None, "", box),
    }
    for stem, (size, said, name, bbox) in scenes.items():
        draw(images / f"{stem}.jpg", size)
        if said is not None:
            (annotations / f"{stem}.xml").write_text(_voc(stem, said, name, bbox), encoding="utf-8")
    cut(images / "cut_short.jpg", 0.75)
    draw(images / "broken_xml.jpg", scene)
    (annotations / "broken_xml.xml").write_text("<annotation><size><width>128</width>", encoding="utf-8")
    serials = [(f"{stem}.jpg", str(104233 + n)) for n, stem in enumerate([*scenes, "broken_xml"])]
    serials[-2] = ("no_annotation.jpg", "serial-unknown")
    write_csv(folder / "scenes.csv", ("filename", "camera_serial"), serials)


def keypoints(folder: Path) -> None:
    images = folder / "images"
    for stem in ("pose_ok", "pose_out", "pose_count", "pose_json", "pose_vis"):
        draw(images / f"{stem}.jpg", (96, 96))
    draw(images / "pose_size.jpg", (80, 96))
    cut(draw(images / "pose_cut.jpg", (96, 96)), 0.75)
    good = {"head": [40, 20], "left_hand": [20, 60], "right_hand": [80, 60]}
    seen = json.dumps({joint: 1 for joint in good})
    rows = [
        ("pose_ok.jpg", json.dumps(good), seen, "standing", "175"),
        ("pose_out.jpg", json.dumps({**good, "right_hand": [140, 60]}), seen, "waving", "168"),
        ("pose_count.jpg", json.dumps({"head": [40, 20], "left_hand": [20, 60]}), json.dumps({"head": 1, "left_hand": 1}), "standing", "181"),
        ("pose_json.jpg", '{"head": [40, 20], "left_hand": [20, 60', seen, "waving", "159"),
        ("pose_vis.jpg", json.dumps(good), json.dumps({"head": 1, "left_hand": 7, "nose": 1}), "standing", "166"),
        ("pose_size.jpg", json.dumps(good), seen, "waving", "172"),
        ("pose_cut.jpg", json.dumps(good), seen, "standing", "one-seventy"),
    ]
    write_csv(folder / "keypoints.csv", ("filename", "Annotation", "Visibility", "label", "subject_height_cm"), rows)


def segmentation(folder: Path) -> None:
    images, masks = folder / "images", folder / "masks"
    for stem in ("tile_ok", "tile_rgb", "tile_small", "tile_pair", "tile_nomask", "tile_cut"):
        draw(images / f"{stem}.png")
    cut(images / "tile_cut.png", 0.9)
    draw(images / "tile_size.png", (80, 64))
    for stem in ("tile_ok", "tile_pair", "tile_cut"):
        draw(masks / f"{stem}_mask.png", mode="L")
    draw(masks / "tile_rgb_mask.png")
    draw(masks / "tile_small_mask.png", (32, 32), mode="L")
    draw(masks / "tile_size_mask.png", (80, 64), mode="L")
    rows = [(f"{stem}.png", f"{stem}_mask", ("shapes", "mixed")[n % 2], str(12 + n // 2))
            for n, stem in enumerate(("tile_ok", "tile_rgb", "tile_small", "tile_pair", "tile_nomask", "tile_size", "tile_cut"))]
    rows[3] = ("tile_pair.png", "tile_other_mask", "mixed", "13")
    rows[6] = ("tile_cut.png", "tile_cut_mask", "shapes", "zoomed-far-out")
    write_csv(folder / "masks.csv", ("filename", "mask_id", "label", "zoom_level"), rows)


if __name__ == "__main__":
    sample(
        "image_classification",
        "a truncated JPEG, an image of the wrong size,\n# one under min_size, text named .png, a JPEG named .png, a missing file, a path with\n"
        "# '..', a missing label and a DATE column holding words.",
        "table: shapes_bad\nintent: train\ncsv: labels.csv\nimages: images\nlabel: label\ntarget_size: [64, 64]\n"
        "schema:\n  captured_on: DATE\n",
        classification,
    )
    sample(
        "object_detection",
        "a box outside its image, a <size> that is not\n# the image's, a truncated JPEG, malformed XML, an image of the wrong size, a class name\n"
        "# with a space, an image without annotation, and an INT column holding words (which the\n"
        "# core does not check for this category: FileCategory.check_columns skips it).",
        "table: scenes_bad\nintent: train\ncsv: scenes.csv\nimages: images\nannotations: annotations\n"
        "target_size: [128, 96]\nschema:\n  camera_serial: INT\n",
        detection,
    )
    sample(
        "keypoint_detection",
        "a keypoint outside its image, two keypoints of\n# three, Annotation that is not JSON, Visibility over other joints with a value out of\n"
        "# 0-2, an image of the wrong size, a truncated JPEG and a SMALLINT column holding words.",
        "table: poses_bad\nintent: train\ncsv: keypoints.csv\nimages: images\nlabel: label\ntarget_size: [96, 96]\n"
        "number_of_keypoints: 3\nschema:\n  Visibility: TEXT\n  subject_height_cm: SMALLINT\n",
        keypoints,
    )
    sample(
        "semantic_segmentation",
        "an RGB mask, a mask smaller than its image, a\n# mask_id naming another mask, a missing mask, an image of the wrong size, a truncated\n"
        "# PNG and a TINYINT column holding words.",
        "table: tiles_bad\nintent: train\ncsv: masks.csv\nimages: images\nmasks: masks\nlabel: label\ntarget_size: [64, 64]\n"
        "schema:\n  mask_id: VARCHAR(255)\n  zoom_level: TINYINT\n",
        segmentation,
    )
