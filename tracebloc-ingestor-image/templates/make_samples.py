"""Draw the small sample datasets of the image templates with Pillow (no downloads).

    python make_samples.py          # rewrites the sample files next to each template

The output is committed; run this again only to change the samples.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
COLORS = [(220, 60, 60), (60, 160, 80), (60, 90, 200), (230, 180, 40)]


def _background(size, seed):
    rnd = random.Random(seed)
    im = Image.new("RGB", size, (rnd.randint(200, 255), rnd.randint(200, 255), rnd.randint(200, 255)))
    return im, ImageDraw.Draw(im), rnd


def _shape(draw, kind, box, color):
    if kind == "circle":
        draw.ellipse(box, fill=color)
    else:
        draw.rectangle(box, fill=color)


def _write_csv(path: Path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def classification(folder: Path) -> None:
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(8):
        kind = "circle" if i % 2 == 0 else "square"
        im, draw, rnd = _background((64, 64), i)
        x, y = rnd.randint(4, 20), rnd.randint(4, 20)
        _shape(draw, kind, (x, y, x + 36, y + 36), COLORS[i % 4])
        name = f"{kind}_{i // 2 + 1}"
        im.save(images / f"{name}.jpg", quality=90)
        rows.append((f"{name}.jpg", kind))
    _write_csv(folder / "labels.csv", ("filename", "label"), rows)


def detection(folder: Path) -> None:
    images, annotations = folder / "images", folder / "annotations"
    images.mkdir(parents=True, exist_ok=True)
    annotations.mkdir(parents=True, exist_ok=True)
    for i in range(4):
        im, draw, rnd = _background((128, 96), 100 + i)
        objects = []
        for j in range(rnd.randint(1, 3)):
            kind = rnd.choice(["circle", "square"])
            w = rnd.randint(16, 32)
            x, y = rnd.randint(0, 128 - w - 1), rnd.randint(0, 96 - w - 1)
            _shape(draw, kind, (x, y, x + w, y + w), COLORS[j % 4])
            objects.append((kind, x, y, x + w, y + w))
        stem = f"scene_{i + 1}"
        im.save(images / f"{stem}.jpg", quality=90)
        body = "".join(
            f"  <object><name>{k}</name><difficult>0</difficult>"
            f"<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>\n"
            for k, x0, y0, x1, y1 in objects
        )
        (annotations / f"{stem}.xml").write_text(
            f"<annotation>\n  <filename>{stem}.jpg</filename>\n"
            f"  <size><width>128</width><height>96</height><depth>3</depth></size>\n{body}</annotation>\n",
            encoding="utf-8",
        )


def segmentation(folder: Path) -> None:
    images, masks = folder / "images", folder / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(4):
        im, draw, rnd = _background((64, 64), 200 + i)
        mask = Image.new("L", (64, 64), 0)
        mdraw = ImageDraw.Draw(mask)
        for cls, kind in ((1, "circle"), (2, "square")):
            w = rnd.randint(14, 24)
            x, y = rnd.randint(0, 63 - w), rnd.randint(0, 63 - w)
            _shape(draw, kind, (x, y, x + w, y + w), COLORS[cls])
            _shape(mdraw, kind, (x, y, x + w, y + w), cls)
        stem = f"tile_{i + 1}"
        im.save(images / f"{stem}.png")
        mask.save(masks / f"{stem}_mask.png")
        rows.append((f"{stem}.png", f"{stem}_mask", "shapes" if i % 2 == 0 else "mixed"))
    _write_csv(folder / "masks.csv", ("filename", "mask_id", "label"), rows)


def keypoints(folder: Path) -> None:
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(4):
        im, draw, rnd = _background((96, 96), 300 + i)
        points = {
            "head": [rnd.randint(35, 60), rnd.randint(8, 25)],
            "left_hand": [rnd.randint(8, 30), rnd.randint(40, 70)],
            "right_hand": [rnd.randint(66, 88), rnd.randint(40, 70)],
        }
        visible = {name: 1 for name in points}
        if i == 3:
            visible["left_hand"] = 0
        for (x, y), color in zip(points.values(), COLORS):
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=color)
        stem = f"pose_{i + 1}"
        im.save(images / f"{stem}.jpg", quality=90)
        rows.append((f"{stem}.jpg", json.dumps(points), json.dumps(visible), "standing" if i % 2 == 0 else "waving"))
    _write_csv(folder / "keypoints.csv", ("filename", "Annotation", "Visibility", "label"), rows)


if __name__ == "__main__":
    classification(HERE / "image_classification")
    detection(HERE / "object_detection")
    segmentation(HERE / "semantic_segmentation")
    keypoints(HERE / "keypoint_detection")
