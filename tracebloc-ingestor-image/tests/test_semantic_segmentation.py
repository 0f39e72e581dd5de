"""semantic_segmentation: masks paired by <stem>_mask, single channel, same size; mask_id stored."""

from __future__ import annotations

from PIL import Image

from tracebloc_ingestor_image import SemanticSegmentation


def flags(tmp_path, url, **more):
    return {"database_url": url, "output_dir": str(tmp_path / "out"), "storage_path": str(tmp_path / "shared"), **more}


def test_sample_stores_images_masks_and_mask_ids(tmp_path, any_url, kit):
    config = kit.templates / "semantic_segmentation" / "ingest.yaml"
    report, out, err = kit.ingest(SemanticSegmentation(), flags(tmp_path, any_url, config_path=str(config)))
    assert report.exit_code == 0, out + err
    rows = kit.rows_of(any_url, "tiles_sample", "filename, extension, label, mask_id")
    assert sorted(rows) == [(f"tile_{i}", ".png", "shapes" if i % 2 else "mixed", f"tile_{i}_mask") for i in range(1, 5)]
    folder = tmp_path / "shared" / "tiles_sample"
    assert kit.stored(folder) == sorted(f"tile_{i}{s}.png" for i in range(1, 5) for s in ("", "_mask"))
    masks = kit.templates / "semantic_segmentation" / "masks"
    assert (folder / "tile_1_mask.png").read_bytes() == (masks / "tile_1_mask.png").read_bytes()


def test_bad_masks_are_named_and_nothing_is_written(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    rows = []
    for i, stem in enumerate(("ok", "nomask", "rgb", "small", "renamed", "outside")):
        kit.draw(root / "images" / f"{stem}.png", seed=i)
        rows.append((f"{stem}.png", f"{stem}_mask", "a" if i % 2 else "b"))
    kit.draw(root / "masks" / "ok_mask.png", mode="L")
    kit.draw(root / "masks" / "rgb_mask.png", mode="RGB")
    kit.draw(root / "masks" / "small_mask.png", (32, 32), mode="L")
    kit.draw(root / "masks" / "renamed_mask.png", mode="L")
    rows[4] = ("renamed.png", "other_mask.png", "a")
    kit.draw(tmp_path / "elsewhere.png", mode="L")
    (root / "masks" / "outside_mask.png").symlink_to(tmp_path / "elsewhere.png")
    kit.write_csv(root / "masks.csv", ("filename", "mask_id", "label"), rows)
    report, out, err = kit.ingest(SemanticSegmentation(), flags(tmp_path, sqlite_url, src_path=str(root), label_file="masks.csv", table="seg"))
    assert report.exit_code == 1
    assert {(i.row, i.file, i.rule) for i in report.issues} == {
        (2, "masks/nomask_mask.png", "missing_file"),
        (3, "masks/rgb_mask.png", "mask_mode"),
        (4, "masks/small_mask.png", "mask_size"),
        (5, "images/renamed.png", "mask_pairing"),
        (6, "masks/outside_mask.png", "path_escape"),
    }
    assert not kit.has_table(sqlite_url, "seg") and not (tmp_path / "shared").exists()


def test_resizing_keeps_mask_values_and_sizes_paired(tmp_path, sqlite_url, kit):
    root = tmp_path / "src"
    rows = []
    for i, size in enumerate([(64, 64), (100, 50), (40, 80)]):
        kit.draw(root / "images" / f"t{i}.png", size, seed=i)
        mask = Image.new("L", size, 0)
        mask.paste(3, (0, 0, size[0] // 2, size[1]))
        mask.paste(7, (size[0] // 2, 0, size[0], size[1] // 3))
        (root / "masks").mkdir(exist_ok=True)
        mask.save(root / "masks" / f"t{i}_mask.png")
        rows.append((f"t{i}.png", f"t{i}_mask", "a" if i % 2 else "b"))
    kit.write_csv(root / "masks.csv", ("filename", "mask_id", "label"), rows)
    for policy in ("resize", "pad"):
        args = flags(tmp_path / policy, sqlite_url.replace("ingest.sqlite", f"{policy}.sqlite"), src_path=str(root), label_file="masks.csv", table="seg", target_size="64x64", resize_policy=policy)
        report, out, err = kit.ingest(SemanticSegmentation(), args)
        assert report.exit_code == 0, out + err
        folder = tmp_path / policy / "shared" / "seg"
        for i in range(3):
            with Image.open(folder / f"t{i}.png") as im, Image.open(folder / f"t{i}_mask.png") as mask:
                assert im.size == mask.size == (64, 64)
                assert mask.mode == "L" and set(mask.tobytes()) <= {0, 3, 7}
