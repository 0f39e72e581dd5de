"""tracebloc-ingestor: move data into a tracebloc training environment; only metadata leaves.

The package root exports the plugin API (:mod:`tracebloc_ingestor.api`) and the
helpers the seed README names (``Database``, ``APIClient``); heavy modules load on
first use so that ``tb-ingest --help`` and plugin listing stay quick. Installed
distributions may add names of their own here (a validator of their data type, say)
through the entry-point group ``tracebloc_ingestor.exports``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .markers import EXPORTS_GROUP, hookimpl

__version__ = "1.0.0"

_API = (
    "BaseIngestor", "CSVIngestor", "JSONIngestor", "Category", "CategorySpec", "CategoryError", "FileCategory",
    "FileBearingIngestor", "Option", "OptionValues", "RunContext", "RunReport", "Issue", "ERROR", "WARNING",
    "Validator", "FileTypeValidator", "TableNameValidator", "TableSchema", "Column", "SqlType", "parse_sql_type",
)
_LAZY = {
    **{name: "api" for name in _API},
    "Database": "sinks.database",
    "APIClient": "sinks.backend",
    "run_ingestion": "runner",
}

__all__ = ["hookimpl", "__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .api import (
        ERROR,
        WARNING,
        BaseIngestor,
        Category,
        CategoryError,
        CategorySpec,
        Column,
        CSVIngestor,
        FileBearingIngestor,
        FileCategory,
        FileTypeValidator,
        Issue,
        JSONIngestor,
        Option,
        OptionValues,
        RunContext,
        RunReport,
        SqlType,
        TableNameValidator,
        TableSchema,
        Validator,
        parse_sql_type,
    )
    from .runner import run_ingestion
    from .sinks.backend import APIClient
    from .sinks.database import Database


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    else:
        value = _exported(name)
    globals()[name] = value
    return value


def _exported(name: str) -> Any:
    """A name an installed distribution adds to the package root (entry-point group ``tracebloc_ingestor.exports``)."""
    if name.startswith("__"):
        raise AttributeError(name)
    from importlib.metadata import entry_points

    found = list(entry_points(group=EXPORTS_GROUP, name=name))
    if not found:
        raise AttributeError(f"module 'tracebloc_ingestor' has no attribute {name!r}")
    try:
        return found[0].load()
    except Exception as exc:  # a broken distribution must not turn attribute lookup into an ImportError
        raise AttributeError(f"{name!r} is exported by {found[0].value} but cannot be loaded ({type(exc).__name__}: {exc})") from None


def __dir__() -> list[str]:
    return sorted(__all__)
