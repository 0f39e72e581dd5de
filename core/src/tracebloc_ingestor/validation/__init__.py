"""Validators: reusable checks that ingestors list in ``validators = [...]``."""

from .base import Validator
from .builtin import FileTypeValidator, TableNameValidator

__all__ = ["Validator", "FileTypeValidator", "TableNameValidator", "ImageResolutionValidator"]


def __getattr__(name: str):
    # Image checks need Pillow, which only the image distribution depends on.
    if name == "ImageResolutionValidator":
        try:
            from tracebloc_ingestor_image.validators import ImageResolutionValidator
        except ImportError as exc:
            raise ImportError(
                "ImageResolutionValidator lives in tracebloc-ingestor-image: pip install tracebloc-ingestor-image"
            ) from exc
        return ImageResolutionValidator
    raise AttributeError(name)
