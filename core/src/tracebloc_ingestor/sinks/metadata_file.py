"""The offline stand-in for the backend: registration payloads written to a local file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

import attrs


@attrs.frozen
class OfflineRegistration:
    status: int
    already_registered: bool
    path: Path


class MetadataFile:
    """Writes what would be sent to the backend into ``path`` (JSON), atomically.

    Used when no backend credentials are configured, so a first run needs no account;
    the file shows exactly what a real run would send.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _write(self, path: Path, document: Mapping) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)

    def register(self, table: str, payload: Mapping) -> OfflineRegistration:
        self._write(self.path, {"call": f"POST global_meta/summary/{table}/", "payload": dict(payload)})
        return OfflineRegistration(201, False, self.path)

    def report_failure(self, ingestor_id: str, reason: str) -> None:
        failure = self.path.with_name(self.path.stem + ".failure.json")
        self._write(failure, {"call": "POST global_meta/ingest_failure/", "payload": {"ingestor_id": ingestor_id, "reason": reason}})

    def close(self) -> None:
        pass

    #: what the summary says happened to the metadata
    action = "written to a local file"

    def describe(self) -> str:
        return f"{self.path} (nothing was sent: no backend credentials are set)"
