"""A runnable tabular_regression ingestor. Copy this folder, point it at your data, run it.

    python ingestor.py                      # ingests the sample next to this file
    INGEST_CONFIG=my.yaml python ingestor.py
    LABEL_FILE=data.csv TABLE_NAME=my_table python ingestor.py   # no YAML: schema inferred

Without MYSQL_HOST the rows go to an SQLite file and, without backend credentials, the
metadata to a local JSON file (both under ./tracebloc-output).
"""

from tracebloc_ingestor_tabular import TabularRegression


class Ingestor(TabularRegression):
    # Add checks of your own, e.g. (from tracebloc_ingestor.api import FileTypeValidator):
    #   validators = (*TabularRegression.validators, FileTypeValidator(allowed=[".csv"]))
    # or override a stage (validate, validate_end, ...) and call super() first.
    pass


if __name__ == "__main__":
    Ingestor().run_template(__file__)
