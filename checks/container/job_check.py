#!/usr/bin/env python3
"""Check the rendered ingestor Job against what the platform and the seed README ask of it.

Pod Security is pss_check.py's job; this covers the rest: every seed variable present,
credentials only through Secrets, CLIENT_PVC naming the PVC mounted at the storage path,
no fixed UID/GID (OpenShift's SCC assigns them), resource bounds, Job lifetime limits,
and writable scratch space when the root filesystem is read-only. A scaled-out Job
(completionMode: Indexed) has rules of its own: as many pods at once as completions,
SHARDS equal to completions, one run id for every pod (JOB_UID from the Job's uid, or
INGESTOR_ID), retries per index (backoffLimitPerIndex, no Job-wide backoffLimit), no
fixed SHARD, and a SHARD_WAIT shorter than the Job's deadline.

Usage: job_check.py PATH... (files, folders, or - for stdin; rendered manifests)
Exit status: 0 fine, 1 problems (each printed), 2 unreadable input or no ingestor Job.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

import yaml
from pss_check import read_manifests  # same reading rules (files, folders, stdin)

CONTAINER = "ingestor"
SEED_VARIABLES = ("CLIENT_ID", "CLIENT_PASSWORD", "CLIENT_PVC", "MYSQL_HOST", "SRC_PATH",
                  "LABEL_FILE", "TABLE_NAME", "TITLE", "LOG_LEVEL", "DB_USER", "DB_PASSWORD")
SECRET_VARIABLES = ("CLIENT_ID", "CLIENT_PASSWORD", "DB_USER", "DB_PASSWORD", "BACKEND_TOKEN", "DATABASE_URL")
FIXED_IDS = ("runAsUser", "runAsGroup", "fsGroup")
JOB_LIMITS = ("backoffLimit", "ttlSecondsAfterFinished", "activeDeadlineSeconds")
INDEXED_LIMITS = ("backoffLimitPerIndex", "ttlSecondsAfterFinished", "activeDeadlineSeconds")
# the downward API's name for the uid of the Job that owns a pod (Kubernetes 1.27+)
JOB_UID_FIELD = "metadata.labels['batch.kubernetes.io/controller-uid']"
DEFAULT_STORAGE = "/data/shared"


def _under(path: str, mount: str) -> bool:
    return PurePosixPath(path) == PurePosixPath(mount) or PurePosixPath(mount) in PurePosixPath(path).parents


def check_job(job: dict[str, Any]) -> Iterator[str]:
    """Yield one message per problem of one Job."""
    spec = job.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    indexed = spec.get("completionMode") == "Indexed"
    for field in INDEXED_LIMITS if indexed else JOB_LIMITS:
        if not isinstance(spec.get(field), int):
            yield f"spec.{field} must be set"
    if pod.get("restartPolicy") != "Never":
        yield "restartPolicy must be Never (one run per pod; needed by podFailurePolicy)"
    containers = {c.get("name"): c for c in pod.get("containers") or []}
    c = containers.get(CONTAINER)
    if c is None:
        yield f"no container named {CONTAINER!r}"
        return
    for where, sc in [("pod", pod.get("securityContext") or {}), (CONTAINER, c.get("securityContext") or {})]:
        for field in FIXED_IDS:
            if field in sc:
                yield f"{where} securityContext.{field} is set; OpenShift assigns it (leave it out)"
    env = {e.get("name"): e for e in c.get("env") or []}
    for name in SEED_VARIABLES:
        if name not in env:
            yield f"env {name} is missing"
    for name in SECRET_VARIABLES:
        if name in env and "secretKeyRef" not in (env[name].get("valueFrom") or {}):
            yield f"env {name} must come from a Secret (valueFrom.secretKeyRef), not a literal"
    yield from check_shards(spec, env, indexed)
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        for what in ("cpu", "memory"):
            if what not in (res.get(kind) or {}):
                yield f"resources.{kind}.{what} must be set"
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    mounts = {m.get("mountPath"): m for m in c.get("volumeMounts") or []}
    storage = (env.get("STORAGE_PATH") or {}).get("value") or DEFAULT_STORAGE
    shared = volumes.get((mounts.get(storage) or {}).get("name")) or {}
    claim = (shared.get("persistentVolumeClaim") or {}).get("claimName")
    if claim is None:
        yield f"no PersistentVolumeClaim mounted at the storage path {storage}"
    elif (env.get("CLIENT_PVC") or {}).get("value") != claim:
        yield f"env CLIENT_PVC ({(env.get('CLIENT_PVC') or {}).get('value')!r}) must equal the claimName {claim!r} mounted at {storage}"
    src = (env.get("SRC_PATH") or {}).get("value")
    if src and not any(_under(src, m) for m in mounts):
        yield f"SRC_PATH {src} is not on a mounted volume"
    if (c.get("securityContext") or {}).get("readOnlyRootFilesystem"):
        writable = [p for p, m in mounts.items() if not m.get("readOnly")]
        if not any(_under("/tmp", p) for p in writable):
            yield "readOnlyRootFilesystem needs a writable volume at /tmp (HOME and scratch files)"
        out = (env.get("TRACEBLOC_OUTPUT_DIR") or {}).get("value")
        if not out or not any(_under(out, p) for p in writable):
            yield "readOnlyRootFilesystem needs TRACEBLOC_OUTPUT_DIR on a writable volume"


def check_shards(spec: dict[str, Any], env: dict[str, Any], indexed: bool) -> Iterator[str]:
    """The rules of a scaled-out run: one shard per index, all running at once, one run id."""
    shards = (env.get("SHARDS") or {}).get("value")
    if not indexed:
        if "SHARDS" in env:
            yield "env SHARDS needs completionMode: Indexed (each pod's shard is its JOB_COMPLETION_INDEX)"
        return
    completions = spec.get("completions")
    if not isinstance(completions, int) or completions < 1:
        yield "spec.completions must be set: it is the number of shards"
    elif spec.get("parallelism") != completions:
        yield (f"spec.parallelism ({spec.get('parallelism')!r}) must equal completions ({completions}): every shard "
               "waits until all have validated, so all must run at once")
    if shards is None:
        yield "env SHARDS must be set (as a value) to the Job's completions"
    elif str(shards).strip() != str(completions):
        yield f"env SHARDS ({shards!r}) must equal completions ({completions!r})"
    if "backoffLimit" in spec:
        yield "spec.backoffLimit must not be set on an Indexed Job: it caps the retries of all shards together (use backoffLimitPerIndex)"
    if "SHARD" in env:
        yield "env SHARD must not be set in an Indexed Job: every pod would take the same shard (SHARDS and JOB_COMPLETION_INDEX decide)"
    if "JOB_COMPLETION_INDEX" in env:
        yield "env JOB_COMPLETION_INDEX must not be set: Kubernetes sets it to each pod's index"
    field = ((env.get("JOB_UID") or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
    if "INGESTOR_ID" not in env and field != JOB_UID_FIELD:
        yield f"env JOB_UID must come from the downward API ({JOB_UID_FIELD}), or INGESTOR_ID be set: all shards share one run id"
    wait = (env.get("SHARD_WAIT") or {}).get("value")
    deadline = spec.get("activeDeadlineSeconds")
    if wait is not None and isinstance(deadline, int):
        try:
            if float(wait) >= deadline:
                yield f"env SHARD_WAIT ({wait}) must be shorter than activeDeadlineSeconds ({deadline})"
        except ValueError:
            yield f"env SHARD_WAIT ({wait!r}) must be a number of seconds"


def check_documents(docs: Iterable[Any]) -> tuple[list[str], int]:
    problems: list[str] = []
    jobs = 0
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "Job":
            continue
        jobs += 1
        name = (doc.get("metadata") or {}).get("name", "?")
        problems.extend(f"Job/{name}: {p}" for p in check_job(doc))
    return problems, jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    jobs = bad = 0
    try:
        for source, docs in read_manifests(args.paths):
            problems, n = check_documents(docs)
            jobs += n
            bad += len(problems)
            for p in problems:
                print(f"{source}: {p}")
    except (OSError, yaml.YAMLError) as exc:
        print(f"job_check: cannot read input: {exc}", file=sys.stderr)
        return 2
    if jobs == 0:
        print("job_check: no Job found in the input", file=sys.stderr)
        return 2
    if bad:
        print(f"job_check: {bad} problem(s)", file=sys.stderr)
        return 1
    print(f"job_check: {jobs} Job(s) fine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
