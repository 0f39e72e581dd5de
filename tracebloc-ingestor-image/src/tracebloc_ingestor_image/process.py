"""Bring an image to exactly ``target_size``: stretch (``resize``) or fit and pad (``pad``).

The result is re-encoded in the source's format. Pillow releases the GIL while it
decodes, resamples and encodes, so worker threads use every core.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

JPEG_QUALITY = 95


def conform(path: Path, *, target: tuple[int, int], policy: str, fmt: str, mask: bool = False) -> bytes:
    """The bytes of the image at ``path`` brought to ``target`` by ``policy``.

    ``mask`` images (class indices) are resampled with nearest neighbour so that no
    new class values appear.
    """
    with Image.open(path, formats=(fmt,)) as im:
        if fmt == "JPEG" and not mask:
            # Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 first: far less to decode.
            if policy == "resize":
                im.draft(im.mode, target)
            else:
                im.draft(im.mode, _fit(im.size, target))
        im.load()
        info_icc = im.info.get("icc_profile")
        resample = Image.Resampling.NEAREST if mask else Image.Resampling.BILINEAR
        if policy == "resize":
            out = im.resize(target, resample)
        elif policy == "pad":
            inner = _fit(im.size, target)
            scaled = im.resize(inner, resample) if inner != im.size else im
            out = Image.new(scaled.mode, target, _black(scaled))
            if scaled.mode == "P" and scaled.getpalette():
                out.putpalette(scaled.getpalette())
            out.paste(scaled, ((target[0] - inner[0]) // 2, (target[1] - inner[1]) // 2))
        else:
            raise ValueError(f"unknown resize policy {policy!r}")
        buf = io.BytesIO()
        options: dict = {"icc_profile": info_icc} if info_icc else {}
        if fmt == "JPEG":
            out.save(buf, "JPEG", quality=JPEG_QUALITY, **options)
        else:
            out.save(buf, "PNG", **options)
        return buf.getvalue()


def _fit(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    scale = min(target[0] / w, target[1] / h)
    return max(1, min(target[0], round(w * scale))), max(1, min(target[1], round(h * scale)))


def _black(im: Image.Image):
    bands = len(im.getbands())
    return 0 if bands == 1 else (0,) * bands


def thumbnail(path: Path, size: int = 128) -> bytes:
    """A PNG of the image at ``path`` fitting ``size`` x ``size`` (for the local data report)."""
    with Image.open(path, formats=("JPEG", "PNG")) as im:
        im.draft("RGB", (size, size))  # JPEG: decode at a fraction of the size
        im.thumbnail((size, size))
        if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            im = im.convert("RGB")
        out = io.BytesIO()
        im.save(out, format="PNG", optimize=True)
        return out.getvalue()
