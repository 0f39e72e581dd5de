"""The parts of the database sink (:mod:`tracebloc_ingestor.sinks.database`)."""
