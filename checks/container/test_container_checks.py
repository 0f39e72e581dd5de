"""Each container/manifest check passes on the repository's files and fails on a broken copy.

Run: /work/main/.venv/bin/python -m pytest checks/container -q
The rule tests import the checkers directly; the ``static.sh`` tests run the real tools
(hadolint, kubernetes-validate), which static.sh installs into its cache on first use.
"""

from __future__ import annotations

import copy
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

CHECKS = Path(__file__).resolve().parent
REPO = CHECKS.parent.parent
sys.path.insert(0, str(CHECKS))

import dockerfile_check
import job_check
import pss_check

JOB_FILE = REPO / "k8s" / "ingestor-job.yaml"
INDEXED_FILE = REPO / "k8s" / "indexed-job.yaml"
DOCKERFILE = REPO / "docker" / "Dockerfile"


def load_job() -> dict:
    return yaml.safe_load(JOB_FILE.read_text(encoding="utf-8"))


def pod(job: dict) -> dict:
    return job["spec"]["template"]["spec"]


def ctr(job: dict) -> dict:
    return pod(job)["containers"][0]


def csc(job: dict) -> dict:
    return ctr(job)["securityContext"]


def psc(job: dict) -> dict:
    return pod(job)["securityContext"]


def env(job: dict, name: str) -> dict:
    return next(e for e in ctr(job)["env"] if e["name"] == name)


def mutated(change: Callable[[dict], object], base: Callable[[], dict] | None = None) -> dict:
    job = copy.deepcopy((base or load_job)())
    change(job)
    return job


def load_indexed() -> dict:
    return yaml.safe_load(INDEXED_FILE.read_text(encoding="utf-8"))


def pss_rules(job: dict) -> set[str]:
    violations, pods = pss_check.check_documents([job])
    assert pods == 1
    return {v.rule for v in violations}


# --------------------------------------------------------------------------- restricted PSS

def test_the_job_meets_restricted() -> None:
    assert pss_rules(load_job()) == set()


def _init_container_without_sc(job: dict) -> None:
    pod(job)["initContainers"] = [{"name": "init", "image": "busybox:1.36"}]


def _ephemeral_without_sc(job: dict) -> None:
    pod(job)["ephemeralContainers"] = [{"name": "debug", "image": "busybox:1.36"}]


def _pod_level_runasnonroot_false(job: dict) -> None:
    psc(job)["runAsNonRoot"] = False
    csc(job)["runAsNonRoot"] = True


def _uid_without_runasnonroot(job: dict) -> None:
    psc(job).pop("runAsNonRoot")
    csc(job).pop("runAsNonRoot")
    psc(job)["runAsUser"] = 1001


def _seccomp_only_in_container(job: dict) -> None:
    psc(job).pop("seccompProfile")
    csc(job)["seccompProfile"] = {"type": "RuntimeDefault"}


