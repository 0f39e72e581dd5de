"""Time-series categories for tracebloc-ingestor.

``time_series_forecasting`` (a time-ordered table with a numeric target),
``time_to_event_prediction`` (a non-negative duration and a 0/1 event indicator) and
``time_series_classification`` (labelled sequences grouped by ``sequence_id``).
"""

from .classification import TimeSeriesClassification
from .forecasting import TimeSeriesForecasting
from .time_to_event import TimeToEventPrediction

__all__ = ["TimeSeriesClassification", "TimeSeriesForecasting", "TimeToEventPrediction"]
