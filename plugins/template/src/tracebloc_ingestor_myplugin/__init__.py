"""The ``my_category`` category for tracebloc-ingestor (a template: rename before publishing)."""

from .plugin import CodeFormatValidator, MyCategory

__all__ = ["CodeFormatValidator", "MyCategory"]
