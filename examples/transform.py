"""Transform whole batches: the fast way to preprocess.

    python examples/transform.py

``transform_frame(frame)`` gets each batch as a pandas DataFrame, already cast to the
table's types, and returns it with the same columns. Here: temperatures in Fahrenheit
for a table that a US team trains on, and station names in capitals.
"""

from decimal import Decimal
from pathlib import Path

from tracebloc_ingestor import BaseIngestor

SAMPLE = Path(__file__).resolve().parent / "data" / "readings.yaml"


class FahrenheitReadings(BaseIngestor):
    def transform_frame(self, frame):
        # DECIMAL(4,1) arrives as Decimal: stay exact, one decimal place
        frame["temperature"] = frame["temperature"].map(
            lambda c: None if c is None else (c * Decimal("1.8") + 32).quantize(Decimal("0.1"))
        )
        frame["station"] = frame["station"].str.upper()
        return frame


if __name__ == "__main__":
    FahrenheitReadings().ingest(config_path=str(SAMPLE), table="readings_fahrenheit")
