"""The two tabular categories, built only on the core's public API.

Both read one table (CSV, JSON, JSON lines or Parquet), check every cell against the
declared schema (or infer one), and store typed feature columns plus the raw target in
``label``. They differ in what leaves the cluster: class names of a classification
target are sent with their counts; a regression target is sent only as bucket ids.
"""

from __future__ import annotations

from tracebloc_ingestor.api import BaseIngestor, TableNameValidator


class TabularClassification(BaseIngestor):
    """Rows of features with a categorical target (at least two distinct labels)."""

    category = "tabular_classification"
    data_format = "tabular"
    label_kind = "classification"
    summary = "A table of typed features and a class label."
    validators = (TableNameValidator(),)


class TabularRegression(BaseIngestor):
    """Rows of features with a numeric target; the target leaves only as bucket ids."""

    category = "tabular_regression"
    data_format = "tabular"
    label_kind = "regression"
    summary = "A table of typed features and a numeric target."
    validators = (TableNameValidator(),)


# Entry points (group ``tracebloc_ingestor``) name these classes; the loader instantiates them.
tabular_classification = TabularClassification
tabular_regression = TabularRegression
