"""Streaming readers that turn source files into Arrow record batches."""

from .errors import SourceError
from .formats import FORMAT_NAMES, Detected, detect_format
from .tables import ROW_COLUMN, read_table_batches, sniff_format, source_columns

__all__ = ["FORMAT_NAMES", "ROW_COLUMN", "Detected", "SourceError", "detect_format", "read_table_batches", "sniff_format", "source_columns"]
