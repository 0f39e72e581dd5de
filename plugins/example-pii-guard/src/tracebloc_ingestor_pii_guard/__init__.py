"""pii_guard: a tracebloc-ingestor plugin that refuses direct identifiers in the source."""

from .plugin import ALLOW, ALLOW_VARIABLE, PiiGuard
from .rules import identifier_kind, is_iban

__all__ = ["ALLOW", "ALLOW_VARIABLE", "PiiGuard", "identifier_kind", "is_iban"]