REJECTED = {
    # the cases of shared/research/k8s.md section 3
    "no seccompProfile": (lambda j: psc(j).pop("seccompProfile"), "seccomp"),
    "drop all in lower case": (lambda j: csc(j)["capabilities"].update(drop=["all"]), "capabilities"),
    "runAsUser 1001 without runAsNonRoot": (_uid_without_runasnonroot, "run-as-non-root"),
    "allowPrivilegeEscalation unset": (lambda j: csc(j).pop("allowPrivilegeEscalation"), "privilege-escalation"),
    "allowPrivilegeEscalation true": (lambda j: csc(j).update(allowPrivilegeEscalation=True), "privilege-escalation"),
    "seccomp Unconfined": (lambda j: psc(j).update(seccompProfile={"type": "Unconfined"}), "seccomp"),
    "container runAsUser 0": (lambda j: csc(j).update(runAsUser=0), "run-as-user"),
    "pod runAsUser 0": (lambda j: psc(j).update(runAsUser=0), "run-as-user"),
    "initContainer without securityContext": (_init_container_without_sc, "privilege-escalation"),
    "nfs volume": (lambda j: pod(j)["volumes"].append({"name": "n", "nfs": {"server": "s", "path": "/"}}), "volume-types"),
    "add CHOWN": (lambda j: csc(j)["capabilities"].update(add=["CHOWN"]), "capabilities"),
    "add SYS_ADMIN": (lambda j: csc(j)["capabilities"].update(add=["SYS_ADMIN"]), "capabilities-baseline"),
    "hostNetwork": (lambda j: pod(j).update(hostNetwork=True), "host-namespaces"),
    "hostPID": (lambda j: pod(j).update(hostPID=True), "host-namespaces"),
    "hostIPC": (lambda j: pod(j).update(hostIPC=True), "host-namespaces"),
    "hostPort 80": (lambda j: ctr(j).update(ports=[{"containerPort": 80, "hostPort": 80}]), "host-ports"),
    "privileged": (lambda j: csc(j).update(privileged=True), "privileged"),
    "unsafe sysctl": (lambda j: psc(j).update(sysctls=[{"name": "net.core.somaxconn", "value": "1024"}]), "sysctls"),
    "no capabilities block": (lambda j: csc(j).pop("capabilities"), "capabilities"),
    "pod runAsNonRoot false, container true": (_pod_level_runasnonroot_false, "run-as-non-root"),
    # the rest of the standard
    "hostPath volume": (lambda j: pod(j)["volumes"].append({"name": "h", "hostPath": {"path": "/data"}}), "host-path-volumes"),
    "procMount Unmasked": (lambda j: csc(j).update(procMount="Unmasked"), "proc-mount"),
    "SELinux type spc_t": (lambda j: csc(j).update(seLinuxOptions={"type": "spc_t"}), "selinux"),
    "SELinux user": (lambda j: psc(j).update(seLinuxOptions={"user": "system_u"}), "selinux"),
    "AppArmor Unconfined field": (lambda j: csc(j).update(appArmorProfile={"type": "Unconfined"}), "apparmor"),
    "AppArmor unconfined annotation": (
        lambda j: j["spec"]["template"]["metadata"].update(
            annotations={"container.apparmor.security.beta.kubernetes.io/ingestor": "unconfined"}),
        "apparmor"),
    "Windows hostProcess": (lambda j: psc(j).update(windowsOptions={"hostProcess": True}), "host-process"),
    "ephemeral container without securityContext": (_ephemeral_without_sc, "capabilities"),
}

ADMITTED = {
    "seccomp only at container level": _seccomp_only_in_container,
    "add NET_BIND_SERVICE": lambda j: csc(j)["capabilities"].update(add=["NET_BIND_SERVICE"]),
    "extra emptyDir volume": lambda j: pod(j)["volumes"].append({"name": "e", "emptyDir": {}}),
    "seccomp Localhost": lambda j: psc(j).update(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}),
    "safe sysctl": lambda j: psc(j).update(sysctls=[{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}]),
    "SELinux container_t": lambda j: csc(j).update(seLinuxOptions={"type": "container_t", "level": "s0:c1,c2"}),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_pss_rejects(case: str) -> None:
    change, rule = REJECTED[case]
    assert rule in pss_rules(mutated(change))


@pytest.mark.parametrize("case", sorted(ADMITTED))
def test_pss_admits(case: str) -> None:
    assert pss_rules(mutated(ADMITTED[case])) == set()


