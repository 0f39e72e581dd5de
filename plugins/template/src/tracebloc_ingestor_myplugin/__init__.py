"""The ``my_category`` category for tracebloc-ingestor (a template: rename before publishing)."""

from .plugin import CODE_PATTERN, CodeFormatValidator, MyCategory, RegexPattern

__all__ = ["CODE_PATTERN", "CodeFormatValidator", "MyCategory", "RegexPattern"]
