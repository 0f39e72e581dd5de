"""A runnable time_series_forecasting ingestor for a panel: many series in one file.

    python ingestor.py                      # ingests the sample next to this file
    INGEST_CONFIG=my.yaml python ingestor.py
    LABEL_FILE=data.csv TABLE_NAME=my_table LABEL_COLUMN=sales SERIES_COLUMN=store_item python ingestor.py
    LABEL_FILE=data.csv TABLE_NAME=my_table TIME_COLUMN=month TIME_FORMAT=period python ingestor.py

Without MYSQL_HOST the rows go to an SQLite file and, without backend credentials, the
metadata to a local JSON file (both under ./tracebloc-output).
"""

from tracebloc_ingestor_timeseries import TimeSeriesForecasting


class Ingestor(TimeSeriesForecasting):
    # Up to series_in_memory series (100,000 by default) keep their last time in memory;
    # a panel with more moves that state to a temporary SQLite file (TMPDIR).
    # Add checks of your own by overriding a stage (validate, validate_end, ...) and
    # calling super() first.
    pass


if __name__ == "__main__":
    Ingestor().run_template(__file__)
