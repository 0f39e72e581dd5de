"""Entry points of the time-series categories (group ``tracebloc_ingestor``).

The loader instantiates the class an entry point names; only the selected one is imported.
"""

from __future__ import annotations

from .classification import TimeSeriesClassification
from .forecasting import TimeSeriesForecasting
from .time_to_event import TimeToEventPrediction

time_series_forecasting = TimeSeriesForecasting
time_to_event_prediction = TimeToEventPrediction
time_series_classification = TimeSeriesClassification