def test_pss_looks_inside_cronjobs_and_deployments() -> None:
    template = mutated(lambda j: csc(j).update(privileged=True))["spec"]["template"]
    cron = {"kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": template}}}}
    deploy = {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": template}}
    violations, pods = pss_check.check_documents([cron, deploy, {"kind": "Secret"}])
    assert pods == 2
    assert {v.resource for v in violations if v.rule == "privileged"} == {"CronJob/c", "Deployment/d"}


def test_baseline_profile_is_looser() -> None:
    job = mutated(lambda j: csc(j).pop("allowPrivilegeEscalation"))
    violations, _ = pss_check.check_documents([job], profile="baseline")
    assert violations == []


# --------------------------------------------------------------------------- the Job's own rules

def job_problems(job: dict) -> list[str]:
    problems, jobs = job_check.check_documents([job])
    assert jobs == 1
    return problems


def test_the_job_meets_its_rules() -> None:
    assert job_problems(load_job()) == []


def _literal_password(job: dict) -> None:
    env(job, "CLIENT_PASSWORD").pop("valueFrom")
    env(job, "CLIENT_PASSWORD")["value"] = "hunter2"


JOB_BROKEN = {
    "literal CLIENT_PASSWORD": (_literal_password, "CLIENT_PASSWORD must come from a Secret"),
    "missing TITLE": (lambda j: ctr(j)["env"].remove(env(j, "TITLE")), "env TITLE is missing"),
    "CLIENT_PVC differs from claimName": (lambda j: env(j, "CLIENT_PVC").update(value="other"), "must equal the claimName"),
    "fixed runAsUser": (lambda j: psc(j).update(runAsUser=1001), "runAsUser is set"),
    "fixed fsGroup": (lambda j: psc(j).update(fsGroup=2000), "fsGroup is set"),
    "no memory limit": (lambda j: ctr(j)["resources"]["limits"].pop("memory"), "limits.memory"),
    "no ttlSecondsAfterFinished": (lambda j: j["spec"].pop("ttlSecondsAfterFinished"), "ttlSecondsAfterFinished"),
    "no backoffLimit": (lambda j: j["spec"].pop("backoffLimit"), "backoffLimit"),
    "no activeDeadlineSeconds": (lambda j: j["spec"].pop("activeDeadlineSeconds"), "activeDeadlineSeconds"),
    "no /tmp volume": (
        lambda j: ctr(j).update(volumeMounts=[m for m in ctr(j)["volumeMounts"] if m["mountPath"] != "/tmp"]),
        "writable volume at /tmp"),
    "SRC_PATH not mounted": (lambda j: env(j, "SRC_PATH").update(value="/srv/raw"), "SRC_PATH /srv/raw"),
    "shared volume not a PVC": (
        lambda j: next(v for v in pod(j)["volumes"] if v["name"] == "shared").update(
            persistentVolumeClaim=None, emptyDir={}),
        "no PersistentVolumeClaim mounted"),
    "renamed container": (lambda j: ctr(j).update(name="main"), "no container named"),
}


@pytest.mark.parametrize("case", sorted(JOB_BROKEN))
def test_job_check_rejects(case: str) -> None:
    change, message = JOB_BROKEN[case]
    problems = job_problems(mutated(change))
    assert any(message in p for p in problems), problems


# --------------------------------------------------------------------------- the scaled-out Job

def test_the_indexed_job_meets_restricted_and_its_rules() -> None:
    job = load_indexed()
    assert pss_rules(job) == set()
    assert job_problems(job) == []
    assert job["spec"]["completionMode"] == "Indexed"


def _job_uid_literal(job: dict) -> None:
    env(job, "JOB_UID").pop("valueFrom")
    env(job, "JOB_UID")["value"] = "0b9c2f1e-6c1d-4a8e-9a55-3f0e7f6b2d11"


INDEXED_BROKEN = {
    "parallelism below completions": (lambda j: j["spec"].update(parallelism=2), "must equal completions"),
    "SHARDS differs from completions": (lambda j: env(j, "SHARDS").update(value="8"), "env SHARDS ('8') must equal completions"),
    "no SHARDS": (lambda j: ctr(j)["env"].remove(env(j, "SHARDS")), "env SHARDS must be set"),
    "no completions": (lambda j: j["spec"].pop("completions"), "spec.completions must be set"),
    "a Job-wide backoffLimit": (lambda j: j["spec"].update(backoffLimit=2), "backoffLimit must not be set"),
    "no backoffLimitPerIndex": (lambda j: j["spec"].pop("backoffLimitPerIndex"), "spec.backoffLimitPerIndex must be set"),
    "a fixed SHARD": (lambda j: ctr(j)["env"].append({"name": "SHARD", "value": "0/4"}), "env SHARD must not be set"),
    "JOB_COMPLETION_INDEX set by hand": (
        lambda j: ctr(j)["env"].append({"name": "JOB_COMPLETION_INDEX", "value": "0"}), "JOB_COMPLETION_INDEX must not be set"),
    "JOB_UID as a literal": (_job_uid_literal, "JOB_UID must come from the downward API"),
    "no JOB_UID": (lambda j: ctr(j)["env"].remove(env(j, "JOB_UID")), "JOB_UID must come from the downward API"),
    "SHARD_WAIT past the deadline": (lambda j: env(j, "SHARD_WAIT").update(value="90000"), "must be shorter than activeDeadlineSeconds"),
    "SHARD_WAIT not a number": (lambda j: env(j, "SHARD_WAIT").update(value="an hour"), "must be a number of seconds"),
}


@pytest.mark.parametrize("case", sorted(INDEXED_BROKEN))
def test_job_check_rejects_a_broken_indexed_job(case: str) -> None:
    change, message = INDEXED_BROKEN[case]
    problems = job_problems(mutated(change, load_indexed))
    assert any(message in p for p in problems), problems


def test_job_check_accepts_an_indexed_job_with_a_given_run_id() -> None:
    job = mutated(lambda j: (ctr(j)["env"].remove(env(j, "JOB_UID")),
                             ctr(j)["env"].append({"name": "INGESTOR_ID", "value": "56f65c7e-fcf0-4a6a-bbaa-34e54cfdfbf6"})),
                  load_indexed)
    assert job_problems(job) == []


def test_job_check_rejects_shards_without_an_indexed_job() -> None:
    problems = job_problems(mutated(lambda j: ctr(j)["env"].append({"name": "SHARDS", "value": "4"})))
    assert any("SHARDS needs completionMode: Indexed" in p for p in problems), problems


def test_the_indexed_job_keeps_the_plain_jobs_pod() -> None:
    """Same securityContext, volumes and resources as the single-pod Job: only the shard settings differ."""
    plain, indexed = load_job(), load_indexed()
    assert pod(indexed)["securityContext"] == pod(plain)["securityContext"]
    assert csc(indexed) == csc(plain)
    assert pod(indexed)["volumes"] == pod(plain)["volumes"]
    assert ctr(indexed)["resources"] == ctr(plain)["resources"]
    extra = {e["name"] for e in ctr(indexed)["env"]} - {e["name"] for e in ctr(plain)["env"]}
    assert extra == {"SHARDS", "JOB_UID", "SHARD_WAIT"}


# --------------------------------------------------------------------------- Dockerfile rules

def test_the_dockerfile_meets_its_rules() -> None:
    assert dockerfile_check.check(DOCKERFILE.read_text(encoding="utf-8")) == []


DOCKERFILE_BROKEN = {
    "USER root": (("USER 10001:0", "USER root"), "not numeric"),
    "USER 0": (("USER 10001:0", "USER 0"), "root (UID 0)"),
    "no USER": (("USER 10001:0\n", ""), "no USER"),
    "named USER": (("USER 10001:0", "USER app"), "not numeric"),
    "group not 0": (("USER 10001:0", "USER 10001:10001"), "group must be 0"),
    "no chgrp": (("chgrp -R 0 /app", "true"), "chgrp -R 0 /app"),
    "no chmod g=u": (("chmod -R g=u /app", "true"), "chmod -R g=u /app"),
    "shell-form ENTRYPOINT": (('ENTRYPOINT ["/app/entrypoint"]', "ENTRYPOINT /app/entrypoint"), "shell form"),
    "base image latest": (("ARG PYTHON_IMAGE=python:3.11-slim", "ARG PYTHON_IMAGE=python:latest"), "pin a release tag"),
    "base image untagged": (("ARG PYTHON_IMAGE=python:3.11-slim", "ARG PYTHON_IMAGE=python"), "pin a release tag"),
}


@pytest.mark.parametrize("case", sorted(DOCKERFILE_BROKEN))
def test_dockerfile_check_rejects(case: str) -> None:
    (old, new), message = DOCKERFILE_BROKEN[case]
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text, "the real Dockerfile changed; update this case"
    problems = dockerfile_check.check(text.replace(old, new))
    assert any(message in p for p in problems), problems


def test_dockerfile_user_only_counts_in_the_final_stage() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("USER 10001:0\n", "")
    text = text.replace("AS runtime", "AS runtime\nUSER 10001:0\nFROM scratch AS last\nRUN true")
    assert any("no USER" in p for p in dockerfile_check.check(text))


# --------------------------------------------------------------------------- static.sh end to end

def static(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(CHECKS / "static.sh"), *map(str, args)],
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def tools() -> None:
    result = static("tools")
    assert result.returncode == 0, result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_static_passes_on_the_repository(tools: None) -> None:
    result = static()
    assert result.returncode == 0, result.stderr
    assert "all checks passed" in result.stderr


@pytest.mark.parametrize(("old", "new", "expect"), [
    ("USER 10001:0", "USER root", "DL3002"),                       # hadolint: last USER root
    ("USER 10001:0", "USER app", "DL3066"),                        # hadolint: named USER
    ("FROM ${PYTHON_IMAGE} AS runtime", "FROM python:latest AS runtime", "DL3007"),
    ("USER 10001:0\n", "", "no USER"),                             # ours: hadolint is silent here
])
def test_static_dockerfile_fails_on_broken_copies(tools: None, tmp_path: Path, old: str, new: str, expect: str) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text
    broken = write(tmp_path / "Dockerfile", text.replace(old, new))
    result = static("dockerfile", broken)
    assert result.returncode == 1
    assert expect in result.stdout + result.stderr


@pytest.mark.parametrize(("old", "new", "expect"), [
    ("volumeMounts:", "volumeMount:", "Additional properties are not allowed"),
    ("backoffLimit: 2", "backoffLimit: two", "is not of type 'integer'"),
])
def test_static_schema_fails_on_broken_copies(tools: None, tmp_path: Path, old: str, new: str, expect: str) -> None:
    text = JOB_FILE.read_text(encoding="utf-8")
    assert old in text
    broken = write(tmp_path / "job.yaml", text.replace(old, new, 1))
    result = static("schema", broken)
    assert result.returncode == 1
    assert expect in result.stdout + result.stderr


def test_static_schema_renders_kustomizations(tools: None, tmp_path: Path) -> None:
    text = JOB_FILE.read_text(encoding="utf-8").replace("ttlSecondsAfterFinished: 86400", "ttlSecondsAfterFinished: []")
    write(tmp_path / "k" / "ingestor-job.yaml", text)
    write(tmp_path / "k" / "kustomization.yaml", "resources:\n  - ingestor-job.yaml\n")
    result = static("schema", tmp_path / "k")
    assert result.returncode == 1
    assert "ttlSecondsAfterFinished" in result.stdout + result.stderr


def test_static_pss_fails_on_a_broken_copy(tools: None, tmp_path: Path) -> None:
    broken = write(tmp_path / "job.yaml", yaml.safe_dump(mutated(lambda j: pod(j).update(hostNetwork=True))))
    result = static("pss", broken)
    assert result.returncode == 1
    assert "host-namespaces" in result.stdout + result.stderr


def test_static_checks_the_indexed_job_and_its_component(tools: None, tmp_path: Path) -> None:
    broken = write(tmp_path / "indexed.yaml", yaml.safe_dump(mutated(lambda j: j["spec"].update(parallelism=1), load_indexed)))
    result = static("job", broken)
    assert result.returncode == 1
    assert "must equal completions" in result.stdout + result.stderr
    # the component renders into an Indexed Job that passes; a copy that forgets SHARDS does not
    kdir = tmp_path / "k"
    write(kdir / "ingestor-job.yaml", JOB_FILE.read_text(encoding="utf-8"))
    write(kdir / "kustomization.yaml", "resources:\n  - ingestor-job.yaml\n")
    patch = (REPO / "k8s" / "components" / "indexed" / "indexed-patch.yaml").read_text(encoding="utf-8")
    write(kdir / "c" / "indexed-patch.yaml", patch)
    write(kdir / "c" / "kustomization.yaml", (REPO / "k8s" / "components" / "indexed" / "kustomization.yaml").read_text(encoding="utf-8"))
    write(tmp_path / "o" / "kustomization.yaml", "resources:\n  - ../k\ncomponents:\n  - ../k/c\n")
    assert static("job", tmp_path / "o").returncode == 0
    write(kdir / "c" / "indexed-patch.yaml", patch.replace('value: "4"', 'value: "3"', 1))
    result = static("job", tmp_path / "o")
    assert result.returncode == 1
    assert "env SHARDS ('3') must equal completions (4)" in result.stdout + result.stderr


def test_static_job_fails_on_a_broken_copy(tools: None, tmp_path: Path) -> None:
    broken = write(tmp_path / "job.yaml", yaml.safe_dump(mutated(_literal_password)))
    result = static("job", broken)
    assert result.returncode == 1
    assert "must come from a Secret" in result.stdout + result.stderr


# --------------------------------------------------------------------------- the entrypoint
# docker/entrypoint run on the host with a stand-in tb-ingest that reports its arguments.

ENTRYPOINT = REPO / "docker" / "entrypoint"


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tb = bin_dir / "tb-ingest"
    tb.write_text('#!/bin/sh\necho "tb-ingest called with: $*"\nexit "${FAKE_EXIT:-0}"\n', encoding="utf-8")
    tb.chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    return bin_dir


def run_entrypoint(fake_bin: Path, *args: str, timeout: float = 30, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": f"{fake_bin}:/usr/bin:/bin", **env}
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=environ, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_entrypoint_without_mysql_host_exits_64(fake_bin: Path) -> None:
    result = run_entrypoint(fake_bin, "--plugin", "tabular_classification")
    assert result.returncode == 64
    assert "tb-ingest called" not in result.stdout
    assert "MYSQL_HOST" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins", "--json"], ["--plugin", "x", "-h"]])
def test_entrypoint_needs_no_database_for_help_and_listing(fake_bin: Path, args: list[str]) -> None:
    result = run_entrypoint(fake_bin, *args)
    assert result.returncode == 0
    assert f"tb-ingest called with: {' '.join(args)}" in result.stdout


def test_entrypoint_skip_db_wait(fake_bin: Path) -> None:
    result = run_entrypoint(fake_bin, "--plugin", "p", TRACEBLOC_SKIP_DB_WAIT="1", FAKE_EXIT="2")
    assert result.returncode == 2
    assert "tb-ingest called with: --plugin p" in result.stdout


def test_entrypoint_waits_then_execs_with_the_arguments(fake_bin: Path, listening_port: int) -> None:
    result = run_entrypoint(fake_bin, "--plugin", "tabular_classification", "--table", "a b",
                            MYSQL_HOST="127.0.0.1", MYSQL_PORT=str(listening_port),
                            DB_PASSWORD="s3cret-value", FAKE_EXIT="7")
    assert result.returncode == 7                   # tb-ingest's code is the container's
    assert "tb-ingest called with: --plugin tabular_classification --table a b" in result.stdout
    assert "s3cret-value" not in result.stdout + result.stderr


def test_entrypoint_unreachable_mysql_exits_65(fake_bin: Path, closed_port: int) -> None:
    result = run_entrypoint(fake_bin, "--plugin", "p", MYSQL_HOST="127.0.0.1",
                            MYSQL_PORT=str(closed_port), MYSQL_WAIT_SECONDS="1")
    assert result.returncode == 65
    assert "tb-ingest called" not in result.stdout


def test_entrypoint_prefixed_names_win(fake_bin: Path, listening_port: int, closed_port: int) -> None:
    result = run_entrypoint(fake_bin, MYSQL_HOST="127.0.0.1", MYSQL_PORT=str(listening_port),
                            TRACEBLOC_MYSQL_PORT=str(closed_port), MYSQL_WAIT_SECONDS="0")
    assert result.returncode == 65
    result = run_entrypoint(fake_bin, TRACEBLOC_MYSQL_HOST="127.0.0.1", MYSQL_PORT=str(listening_port))
    assert result.returncode == 0


@pytest.mark.parametrize(("name", "value"), [("MYSQL_PORT", "x"), ("MYSQL_PORT", "70000"),
                                             ("MYSQL_WAIT_SECONDS", "1.5"), ("TRACEBLOC_MYSQL_PORT", "-1")])
def test_entrypoint_refuses_bad_numbers_with_2(fake_bin: Path, name: str, value: str) -> None:
    result = run_entrypoint(fake_bin, MYSQL_HOST="127.0.0.1", **{name: value})
    assert result.returncode == 2
    assert name in result.stderr


def test_entrypoint_sigterm_while_waiting_exits_143_at_once(fake_bin: Path, closed_port: int) -> None:
    proc = subprocess.Popen(["sh", str(ENTRYPOINT)], env={
        "PATH": f"{fake_bin}:/usr/bin:/bin", "MYSQL_HOST": "127.0.0.1",
        "MYSQL_PORT": str(closed_port), "MYSQL_WAIT_SECONDS": "60"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        assert proc.wait(timeout=10) == 143
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.communicate()


# --------------------------------------------------------------------------- docs stay true

def test_the_documented_overlay_is_the_one_ci_renders() -> None:
    """docs/deploy.md shows fixtures/overlay (only the path to k8s/ differs)."""
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b.split("```", 1)[0]) for b in text.split("```yaml\n")[1:]]
    fixture = CHECKS / "fixtures" / "overlay"
    kustomization = yaml.safe_load((fixture / "kustomization.yaml").read_text(encoding="utf-8"))
    patch = yaml.safe_load((fixture / "job-patch.yaml").read_text(encoding="utf-8"))
    documented = next(b for b in blocks if b.get("kind") == "Kustomization")
    assert {**documented, "resources": None} == {**kustomization, "resources": None}
    assert patch in blocks
