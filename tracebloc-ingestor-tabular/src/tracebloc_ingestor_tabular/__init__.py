"""Tabular categories for tracebloc-ingestor: ``tabular_classification`` and ``tabular_regression``."""

from .plugin import TabularClassification, TabularRegression

__all__ = ["TabularClassification", "TabularRegression"]
