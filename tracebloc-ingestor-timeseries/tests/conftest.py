from tracebloc_ingestor.testing.fixtures import *  # noqa: F401,F403
