"""Run tb-ingest and note when it first opens its input for reading: the start-up a run pays.

    TB_BENCH_T0_NS=<time.monotonic_ns() of the caller before it started this process> \\
    TB_BENCH_INPUT=labels.csv TB_BENCH_OUT=/tmp/first-byte.txt \\
    python bench/first_byte.py --config ingest.yaml ...       # the arguments of tb-ingest

Writes the milliseconds from ``TB_BENCH_T0_NS`` (CLOCK_MONOTONIC is one clock for every
process) to the first ``open`` of a file named ``TB_BENCH_INPUT`` (an audit hook: no
change to the code measured), then runs tb-ingest to the end.
"""

from __future__ import annotations

import os
import runpy
import sys
import time

T0 = int(os.environ["TB_BENCH_T0_NS"])
NAME = os.environ["TB_BENCH_INPUT"]
OUT = os.environ["TB_BENCH_OUT"]
_seen = False


def _hook(event: str, args: tuple) -> None:
    global _seen
    if _seen or event != "open":
        return
    path, mode = args[0], args[1]
    if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).endswith(NAME) and "w" not in str(mode or "r"):
        _seen = True
        with open(OUT, "w") as fh:  # this open is not the input: _seen is set already
            fh.write(f"{(time.monotonic_ns() - T0) / 1e6:.1f}\n")


if __name__ == "__main__":
    sys.addaudithook(_hook)
    sys.argv = ["tb-ingest", *sys.argv[1:]]
    runpy.run_module("tracebloc_ingestor.cli", run_name="__main__")
