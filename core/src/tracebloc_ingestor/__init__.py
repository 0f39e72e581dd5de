"""tracebloc-ingestor: move data into a tracebloc training environment; only metadata leaves.

The public API is importable from here; heavy modules load on first use so that
``tb-ingest --help`` and plugin listing stay quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .markers import hookimpl

__version__ = "1.0.0.dev0"

_LAZY = {
    "BaseIngestor": "ingestors",
    "CSVIngestor": "ingestors",
    "JSONIngestor": "ingestors",
    "FileBearingIngestor": "files.bearing",
    "Validator": "validation",
    "FileTypeValidator": "validation",
    "TableNameValidator": "validation",
    "ImageResolutionValidator": "validation",
    "CategorySpec": "categories",
    "RunContext": "context",
    "Issue": "issues",
    "ERROR": "issues",
    "WARNING": "issues",
    "TableSchema": "schema",
    "Column": "schema",
    "SqlType": "schema",
    "parse_sql_type": "schema",
    "RunReport": "summary",
    "Database": "sinks.database",
    "APIClient": "sinks.backend",
    "run_ingestion": "runner",
}

__all__ = ["hookimpl", "__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .categories import CategorySpec
    from .context import RunContext
    from .ingestors import BaseIngestor, CSVIngestor, JSONIngestor
    from .issues import ERROR, WARNING, Issue
    from .runner import run_ingestion
    from .schema import Column, SqlType, TableSchema, parse_sql_type
    from .sinks.backend import APIClient
    from .sinks.database import Database
    from .summary import RunReport
    from .validation import FileTypeValidator, ImageResolutionValidator, TableNameValidator, Validator


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tracebloc_ingestor' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
