"""The image categories' options, and the typed view of them a run reads.

Each category lists the options it uses (``options = (...)``); the host offers each as a
flag, an environment variable and an ``ingest.yaml`` key (the platform's keys: the
folders and ``target_size`` at the top level, the rest under ``spec.file_options``) and
hands the values to the run as ``ctx.options``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from tracebloc_ingestor.api import Boolean, Choice, Integer, Option, OptionError, OptionType, PathValue, Size

from .checks import IMAGE_EXTENSIONS

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import RunContext

DEFAULT_MIN_SIZE = (32, 32)
DEFAULT_MAX_PIXELS = 8192 * 8192
RESIZE_POLICIES = ("reject", "resize", "pad")
FILE_OPTIONS = "spec.file_options"


@attrs.frozen
class ImageExtension(OptionType):
    """An image extension, with or without its dot (``jpg``, ``.png``)."""

    metavar = "EXT"

    def parse(self, raw: Any) -> str:
        text = raw.strip() if isinstance(raw, str) else ""
        text = text if text.startswith(".") else "." + text
        if text.lower() not in IMAGE_EXTENSIONS:
            raise OptionError(f"must be one of {', '.join(IMAGE_EXTENSIONS)}")
        return text

    def json_schema(self) -> dict:
        return {"type": "string", "pattern": r"^\.?([jJ][pP][eE]?[gG]|[pP][nN][gG])$", "x-message": f"must be one of {', '.join(IMAGE_EXTENSIONS)}"}

    def describe(self) -> str:
        return "one of " + ", ".join(IMAGE_EXTENSIONS)


def folder(name: str, env: str, what: str) -> Option:
    """A folder option: ingest.yaml key and flag are its name, ``<name>/`` under the source root by default."""
    return Option(name, PathValue("source"), help=f"Folder of the {what} (default: {name}/ under the source root)", env=env)


IMAGES = folder("images", "IMAGES_DIR", "images the records name")
ANNOTATIONS = folder("annotations", "ANNOTATIONS_DIR", "Pascal VOC XML annotations, <image stem>.xml")
MASKS = folder("masks", "MASKS_DIR", "masks, <image stem>_mask.png")
TARGET_SIZE = Option(
    "target_size",
    Size(),
    help="Every image must be exactly this size, width x height (see resize_policy); unset: all images must match the first",
)
NUMBER_OF_KEYPOINTS = Option(
    "number_of_keypoints", Integer(minimum=1), help="How many keypoints each record's Annotation holds (required)"
)


def file_option(name: str, type: Any, help: str, **more: Any) -> Option:
    """An option whose ingest.yaml key lives under ``spec.file_options`` (the platform's place for them)."""
    return Option(name, type, help=help, yaml=f"{FILE_OPTIONS}.{name}", **more)


RESIZE_POLICY = file_option(
    "resize_policy",
    Choice(*RESIZE_POLICIES),
    "What happens to an image that is not target_size: reject it, resize (stretch) it, or pad it (fit, then fill with black)",
    default="reject",
)
FULL_DECODE = file_option(
    "full_decode",
    Boolean(),
    "Also decode every pixel while validating (slower; catches damage the header and checksum checks cannot see)",
    default=False,
)
MAX_PIXELS = file_option(
    "max_pixels",
    Integer(minimum=1),
    "Pixel budget per image, width x height; larger images are refused before they are decoded",
    default=DEFAULT_MAX_PIXELS,
)
MIN_SIZE = file_option("min_size", Size(), "Smallest accepted image, width x height", default=DEFAULT_MIN_SIZE)
EXTENSION = file_option(
    "extension",
    ImageExtension(),
    "Extension tried first for a manifest file name without one (default: the extension found on disk)",
    env="IMAGE_EXTENSION",
    flag="--image-extension",
)

#: what every image category declares
COMMON = (IMAGES, TARGET_SIZE, RESIZE_POLICY, FULL_DECODE, MAX_PIXELS, MIN_SIZE, EXTENSION)


@attrs.frozen
class ImageOptions:
    """The image options of one run, typed (built from ``ctx.options``)."""

    target_size: tuple[int, int] | None = None
    resize_policy: str = "reject"
    full_decode: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_size: tuple[int, int] = DEFAULT_MIN_SIZE

    @classmethod
    def of(cls, ctx: "RunContext") -> "ImageOptions":
        # asked for every file: built once per run (first by start, in the main thread; workers only read it)
        return ctx.state("image-options", lambda: cls._read(ctx))

    @classmethod
    def _read(cls, ctx: "RunContext") -> "ImageOptions":
        given = ctx.options
        return cls(
            target_size=given.get("target_size"),
            resize_policy=given.get("resize_policy") or "reject",
            full_decode=bool(given.get("full_decode")),
            max_pixels=given.get("max_pixels") or DEFAULT_MAX_PIXELS,
            min_size=given.get("min_size") or DEFAULT_MIN_SIZE,
        )

    @property
    def converts(self) -> bool:
        """Whether images of another size than ``target_size`` are converted (not refused)."""
        return self.resize_policy != "reject" and self.target_size is not None
