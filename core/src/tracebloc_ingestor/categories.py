"""Named records that describe a category (a data-type template) to the host."""

from __future__ import annotations

import attrs

DATA_FORMATS = ("image", "tabular", "text")
LABEL_KINDS = ("classification", "regression", "none")


@attrs.frozen
class CategorySpec:
    """What the host needs to know about a category before running it.

    ``label_kind`` decides what may leave the cluster: class names of a
    ``classification`` target are sent as they are; a ``regression`` target is sent
    only as bucket ids; ``none`` has no label.
    """

    name: str
    data_format: str = attrs.field(validator=attrs.validators.in_(DATA_FORMATS))
    label_kind: str = attrs.field(default="classification", validator=attrs.validators.in_(LABEL_KINDS))
    file_bearing: bool = False
    summary: str = ""

    @property
    def default_label_policy(self) -> str:
        return "bucket" if self.label_kind == "regression" else "passthrough"
