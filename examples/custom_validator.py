"""A validator of your own: a rule the column types cannot express.

    python examples/custom_validator.py
    LABEL_FILE=my.csv python examples/custom_validator.py

Every batch of the validation pass goes to ``check_batch``; return an Issue per
offending record, naming the row, the column and the rule, never the value in the
message (the value may go into ``Issue.value``: only the local rejects report and the
local data report show it). Nothing is written unless every record passes.
"""

from pathlib import Path

import pyarrow.compute as pc

from tracebloc_ingestor.api import ROW, BaseIngestor, Issue, Validator

SAMPLE = Path(__file__).resolve().parent / "data" / "readings.yaml"


class HumidityInRange(Validator):
    """Relative humidity is a percentage: 0 to 100."""

    name = "humidity_range"

    def check_batch(self, ctx, batch):
        humidity = pc.cast(batch.column("humidity"), "double", safe=False)
        outside = pc.fill_null(pc.or_(pc.less(humidity, 0), pc.greater(humidity, 100)), False)
        for row, value in zip(pc.filter(batch.column(ROW), outside).to_pylist(), pc.filter(humidity, outside).to_pylist()):
            yield Issue("humidity_range", "humidity must be 0 to 100 (%)", row=row, column="humidity", value=value)


class CheckedReadings(BaseIngestor):
    validators = [HumidityInRange()]


if __name__ == "__main__":
    CheckedReadings().ingest(config_path=str(SAMPLE), table="readings_checked")
