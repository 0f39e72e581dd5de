#!/usr/bin/env python3
"""Rules for docker/Dockerfile that hadolint does not enforce, for restricted PSS / OpenShift.

In the final stage: a USER line with a numeric, non-root UID (hadolint is silent when
USER is missing altogether), /app handed to group 0 with group rights equal to the
owner's, and an exec-form ENTRYPOINT so container arguments reach tb-ingest and SIGTERM
reaches the process instead of a wrapping shell.

Usage: dockerfile_check.py DOCKERFILE
Exit status: 0 fine, 1 problems (each printed), 2 unreadable input.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_USER_RE = re.compile(r"^(?P<uid>[0-9]+)(?::(?P<gid>[0-9]+))?$")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf:
            word, _, rest = buf.partition(" ")
            out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def _unpinned(ref: str) -> bool:
    """True for an image reference without a tag (or with "latest") and without a digest."""
    if "@sha256:" in ref:
        return False
    name = ref.rsplit("/", 1)[-1]
    return ":" not in name or name.endswith(":latest")


def check(text: str) -> list[str]:
    problems = []
    final: list[tuple[str, str]] = []
    args: dict[str, str] = {}
    stages: set[str] = set()
    for word, rest in instructions(text):
        if word == "ARG" and "=" in rest and not final:
            key, _, value = rest.partition("=")
            args[key.strip()] = value.strip().strip("\"'")
        if word == "FROM":
            final = []
            parts = rest.split()
            ref = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), parts[0])
            if ref not in stages and ref != "scratch" and _unpinned(ref):
                problems.append(f"FROM {parts[0]} resolves to {ref!r}: pin a release tag or a digest")
            if len(parts) == 3 and parts[1].upper() == "AS":
                stages.add(parts[2])
        final.append((word, rest))
    if not final:
        return ["no FROM instruction"]
    users = [rest for word, rest in final if word == "USER"]
    if not users:
        problems.append("the final stage has no USER: the container would run as root")
    else:
        m = _USER_RE.match(users[-1])
        if not m:
            problems.append(f"USER {users[-1]!r} is not numeric (runAsNonRoot cannot verify a name)")
        elif int(m["uid"]) == 0:
            problems.append("USER is root (UID 0)")
        elif m["gid"] not in (None, "0"):
            problems.append(f"USER {users[-1]!r}: the group must be 0 so an assigned UID shares the file rights")
    runs = " ".join(rest for word, rest in final if word == "RUN")
    if not re.search(r"chgrp\s+-R\s+0\s+/app\b", runs):
        problems.append("no `chgrp -R 0 /app` in the final stage: an arbitrary UID in group 0 cannot use /app")
    if not re.search(r"chmod\s+-R\s+g=u\s+/app\b", runs):
        problems.append("no `chmod -R g=u /app` in the final stage: group 0 lacks the owner's rights on /app")
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    if not entry:
        problems.append("the final stage has no ENTRYPOINT")
    elif not entry[-1].startswith("["):
        problems.append("ENTRYPOINT is in shell form: arguments are dropped and SIGTERM goes to /bin/sh")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        text = Path(args[0]).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"dockerfile_check: {exc}", file=sys.stderr)
        return 2
    problems = check(text)
    for p in problems:
        print(f"{args[0]}: {p}")
    if problems:
        return 1
    print(f"dockerfile_check: {args[0]} fine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
