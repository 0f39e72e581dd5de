"""What makes a file a usable image, checked without decoding its pixels by default.

``inspect_image`` reads the header (format, mode, size), enforces the pixel budget
before anything is decoded, compares the real format with the extension and catches a
truncated or damaged file cheaply: a JPEG must end with its end-of-image marker, every
PNG chunk must pass its CRC up to ``IEND``. ``full_decode`` decodes every pixel as well.
Messages name the rule and the facts (format, size), never content.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import attrs
from PIL import Image, UnidentifiedImageError

from tracebloc_ingestor.api import FileProblem

FORMAT_OF_EXTENSION = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
IMAGE_EXTENSIONS = tuple(FORMAT_OF_EXTENSION)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TAIL = 4096
_PIECE = 64 << 10  # below malloc's mmap threshold


@attrs.frozen
class ImageFacts:
    format: str
    mode: str
    width: int
    height: int
    size: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def inspect_image(path: Path, *, max_pixels: int, full_decode: bool = False) -> ImageFacts:
    """Facts of the image at ``path``, or FileProblem naming what is wrong with it."""
    path = Path(path)
    expected = FORMAT_OF_EXTENSION.get(path.suffix.lower())
    if expected is None:
        raise FileProblem("file_type", f"the extension is not one of {', '.join(IMAGE_EXTENSIONS)}")
    # One open file for the header, the end marker or chunk walk, and any decode.
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise FileProblem("image_open", "the file is empty")
        fmt, mode, width, height = _header(fh, expected, max_pixels, full_decode)
        if not full_decode:
            if fmt == "PNG":
                _check_png_chunks(fh)
            elif not _has_jpeg_end(fh, size):
                # Some writers append bytes after the end marker; only a decode can tell those apart.
                fh.seek(0)
                with Image.open(fh, formats=("JPEG",)) as im:
                    _decode(im)
    return ImageFacts(fmt, mode, width, height, size)


def _header(fh, expected: str, max_pixels: int, full_decode: bool) -> tuple[str, str, int, int]:
    try:
        with Image.open(fh, formats=("JPEG", "PNG")) as im:
            fmt, mode, (width, height) = im.format, im.mode, im.size
            _budget(width, height, max_pixels)
            if fmt != expected:
                raise FileProblem("image_format", f"the content is {fmt} but the extension says {expected}")
            if full_decode:
                _decode(im)
    except Image.DecompressionBombError:
        raise FileProblem("pixel_budget", f"the image has more pixels than the budget of {max_pixels:,}") from None
    except UnidentifiedImageError:
        raise FileProblem("image_open", "cannot be read as a JPEG or PNG image") from None
    except FileProblem:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise FileProblem("image_open", f"cannot be read as an image ({type(exc).__name__})") from None
    return fmt, mode, width, height


def _budget(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise FileProblem("image_open", "the image has no pixels")
    if width * height > max_pixels:
        raise FileProblem(
            "pixel_budget",
            f"{width}x{height} is {width * height:,} pixels, over the budget of {max_pixels:,} (max_pixels)",
        )


def _decode(im: Image.Image) -> None:
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        text = str(exc).lower()
        rule = "truncated" if "truncat" in text else "image_decode"
        raise FileProblem(rule, f"the pixel data cannot be decoded ({'truncated' if rule == 'truncated' else type(exc).__name__})") from None


def _has_jpeg_end(fh, size: int) -> bool:
    fh.seek(max(0, size - _TAIL))
    tail = fh.read(_TAIL)
    return tail.rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9")


def _check_png_chunks(fh) -> None:
    """Walk every chunk, checking its CRC, up to IEND; pixels are not inflated."""
    fh.seek(0)
    if fh.read(8) != PNG_SIGNATURE:
        raise FileProblem("image_open", "the PNG signature is damaged")
    index = 0
    while True:
        index += 1
        head = fh.read(8)
        if len(head) < 8:
            raise FileProblem("truncated", "the PNG ends before its IEND chunk (truncated file)")
        length, kind = struct.unpack(">I4s", head)
        if length > 0x7FFFFFFF:
            raise FileProblem("checksum", f"PNG chunk {index} has an impossible length")
        crc = zlib.crc32(kind)
        left = length
        while left:
            piece = fh.read(min(left, _PIECE))
            if not piece:
                raise FileProblem("truncated", "the PNG ends inside a chunk (truncated file)")
            crc = zlib.crc32(piece, crc)
            left -= len(piece)
        stored = fh.read(4)
        if len(stored) < 4:
            raise FileProblem("truncated", "the PNG ends inside a chunk (truncated file)")
        if crc != int.from_bytes(stored, "big"):
            raise FileProblem("checksum", f"PNG chunk {index} fails its CRC check (damaged file)")
        if kind == b"IEND":
            return
