"""Subclass BaseIngestor and change each record on its way into the table.

    python examples/subclass.py        # rows and metadata under ./tracebloc-output

``transform(record)`` sees one record at a time as a dict of typed values and returns
it (or None to skip it). It is the simplest hook, and the slowest: see transform.py for
the per-batch variant.
"""

from pathlib import Path

from tracebloc_ingestor import BaseIngestor

SAMPLE = Path(__file__).resolve().parent / "data" / "readings.yaml"


class StationReadings(BaseIngestor):
    def transform(self, record):
        record["station"] = record["station"].title()  # "old town" -> "Old Town"
        return record


if __name__ == "__main__":
    StationReadings().ingest(config_path=str(SAMPLE), table="readings_subclass")
