"""Column names every category shares, and small helpers for record batches.

Columns whose names start with ``_tb_`` belong to the host: ``_tb_row`` (the 1-based
record number in the source) is on every discovered batch; file-bearing categories add
``_tb_member`` (the file column's value as a path inside the category's folder) and
``_tb_file`` (the same path relative to the source root, for messages). The host drops
them before rows are written.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "ANNOTATION",
    "DATA_ID",
    "EXTENSION",
    "FILE",
    "FILENAME",
    "HOST_PREFIX",
    "LABEL",
    "MEMBER",
    "ROW",
    "set_column",
]

HOST_PREFIX = "_tb_"
ROW = "_tb_row"
MEMBER = "_tb_member"
FILE = "_tb_file"
# framework columns a category may fill
LABEL = "label"
DATA_ID = "data_id"
FILENAME = "filename"
EXTENSION = "extension"
ANNOTATION = "annotation"


def set_column(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    """``batch`` with column ``name`` replaced by ``values`` (appended when it is new)."""
    names = batch.schema.names
    if name in names:
        return batch.set_column(names.index(name), name, values)
    return batch.append_column(name, values)
