"""Parquet input: BaseIngestor reads CSV, JSON, JSON lines or Parquet by extension.

    python examples/parquet_input.py

This writes the sample as a Parquet file (into ./tracebloc-output) and ingests that.
Parquet columns keep their own types; each is still checked against the schema.
``FileTypeValidator`` refuses any source that is not Parquet.
"""

from pathlib import Path

import pyarrow.csv
import pyarrow.parquet

from tracebloc_ingestor import BaseIngestor, FileTypeValidator

SAMPLE = Path(__file__).resolve().parent / "data"


class ParquetReadings(BaseIngestor):
    validators = [FileTypeValidator(allowed=[".parquet"])]


if __name__ == "__main__":
    target = Path.cwd() / "tracebloc-output" / "readings.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pyarrow.csv.read_csv(SAMPLE / "readings.csv")
    pyarrow.parquet.write_table(table, target)
    ParquetReadings().ingest(config_path=str(SAMPLE / "readings.yaml"), label_file=str(target), table="readings_parquet")
