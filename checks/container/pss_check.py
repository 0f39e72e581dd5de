#!/usr/bin/env python3
"""Offline check of Kubernetes manifests against the Pod Security Standards.

The rules follow the published "baseline" and "restricted" profiles as the upstream
pod-security admission applies them (e.g. ``capabilities.drop`` must hold the exact
string ``ALL``; a pod-level ``runAsNonRoot: false`` is refused even if every container
sets ``true``). It is a stand-in for ``kubectl apply --dry-run=server`` into a namespace
labelled ``pod-security.kubernetes.io/enforce=restricted``, which needs a cluster.

Usage: pss_check.py [--profile restricted|baseline] PATH... (files, folders, or - for stdin)
Exit status: 0 compliant, 1 violations (each printed), 2 unreadable input or no pod found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import yaml

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUME_TYPES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class Violation(NamedTuple):
    resource: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.rule}: {self.detail}"


def pod_templates(doc: dict[str, Any]) -> Iterator[tuple[dict, dict]]:
    """Yield (pod metadata, pod spec) of every pod a resource would create."""
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        yield doc.get("metadata") or {}, spec
    elif kind == "PodTemplate":
        template = doc.get("template") or {}
        yield template.get("metadata") or {}, template.get("spec") or {}
    elif kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        yield template.get("metadata") or {}, template.get("spec") or {}
    elif kind in {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"}:
        template = spec.get("template") or {}
        yield template.get("metadata") or {}, template.get("spec") or {}


def _sc(obj: dict) -> dict:
    return obj.get("securityContext") or {}


def _containers(pod: dict) -> Iterator[tuple[str, dict]]:
    for field in CONTAINER_LISTS:
        for c in pod.get(field) or []:
            yield f"{field}[{c.get('name', '?')}]", c


def baseline(meta: dict, pod: dict) -> Iterator[tuple[str, str]]:
    """The baseline profile: (rule, detail) for each problem."""
    psc = _sc(pod)
    for ns in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(ns):
            yield "host-namespaces", f"spec.{ns} must not be true"
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        yield "host-process", "securityContext.windowsOptions.hostProcess must not be true"
    for vol in pod.get("volumes") or []:
        if "hostPath" in vol:
            yield "host-path-volumes", f"volume {vol.get('name')!r} uses hostPath"
    for sysctl in psc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield "sysctls", f"sysctl {sysctl.get('name')!r} is not in the safe set"
    yield from _selinux("pod", psc)
    yield from _apparmor("pod", psc)
    if (psc.get("seccompProfile") or {}).get("type") == "Unconfined":
        yield "seccomp", "pod seccompProfile.type must not be Unconfined"
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith(APPARMOR_ANNOTATION) and value != "runtime/default" and not str(value).startswith("localhost/"):
            yield "apparmor", f"annotation {key}={value!r} is neither runtime/default nor localhost/*"
    for where, c in _containers(pod):
        sc = _sc(c)
        if sc.get("privileged"):
            yield "privileged", f"{where}: securityContext.privileged must not be true"
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            yield "host-process", f"{where}: windowsOptions.hostProcess must not be true"
        added = set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            yield "capabilities-baseline", f"{where}: adds {sorted(added)} beyond the baseline set"
        for port in c.get("ports") or []:
            if port.get("hostPort"):
                yield "host-ports", f"{where}: hostPort {port['hostPort']} must be unset or 0"
        if sc.get("procMount") not in (None, "Default"):
            yield "proc-mount", f"{where}: procMount {sc['procMount']!r} must be Default"
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield "seccomp", f"{where}: seccompProfile.type must not be Unconfined"
        yield from _selinux(where, sc)
        yield from _apparmor(where, sc)


def _selinux(where: str, sc: dict) -> Iterator[tuple[str, str]]:
    opts = sc.get("seLinuxOptions") or {}
    if opts.get("type", "") not in SELINUX_TYPES:
        yield "selinux", f"{where}: seLinuxOptions.type {opts['type']!r} is not allowed"
    for field in ("user", "role"):
        if opts.get(field):
            yield "selinux", f"{where}: seLinuxOptions.{field} must be unset"


def _apparmor(where: str, sc: dict) -> Iterator[tuple[str, str]]:
    kind = (sc.get("appArmorProfile") or {}).get("type")
    if kind is not None and kind not in SECCOMP_ALLOWED:
        yield "apparmor", f"{where}: appArmorProfile.type {kind!r} must be RuntimeDefault or Localhost"


def restricted(meta: dict, pod: dict) -> Iterator[tuple[str, str]]:
    """The restricted profile: the baseline plus its own rules."""
    yield from baseline(meta, pod)
    psc = _sc(pod)
    windows = (pod.get("os") or {}).get("name") == "windows"
    for vol in pod.get("volumes") or []:
        kinds = set(vol) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            yield "volume-types", f"volume {vol.get('name')!r} of type {sorted(kinds - RESTRICTED_VOLUME_TYPES)} is not allowed"
    pod_non_root = psc.get("runAsNonRoot")
    if pod_non_root is False:
        yield "run-as-non-root", "pod securityContext.runAsNonRoot must not be false"
    if psc.get("runAsUser") == 0:
        yield "run-as-user", "pod securityContext.runAsUser must not be 0"
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if not windows and pod_seccomp is not None and pod_seccomp not in SECCOMP_ALLOWED:
        yield "seccomp", f"pod seccompProfile.type {pod_seccomp!r} must be RuntimeDefault or Localhost"
    for where, c in _containers(pod):
        sc = _sc(c)
        if sc.get("runAsNonRoot") is False:
            yield "run-as-non-root", f"{where}: runAsNonRoot must not be false"
        elif sc.get("runAsNonRoot") is None and pod_non_root is not True:
            yield "run-as-non-root", f"{where}: runAsNonRoot must be true here or at pod level"
        if sc.get("runAsUser") == 0:
            yield "run-as-user", f"{where}: runAsUser must not be 0"
        if windows:
            continue
        if sc.get("allowPrivilegeEscalation") is not False:
            yield "privilege-escalation", f"{where}: allowPrivilegeEscalation must be false"
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp is None and pod_seccomp is None:
            yield "seccomp", f"{where}: seccompProfile.type must be set here or at pod level"
        elif seccomp is not None and seccomp not in SECCOMP_ALLOWED:
            yield "seccomp", f"{where}: seccompProfile.type {seccomp!r} must be RuntimeDefault or Localhost"
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield "capabilities", f'{where}: capabilities.drop must contain "ALL"'
        added = set(caps.get("add") or []) - RESTRICTED_CAPABILITIES
        if added:
            yield "capabilities", f"{where}: may add only NET_BIND_SERVICE, adds {sorted(added)}"


PROFILES = {"baseline": baseline, "restricted": restricted}


def check_documents(docs: Iterable[Any], profile: str = "restricted") -> tuple[list[Violation], int]:
    """Check every pod-bearing resource; return the violations and how many pods were seen."""
    rule_set = PROFILES[profile]
    found: list[Violation] = []
    pods = 0
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        name = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name', '?')}"
        for meta, pod in pod_templates(doc):
            pods += 1
            found.extend(Violation(name, rule, detail) for rule, detail in rule_set(meta, pod))
    return found, pods


def read_manifests(paths: list[str]) -> Iterator[tuple[str, list[Any]]]:
    for arg in paths:
        if arg == "-":
            yield "<stdin>", list(yaml.safe_load_all(sys.stdin))
            continue
        p = Path(arg)
        files = sorted(f for f in p.rglob("*") if f.suffix in {".yaml", ".yml"}) if p.is_dir() else [p]
        for f in files:
            yield str(f), list(yaml.safe_load_all(f.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="restricted")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    total_pods = 0
    bad = 0
    try:
        for source, docs in read_manifests(args.paths):
            violations, pods = check_documents(docs, args.profile)
            total_pods += pods
            for v in violations:
                print(f"{source}: {v}")
            bad += len(violations)
    except (OSError, yaml.YAMLError) as exc:
        print(f"pss_check: cannot read input: {exc}", file=sys.stderr)
        return 2
    if total_pods == 0:
        print("pss_check: no pod template found in the input", file=sys.stderr)
        return 2
    if bad:
        print(f"pss_check: {bad} violation(s) of the {args.profile} profile", file=sys.stderr)
        return 1
    print(f"pss_check: {total_pods} pod template(s) meet the {args.profile} profile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
