"""The pluggy markers of the host; plugins import ``hookimpl`` from the package root."""

import pluggy

PROJECT_NAME = "tracebloc_ingestor"
ENTRY_POINT_GROUP = "tracebloc_ingestor"
# names a distribution adds to the package root (``from tracebloc_ingestor import X``)
EXPORTS_GROUP = "tracebloc_ingestor.exports"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
