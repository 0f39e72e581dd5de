"""The parts behind :class:`tracebloc_ingestor.sinks.database.Database`, one concern a module.

- ``errors``: the exceptions, and driver errors turned into messages without row values
- ``engine``: SQLAlchemy engines and one transaction with transient-error retries
- ``dialects``: what differs between SQLite and MySQL/MariaDB, one class each
- ``tables``: dataset table names, compatibility checks, creation and reflected types
- ``ledger``: the run bookkeeping tables (salt, run states, the registered owner)
- ``writes``: a batch checked and split into parts, and the write-path interface
- ``bulk``: MySQL's bulk writes (LOAD DATA LOCAL, multi-row INSERT, the streamed first load)
- ``sql_types``, ``table_lock``: the type vocabulary and the one-run-per-table lock
"""

# every module logs under the façade's name, as the sink did before it was split
LOGGER = "tracebloc_ingestor.sinks.database"
ID_CHUNK = 500  # values per IN list
