"""``BaseIngestor`` and its table readers: the category implementation behind every template.

A ``BaseIngestor`` is a :class:`~tracebloc_ingestor.Category` that reads one table
(CSV, JSON, JSON lines or Parquet), checks every cell against the declared (or
inferred) schema, casts it and describes it. Subclasses change behaviour by overriding
its stages (calling ``super()``), by listing ``validators`` and, for the seed README's
per-record convenience, by overriding ``transform(record)``; ``ingest()`` runs the same
pipeline as ``tb-ingest``.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .batches import HOST_PREFIX
from .categories import Category
from .issues import WARNING, Issue
from .reading import FORMAT_NAMES, ROW_COLUMN, Detected, SourceError, detect_format, read_table_batches, source_columns
from .schema import Column, TableSchema, check_column_name, parse_sql_type
from .stats import Numeric, Tally, Total, exact_sum
from .validation.base import Validator

if TYPE_CHECKING:  # pragma: no cover
    from .context import RunContext
    from .summary import RunReport

log = logging.getLogger("tracebloc_ingestor")

LABEL = "label"
MAX_LABEL_LENGTH = 255
MAX_TRACKED_LABELS = 10_000
# Columns a category may carry through to the table besides label and the features.
PASS_THROUGH = ("data_id", "filename", "extension", "annotation")


class _RunState:
    """What one ingestor keeps for one run."""

    def __init__(self, validators: list[Validator]) -> None:
        self.validators = validators
        self.header_checked = False
        self.label_present = False
        self.inference: dict[str, Any] = {}
        self.labels: dict[str, int] = {}
        self.label_overflow = False
        self.read_failed = False  # the source stopped being readable: whole-input rules would mislead
        # the cast columns of the batch validated last (by the source column they came from):
        # in one pass its transform reuses them
        self.cast: dict[str, tuple[tuple, pa.Array]] | None = None


class BaseIngestor(Category):
    """A category that reads a table, validates it, casts it and describes it.

    Class attributes describe the category; ``validators`` are checked on every run
    (each run works on its own copies).
    """

    category: ClassVar[str] = "tabular_classification"
    data_format: ClassVar[str] = "tabular"
    label_kind: ClassVar[str] = "classification"
    summary: ClassVar[str] = "A table of features and a label."
    source_format: ClassVar[str | None] = None
    #: what a list or object inside a JSON record becomes: "refuse" (follow the run's json_nested
    #: setting, refused by default) or "json" (always its JSON text, for a category that parses it)
    nested_values: ClassVar[str] = "refuse"
    validators: ClassVar[Sequence[Validator]] = ()

    def _state(self, ctx: "RunContext") -> _RunState:
        return ctx.state(f"ingestor:{self.category}", lambda: _RunState([copy.deepcopy(v) for v in self.validators]))

    # -- running -------------------------------------------------------------------

    def ingest(self, *, environ: Mapping[str, str] | None = None, exit: bool = True, **flags: Any) -> "RunReport":
        """Run this ingestor as a whole job, configured like ``tb-ingest``.

        ``flags`` take the place of command-line options (``table="x"``,
        ``label_file="data.csv"``, or an option of the category by its name); the
        environment and ``INGEST_CONFIG`` fill in the rest. With ``exit=True`` (a
        script's ``__main__``) the process ends with the run's exit code.
        """
        from .runner import run_ingestion

        flags.setdefault("category", self.category)
        report = run_ingestion(flags, os.environ if environ is None else environ, plugins=[self])
        if exit:
            sys.exit(report.exit_code)
        return report

    def run_template(self, script: str | os.PathLike) -> "RunReport":
        """Run a template script as copied: its own sample unless the environment names data.

        Without ``LABEL_FILE``/``INGEST_CONFIG`` the ``ingest.yaml`` beside ``script`` is
        used; without ``STORAGE_PATH`` a file-bearing category stores its files under
        ``./tracebloc-output/shared``. Ends the process with the run's exit code.
        """
        def unset(*names: str) -> bool:
            return not any(os.environ.get(n) or os.environ.get(f"TRACEBLOC_{n}") for n in names)

        flags: dict[str, Any] = {}
        if unset("LABEL_FILE", "INGEST_CONFIG"):
            flags["config_path"] = str(Path(script).resolve().parent / "ingest.yaml")
        if self.file_bearing and unset("STORAGE_PATH"):
            flags["storage_path"] = str(Path.cwd() / "tracebloc-output" / "shared")
        return self.ingest(**flags)

    # -- stages --------------------------------------------------------------------

    def start(self, ctx: "RunContext") -> Iterable[Issue]:
        """Source-level checks of every validator, then the source table's columns (before any row is read)."""
        issues: list[Issue] = []
        for validator in self._state(ctx).validators:
            issues.extend(validator.check_source(ctx) or ())
        issues.extend(self.check_source_header(ctx))
        return issues

    def validate(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        """Type-check features and labels of one batch, then run the validators.

        Override and call ``super()`` to add rules of your own.
        """
        issues = list(self.check_columns(ctx, batch))
        for validator in self._state(ctx).validators:
            issues.extend(validator.check_batch(ctx, batch) or ())
        return issues

    def validate_end(self, ctx: "RunContext") -> Iterable[Issue]:
        """Whole-input rules (a classification needs two distinct labels), then the validators'.

        In a scaled-out run the label rules wait for every shard's labels (:meth:`validate_shards`).
        """
        issues = list(self.check_labels_end(ctx)) if ctx.shard is None else []
        for validator in self._state(ctx).validators:
            issues.extend(validator.finish(ctx) or ())
        return issues

    def transform_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """Cast the batch (:meth:`cast_batch`), then apply ``transform_frame`` and ``transform`` if overridden."""
        batch = self.cast_batch(ctx, batch)
        cls = type(self)
        if cls.transform is not BaseIngestor.transform:
            batch = self._per_record(ctx, batch)
        if cls.transform_frame is not BaseIngestor.transform_frame:
            frame = self.transform_frame(batch.to_pandas())
            batch = pa.RecordBatch.from_pandas(frame, schema=batch.schema, preserve_index=False)
        return batch

    # -- overridable steps -----------------------------------------------------------

    def discover(self, ctx: "RunContext") -> Iterator[pa.RecordBatch]:
        """Yield the source table in batches (``LABEL_FILE``: CSV, JSON or Parquet)."""
        path = ctx.settings.label_file
        if path is None:
            ctx.report(Issue("source", "no source table: set LABEL_FILE, --label-file, or csv/json in ingest.yaml"))
            return iter(())
        if not path.is_file():
            # the resolved path says where it was looked for (LABEL_FILE joined to SRC_PATH)
            ctx.report(Issue("missing_file", f"the source table does not exist or is not a file (looked for {path})", file=ctx.relative(path)))
            return iter(())
        return self._read(ctx, path)

    def source_reader(self, ctx: "RunContext", path: Path) -> Detected:
        """Which reader the source table gets (reading/formats.py): by content, extension, then declaration."""
        settings = ctx.settings
        forced, forced_by = self.source_format, f"the category {self.category}"
        if settings.origins.get("source_format") == "--source-format":
            forced, forced_by = settings.source_format, "--source-format"
        declared = settings.source_format if forced is None else None
        return detect_format(path, forced=forced, forced_by=forced_by, declared=declared,
                             declared_by=f"{settings.origins.get('source_format', 'the configuration')}")

    def _read(self, ctx: "RunContext", path: Path) -> Iterator[pa.RecordBatch]:
        rel = ctx.relative(path)
        validating = ctx.issue_sink is not None

        def problem(err: SourceError) -> None:
            ctx.report(Issue(err.rule, str(err), row=err.row, column=err.column, file=rel))

        try:
            detected = self.source_reader(ctx, path)
        except SourceError as err:
            if not validating:
                raise
            problem(err)
            return
        if validating and ctx.stats.reader is None:
            ctx.stats.reader = detected.describe()
            (log.warning if detected.overridden else log.info)("reading %s as %s", rel, detected.describe())
        reader = read_table_batches(
            path,
            fmt=detected.format,
            batch_size=ctx.settings.batch_size,
            options=ctx.settings.csv_options,
            on_problem=problem if validating else None,
            nested=self.nested_policy(ctx),
        )
        rename = dict(ctx.settings.rename)
        try:
            for batch in reader:
                yield _renamed(batch, rename) if rename else batch
        except SourceError as err:
            if not validating:
                raise
            self._state(ctx).read_failed = True
            problem(err)

    def null_values(self, ctx: "RunContext") -> frozenset[str] | None:
        """The null words of the run (``spec.csv_options.null_values``); None = the defaults."""
        words = ctx.settings.csv_options.get("null_values")
        return None if words is None else frozenset(words)

    def selected(self, ctx: "RunContext", name: str) -> bool:
        """Whether a source column is kept (``columns:`` lists the kept ones; without it, all are)."""
        columns = ctx.settings.columns
        return columns is None or name in columns

    def nested_policy(self, ctx: "RunContext") -> str:
        """What nested values (JSON objects and lists, Parquet structs and lists) become in this run."""
        # a category that parses lists itself (tokens) takes them as JSON text
        return "json_text" if self.nested_values == "json" else ctx.settings.json_nested

    def header_seen(self, ctx: "RunContext", names: tuple[str, ...]) -> None:
        """The source's column names, known from its header before any row is read (not for JSON).

        Called before the columns are checked: a category whose columns depend on the
        input's shape (inline or file texts, say) decides it here.
        """

    def checks_header(self, ctx: "RunContext") -> bool:
        """Whether the table's columns are checked as features and label (a manifest may say no)."""
        return True

    def check_source_header(self, ctx: "RunContext") -> Iterable[Issue]:
        """The source table's place and columns, from its header (CSV) or schema (Parquet) only.

        A table reached through a symbolic link that leaves the source root is refused, as
        manifest paths are. JSON has no header: its columns are checked on the first batch.
        """
        path = ctx.settings.label_file
        if path is None or not path.is_file():
            return  # discover says so
        rel = ctx.relative(path)
        root = Path(os.path.normpath(ctx.source_root))
        lexical = Path(os.path.normpath(path))
        if (lexical == root or root in lexical.parents) and not _inside_real(path, root):
            yield Issue("path_escape", "a symbolic link leads outside the source root", file=rel)
            return
        try:
            detected = self.source_reader(ctx, path)
            if detected.format == "json":
                return
            names, refused = source_columns(path, detected.format, options=ctx.settings.csv_options,
                                            nested=self.nested_policy(ctx))
        except SourceError as err:
            yield Issue(err.rule, str(err), row=err.row, column=err.column, file=rel)
            return
        rename = dict(ctx.settings.rename)
        for err in refused:
            yield Issue(err.rule, str(err), column=rename.get(err.column, err.column), file=rel)
        yield from self._check_rename(names, rename, rel)
        names = [rename.get(name, name) for name in names]
        self.header_seen(ctx, tuple(names))
        if self.checks_header(ctx):
            state = self._state(ctx)
            state.header_checked = True
            state.label_present = self.label_column(ctx) in names
            yield from self._check_header(ctx, names, self.declared_features(ctx), rel)

    def _check_rename(self, names: list[str], rename: Mapping[str, str], rel: str | None) -> Iterable[Issue]:
        present = set(names)
        for old, new in rename.items():
            if old not in present:
                yield Issue("missing_column", "rename: names a column that is not in the source", column=old, file=rel)
            elif new in present and rename.get(new, new) == new:
                yield Issue("duplicate_column", f"rename: gives column {old!r} the name of another source column", column=new, file=rel)

    def reads_label(self, ctx: "RunContext") -> bool:
        """Whether the source carries the label column (False: no label, or one the category derives)."""
        return self.label_kind != "none"

    def label_column(self, ctx: "RunContext") -> str:
        return ctx.settings.label_column or LABEL

    def excluded_columns(self, ctx: "RunContext") -> set[str]:
        """Source columns that are not features (the label, a data_id column)."""
        out = {self.label_column(ctx)}
        if ctx.settings.data_id_strategy == "column" and ctx.settings.data_id_column:
            out.add(ctx.settings.data_id_column)
        return out

    def declared_features(self, ctx: "RunContext") -> dict[str, str] | None:
        schema = ctx.settings.schema
        if schema is None:
            return None
        excluded = self.excluded_columns(ctx)
        return {name: text for name, text in schema.items() if name not in excluded}

    def check_columns(self, ctx: "RunContext", batch: pa.RecordBatch) -> Iterable[Issue]:
        """Type-check the features and labels of one batch (the core of :meth:`validate`)."""
        from .validation.columns import TypeInference, cast_column, rule_message

        state = self._state(ctx)
        rel = ctx.relative(ctx.settings.label_file) if ctx.settings.label_file else None
        names = [n for n in batch.schema.names if not n.startswith(HOST_PREFIX)]
        excluded = self.excluded_columns(ctx)
        declared = self.declared_features(ctx)
        issues: list[Issue] = []
        if not state.header_checked:
            state.header_checked = True
            state.label_present = self.label_column(ctx) in names
            issues.extend(self._check_header(ctx, names, declared, rel))
        rows = batch.column(ROW_COLUMN)
        nulls = self.null_values(ctx)
        if declared is None:
            for name in names:
                if name in excluded or check_column_name(name) or not self.selected(ctx, name):
                    continue
                state.inference.setdefault(name, TypeInference(null_values=nulls)).update(batch.column(name))
        else:
            cast: dict[str, tuple[tuple, pa.Array]] = {}
            for name, text in declared.items():
                if name not in names:
                    continue
                sql_type = parse_sql_type(text)
                source = batch.column(name)
                result = cast_column(source, sql_type, null_values=nulls)
                issues.extend(_cast_issues(batch, name, result, sql_type, rows, rel, rule_message))
                cast[name] = (_same_data(source), result.array)
            state.cast = cast
        issues.extend(self._check_labels(ctx, batch, names, rows, rel))
        return issues

    def _check_header(self, ctx, names, declared, rel) -> Iterable[Issue]:
        label = self.label_column(ctx)
        if self.reads_label(ctx) and label not in names:
            yield Issue(
                "label_column",
                "the label column is not in the source (set LABEL_COLUMN or label in ingest.yaml)",
                column=label,
                file=rel,
            )
        excluded = self.excluded_columns(ctx)
        columns = ctx.settings.columns
        strict = ctx.settings.schema is not None and not self.file_bearing
        present = set(names)
        for name in columns or ():
            if name not in present:
                yield Issue("missing_column", "a column listed under columns: is not in the source", column=name, file=rel)
            elif declared is not None and name not in declared and name not in excluded:
                yield Issue("untyped_column", "a column listed under columns: has no type in the schema", column=name, file=rel)
        if declared is not None:
            for name in declared:
                if name not in present:
                    yield Issue("missing_column", "a schema column is not in the source", column=name, file=rel)
        for name in names:
            if name in excluded or not self.selected(ctx, name) or (declared is not None and name in declared):
                continue
            why = check_column_name(name)
            if why and (declared is None or strict):
                yield Issue("column_name", why, column=name, file=rel)
            elif strict:
                yield Issue(
                    "unlisted_column",
                    "is in the source but not in the schema; give it a type there, or list the columns to keep under columns:",
                    column=name,
                    file=rel,
                )
            elif declared is not None:
                yield Issue(
                    "ignored_column", "not in the schema; it is not stored", column=name, file=rel, severity=WARNING
                )

    def _check_labels(self, ctx, batch, names, rows, rel) -> Iterable[Issue]:
        label = self.label_column(ctx)
        if not self.reads_label(ctx) or label not in names:
            return
        from .validation.columns import cast_column

        values = batch.column(label)
        if not pa.types.is_string(values.type):
            values = pc.cast(values, pa.string())
        nulls = self.null_values(ctx)
        # the null policy, as for a text column; a regression target also as for a number
        missing = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), True)
        if nulls:
            missing = pc.or_(missing, pc.is_in(values, value_set=pa.array(sorted(nulls), pa.string())))
        failed = pa.array([], pa.int64())
        if self.label_kind == "regression":
            result = cast_column(values, parse_sql_type("DOUBLE"), null_values=nulls)
            failed = result.failed
            blank_or_word = pc.is_null(result.array)
            missing = pc.or_(missing, pc.and_(blank_or_word, pc.invert(_positions_in(len(values), failed))))
        for idx in pc.indices_nonzero(missing).to_pylist():
            yield Issue("required", "a label is required; this one is missing (empty or a null word such as NaN)",
                        row=rows[idx].as_py(), column=label, file=rel, value=values[idx].as_py())
        too_long = pc.fill_null(pc.greater(pc.utf8_length(values), MAX_LABEL_LENGTH), False)
        for row in pc.filter(rows, too_long).to_pylist():
            yield Issue("max_length", f"labels are at most {MAX_LABEL_LENGTH} characters", row=row, column=label, file=rel)
        if self.label_kind == "regression":
            for idx in failed.to_pylist():
                yield Issue("number", "a regression target must be a finite number", row=rows[idx].as_py(), column=label,
                            file=rel, value=values[idx].as_py())
        else:
            state = self._state(ctx)
            if not state.label_overflow:
                counts = pc.value_counts(pc.drop_null(values))
                for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
                    state.labels[value] = state.labels.get(value, 0) + n
                if len(state.labels) > MAX_TRACKED_LABELS:
                    state.label_overflow = True

    def check_labels_end(self, ctx: "RunContext") -> Iterable[Issue]:
        """A classification needs at least two distinct labels."""
        state = self._state(ctx)
        # without a label column the header check has said so already
        if self.label_kind == "classification" and self.reads_label(ctx) and state.label_present and not state.label_overflow and not state.read_failed:
            distinct = len([k for k in state.labels if k.strip()])
            if distinct < 2:
                yield Issue(
                    "label_diversity",
                    f"classification needs at least two distinct labels; the input has {distinct}",
                    column=self.label_column(ctx),
                )

    # -- scaled-out runs ----------------------------------------------------------------

    def shard_problem(self, settings) -> str | None:
        """Shards must create the same table: an inferred schema would depend on each shard's share."""
        if settings.schema is None and not self.file_bearing:
            return ("a sharded run needs a declared schema (schema: in ingest.yaml): each shard would infer its own "
                    "from its share of the records; run once without shards to see the inferred schema, then pin it")
        return None

    def shard_facts(self, ctx: "RunContext") -> dict:
        """Up to two distinct labels of this shard: all that the label rules need from it."""
        state = self._state(ctx)
        facts: dict = {}
        if state.label_overflow:
            facts["label_overflow"] = Total(1)
        distinct = sorted(k for k in state.labels if k.strip())[:2]
        if distinct:
            facts["label_diversity"] = Tally({k: state.labels[k] for k in distinct})
        return facts

    def validate_shards(self, ctx: "RunContext", facts: Mapping) -> Iterable[Issue]:
        """The label rules (:meth:`check_labels_end`) on every shard's labels."""
        state = self._state(ctx)
        state.labels = dict(facts["label_diversity"].counts) if "label_diversity" in facts else {}
        state.label_overflow = state.label_overflow or "label_overflow" in facts
        return list(self.check_labels_end(ctx))

    def single_pass(self, ctx: "RunContext") -> bool:
        """One pass with a declared schema; an inferred one needs the whole input first."""
        return self.declared_features(ctx) is not None

    def table_schema(self, ctx: "RunContext") -> TableSchema:
        declared = self.declared_features(ctx)
        if declared is not None:
            return TableSchema.from_mapping(declared)
        state = self._state(ctx)
        columns = tuple(Column(name, inference.result()) for name, inference in state.inference.items())
        return TableSchema(columns, inferred=True)

    def cast_batch(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        """Cast features to their SQL types and put the target into ``label``."""
        from .validation.columns import cast_column

        schema = ctx.table_schema or TableSchema()
        names = batch.schema.names
        arrays: list[pa.Array] = []
        fields: list[str] = []
        state = self._state(ctx)
        done: dict[str, pa.Array] = {}
        for name, (source, array) in (state.cast or {}).items():
            if name in names and _same_data(batch.column(name)) == source:
                done[name] = array  # this very column was cast when validated, in the same pass
        state.cast = None
        for name in PASS_THROUGH:
            if name in names:
                fields.append(name)
                arrays.append(batch.column(name))
        label = self.label_column(ctx)
        if self.label_kind != "none" and label in names:
            values = batch.column(label)
            if not pa.types.is_string(values.type):
                values = pc.cast(values, pa.string())
            fields.append(LABEL)
            arrays.append(values)
        nulls = self.null_values(ctx)
        counts: dict[str, int] = {}
        for column in schema.features:
            if column.name in done:
                array = done[column.name]
            elif column.name in names:
                array = cast_column(batch.column(column.name), column.type, null_values=nulls).array
            else:
                array = pa.nulls(batch.num_rows, column.type.arrow_type())
            counts[column.name] = array.null_count
            arrays.append(array)
            fields.append(column.name)
        ctx.stats.add(nulls=counts)
        fields.append(ROW_COLUMN)
        arrays.append(batch.column(ROW_COLUMN))
        return pa.RecordBatch.from_arrays(arrays, names=fields)

    def transform(self, record: dict) -> dict | None:
        """Change one record (a dict of typed values); return None to skip it.

        Only called when a subclass overrides it; per-record Python is convenient but
        slow, so prefer ``transform_frame`` or ``transform_batch`` for large inputs.
        """
        return record

    def transform_frame(self, frame):
        """Change one batch as a pandas DataFrame (same columns and types). Optional."""
        return frame

    def _per_record(self, ctx: "RunContext", batch: pa.RecordBatch) -> pa.RecordBatch:
        kept = []
        for record in batch.to_pylist():
            out = self.transform(record)
            if out is None:
                ctx.stats.add(skipped=1)
                continue
            kept.append(out)
        return pa.RecordBatch.from_pylist(kept, schema=batch.schema)

    def describe(self, ctx: "RunContext", batch: pa.RecordBatch) -> dict:
        """Aggregate statistics of numeric features (never a cell value)."""
        out: dict[str, Any] = {"records": Total(batch.num_rows)}
        for column in (ctx.table_schema or TableSchema()).features:
            if not column.type.is_numeric or column.name not in batch.schema.names:
                continue
            arr = pc.cast(batch.column(column.name), pa.float64())
            valid = pc.drop_null(arr)
            n = len(valid)
            mm = pc.min_max(valid) if n else None
            out[f"feature.{column.name}"] = Numeric(
                count=n,
                nulls=batch.num_rows - n,
                minimum=mm["min"].as_py() if mm else None,
                maximum=mm["max"].as_py() if mm else None,
                # exact sums: the same mean however the rows were split into batches or shards
                total=exact_sum(valid) if n else 0,
                total_sq=exact_sum(pc.multiply(valid, valid)) if n else 0,
            )
        return out


def _positions_in(length: int, positions: pa.Array) -> pa.Array:
    """A boolean mask of ``length`` that is true at ``positions``."""
    return pc.is_in(pa.array(np.arange(length, dtype=np.int64)), value_set=positions)


def _renamed(batch: pa.RecordBatch, rename: Mapping[str, str]) -> pa.RecordBatch:
    return batch.rename_columns([rename.get(name, name) for name in batch.schema.names])


def _inside_real(path: Path, root: Path) -> bool:
    """Whether ``path`` stays inside ``root`` once symbolic links are followed."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def _same_data(column: pa.Array) -> tuple:
    """What identifies a column's data in memory (its buffers, offset and length), not its values."""
    return (len(column), column.offset, *(b.address if b is not None else 0 for b in column.buffers()))


def _cast_issues(batch, name, result, sql_type, rows, rel, rule_message) -> Iterator[Issue]:
    if len(result.failed) == 0:
        return
    raw = batch.column(name)
    for idx, rule in zip(result.failed.to_pylist(), result.rules.to_pylist()):
        value = raw[idx].as_py()
        yield Issue(
            rule,
            rule_message(rule, sql_type),
            row=rows[idx].as_py(),
            column=name,
            file=rel,
            value=None if value is None else str(value),
        )


class CSVIngestor(BaseIngestor):
    """Reads the source table as CSV whatever its extension."""

    source_format = "csv"


class JSONIngestor(BaseIngestor):
    """Reads the source table as JSON (an array of objects, or one object per line)."""

    source_format = "json"
