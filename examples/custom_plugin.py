"""A category of your own, with an option, a rule and a section in the local data report.

    python examples/custom_plugin.py
    MAX_TEMPERATURE=25 python examples/custom_plugin.py     # now some readings are refused

A category declares its options once; each becomes a flag, an environment variable and
an ingest.yaml key, and arrives typed as ``ctx.options``. Run from a script, the
category registers itself. To publish it as an installable plugin (``tb-ingest --plugin
station_readings``), put the class in a package with an entry point in the group
``tracebloc_ingestor``: plugins/template is a package to copy.
"""

from pathlib import Path

import pyarrow.compute as pc

from tracebloc_ingestor.api import ROW, BarChart, BaseIngestor, Issue, Number, Option, ReportSection

SAMPLE = Path(__file__).resolve().parent / "data" / "readings.yaml"


class StationReadings(BaseIngestor):
    category = "tabular_classification"  # what the platform trains on
    summary = "Weather-station readings with a status label."
    options = (Option("max_temperature", Number(), default=45.0, help="Highest plausible temperature in °C."),)

    def validate(self, ctx, batch):
        issues = list(super().validate(ctx, batch))
        temperature = pc.cast(batch.column("temperature"), "double", safe=False)
        hot = pc.fill_null(pc.greater(temperature, ctx.options.max_temperature), False)
        for row in pc.filter(batch.column(ROW), hot).to_pylist():
            issues.append(Issue("max_temperature", "above max_temperature", row=row, column="temperature"))
        stations = ctx.state("stations", dict)  # kept for the report; one entry per station
        counts = pc.value_counts(batch.column("station"))
        for name, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
            stations[name] = stations.get(name, 0) + n
        return issues

    def report_sections(self, ctx, statistics):
        stations = ctx.state("stations", dict)
        return [ReportSection("Stations", "Readings per station.", (BarChart(stations, title="Readings"),))]


if __name__ == "__main__":
    StationReadings().ingest(config_path=str(SAMPLE), table="readings_stations")
