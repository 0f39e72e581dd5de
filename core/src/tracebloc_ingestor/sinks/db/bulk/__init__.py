"""MySQL's bulk writes: LOAD DATA LOCAL files, multi-row INSERTs and the streamed first load.

``paths`` picks and runs the path, ``first_load`` streams a first load, ``sql`` and ``text``
render statements and values, ``load_stream`` feeds one LOAD DATA through a pipe.
"""

from .paths import DISABLE_LOAD_DATA_ENV, MySQLBulkWriter

__all__ = ["DISABLE_LOAD_DATA_ENV", "MySQLBulkWriter"]
