"""Checks of the run's surroundings that take seconds, made before any record is read.

A long run must not find out at its end that the shared volume is read-only, that the
backend refuses its credentials or that the table belongs to something else. These
checks read and ask, never write, so ``--validate-only`` runs them too. (The database
was reached already: reading the table's salt is the first thing a run does.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .issues import WARNING, Issue

if TYPE_CHECKING:  # pragma: no cover
    from .context import RunContext

#: how long the credential check may take, whatever TRACEBLOC_API_DEADLINE says
CREDENTIAL_CHECK_SECONDS = 20.0


def preflight(ctx: "RunContext", database, sink) -> list[Issue]:
    """Issues about the destination, the backend credentials and the table (errors stop the run)."""
    issues: list[Issue] = []
    if ctx.files is not None:
        issues.extend(_destination(ctx))
    issues.extend(_credentials(sink))
    issues.extend(_table(ctx, database))
    return issues


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _destination(ctx: "RunContext") -> list[Issue]:
    destination = ctx.destination
    found: list[Issue] = []
    existing = _nearest_existing(destination)
    if not existing.is_dir():
        found.append(Issue("destination", f"{existing} is not a folder; the dataset's files cannot be stored under it"))
    elif not os.access(existing, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if _read_only(existing) else "is not writable for this user"
        found.append(Issue("destination", f"{existing} {why}; the dataset's files go to {destination}"))
    settings = ctx.settings
    storage = Path(settings.storage_path)
    if settings.in_cluster and storage.is_dir() and not os.path.ismount(storage):
        found.append(Issue(
            "destination",
            f"{storage} is not a mount point: the shared volume (PVC {settings.client_pvc}) does not seem to be mounted "
            "there, so training would not see the files (check the Job's volumeMounts, or set STORAGE_PATH)",
            severity=WARNING,
        ))
    return found


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _credentials(sink) -> list[Issue]:
    check = getattr(sink, "check_credentials", None)
    if check is None:
        return []
    try:
        check(CREDENTIAL_CHECK_SECONDS)
    except Exception as exc:  # the client's errors name the call and the status, never a secret
        return [Issue("credentials", f"the backend credentials cannot be used: {exc}")]
    return []


def _table(ctx: "RunContext", database) -> list[Issue]:
    columns = database.existing_columns(ctx.table) if hasattr(database, "existing_columns") else None
    if columns is not None and "data_id" not in columns:
        return [Issue("table", f"table {ctx.table!r} exists and is not a dataset table (it has no data_id column); "
                               "choose another TABLE_NAME")]
    return []
