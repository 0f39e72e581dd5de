"""A small category built only on the public API, for the conformance kit's own tests."""

from tracebloc_ingestor.api import BaseIngestor, Integer, Issue, Option


class DemoCategory(BaseIngestor):
    category = "demo_conformance"
    data_format = "tabular"
    summary = "Measurements with a class label."
    options = (Option("min_age", Integer(minimum=0), default=0, help="Youngest age accepted."),)

    def validate(self, ctx, batch):
        issues = list(super().validate(ctx, batch))
        if "age" in batch.schema.names:
            for row, age in zip(batch.column("_tb_row").to_pylist(), batch.column("age").to_pylist()):
                if age is not None and str(age).isdigit() and int(age) < ctx.options.min_age:
                    issues.append(Issue("min_age", "younger than min_age", row=row, column="age", value=str(age)))
        return issues
