"""pii_guard: a tracebloc-ingestor plugin that refuses direct identifiers in the source."""

from .plugin import ALLOW_VARIABLE, PiiGuard, parse_allow
from .rules import identifier_kind, is_iban

__all__ = ["ALLOW_VARIABLE", "PiiGuard", "identifier_kind", "is_iban", "parse_allow"]
