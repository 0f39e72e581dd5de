"""The plugin API of tracebloc-ingestor: everything a plugin imports comes from here.

A category plugin subclasses :class:`Category` (or :class:`BaseIngestor` for a table,
:class:`FileCategory` for records that name files), declares its :class:`Option`
records, and is registered through the entry-point group ``tracebloc_ingestor``. A
behaviour plugin implements hooks marked with :data:`hookimpl`. Tests use
:mod:`tracebloc_ingestor.testing` (the conformance kit, fixtures, the backend double).

Every other module of the package is private: it may change without notice. The
first-party distributions import only this module (and the package root), which a
layering check in CI enforces.
"""

from __future__ import annotations

from .batches import ANNOTATION, DATA_ID, EXTENSION, FILE, FILENAME, HOST_PREFIX, LABEL, MEMBER, ROW, set_column
from .categories import DATA_FORMATS, LABEL_KINDS, Category, CategoryError, CategorySpec
from .context import RunContext, RunStats
from .files.bearing import Companion, FileBearingIngestor, FileCategory, FileCheck, FileFacts, FileProblem
from .files.paths import PathProblem, member_path, relative_name
from .files.store import CopyJob, FileStore, FileStoreError, StoredFile
from .ingestors import MAX_LABEL_LENGTH, BaseIngestor, CSVIngestor, JSONIngestor
from .issues import ERROR, WARNING, Issue
from .labels import bucket_id
from .markers import hookimpl
from .options import (
    Boolean,
    Choice,
    Integer,
    Names,
    Number,
    Option,
    OptionError,
    OptionType,
    OptionValues,
    PathValue,
    Size,
    Text,
    options_reference,
)
from .reading import SourceError, read_table_batches
from .report.sections import BarChart, Histogram, ReportSection, Table, Thumbnail
from .schema import FRAMEWORK_COLUMNS, Column, SchemaError, SqlType, TableSchema, check_column_name, parse_sql_type
from .stats import Numeric, Stat, Tally, Total, merge_stats
from .summary import RunReport
from .validation import FileTypeValidator, TableNameValidator, Validator
from .validation.columns import CastResult, TypeInference, cast_column, rule_message

__all__ = [
    # markers and categories
    "hookimpl",
    "Category",
    "CategorySpec",
    "CategoryError",
    "DATA_FORMATS",
    "LABEL_KINDS",
    "BaseIngestor",
    "CSVIngestor",
    "JSONIngestor",
    "FileCategory",
    "FileBearingIngestor",
    # options
    "Option",
    "OptionType",
    "OptionValues",
    "OptionError",
    "Text",
    "Integer",
    "Number",
    "Boolean",
    "Choice",
    "Size",
    "PathValue",
    "Names",
    "options_reference",
    # the run
    "RunContext",
    "RunStats",
    "RunReport",
    "Issue",
    "ERROR",
    "WARNING",
    "Validator",
    "FileTypeValidator",
    "TableNameValidator",
    # tables, types and casting
    "TableSchema",
    "Column",
    "SqlType",
    "SchemaError",
    "parse_sql_type",
    "check_column_name",
    "cast_column",
    "CastResult",
    "rule_message",
    "TypeInference",
    "read_table_batches",
    "SourceError",
    "FRAMEWORK_COLUMNS",
    "MAX_LABEL_LENGTH",
    # statistics
    "Stat",
    "Total",
    "Tally",
    "Numeric",
    "merge_stats",
    "bucket_id",
    # the local data report
    "ReportSection",
    "BarChart",
    "Histogram",
    "Table",
    "Thumbnail",
    # files
    "FileStore",
    "FileStoreError",
    "CopyJob",
    "StoredFile",
    "FileProblem",
    "FileFacts",
    "FileCheck",
    "Companion",
    "PathProblem",
    "member_path",
    "relative_name",
    # columns
    "ROW",
    "HOST_PREFIX",
    "MEMBER",
    "FILE",
    "LABEL",
    "DATA_ID",
    "FILENAME",
    "EXTENSION",
    "ANNOTATION",
    "set_column",
]
