"""Streaming readers that turn source files into Arrow record batches."""

from .tables import ROW_COLUMN, SourceError, read_table_batches, sniff_format

__all__ = ["ROW_COLUMN", "SourceError", "read_table_batches", "sniff_format"]
