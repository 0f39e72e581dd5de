#!/usr/bin/env bash
# Static checks of the image recipe and the Kubernetes manifests; no cluster, no engine.
#
#   checks/container/static.sh                 # everything, on docker/ and k8s/
#   checks/container/static.sh dockerfile FILE # hadolint + dockerfile_check.py
#   checks/container/static.sh schema PATH...  # kubernetes-validate --strict
#   checks/container/static.sh pss PATH...     # restricted Pod Security Standard
#   checks/container/static.sh job PATH...     # the ingestor Job's own rules
#   checks/container/static.sh tools           # only install the tools
# PATH is a manifest file or a kustomization folder (rendered with kubectl kustomize).
# TB_KUBE_VERSIONS (default "1.28 1.30 1.33") are the API versions to validate against.
set -euo pipefail
# shellcheck source=checks/container/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TB_STEP=static
KUBE_VERSIONS=${TB_KUBE_VERSIONS:-1.28 1.30 1.33}
WORK=$(mktemp -d /tmp/tb-static.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0

fail_soft() { tb_log "FAILED: $*"; failures=$((failures + 1)); }

# render PATH: print a file as is, a kustomization folder rendered.
render() {
    local n
    if [ -d "$1" ]; then
        command -v kubectl >/dev/null || tb_fail "kubectl is needed to render the kustomization $1"
        n="$WORK/rendered-$(echo "$1" | tr '/.' '__').yaml"
        kubectl kustomize "$1" >"$n" || return 1
        echo "$n"
    else
        echo "$1"
    fi
}

check_dockerfile() {
    local f=$1
    if "$TB_TOOLS/bin/hadolint" --no-color --failure-threshold warning --error DL3002 --error DL3066 "$f"; then
        tb_log "ok: hadolint $f"
    else
        fail_soft "hadolint $f"
    fi
    if "$TB_TOOLS/bin/python" "$TB_CHECKS/dockerfile_check.py" "$f" >"$WORK/df.out"; then
        tb_log "ok: dockerfile_check $f"
    else
        cat "$WORK/df.out" >&2
        fail_soft "dockerfile_check $f"
    fi
}

check_schema() {
    local p f v
    for p in "$@"; do
        f=$(render "$p") || { fail_soft "kubectl kustomize $p"; continue; }
        for v in $KUBE_VERSIONS; do
            if "$TB_TOOLS/bin/kubernetes-validate" --quiet --strict -k "$v" "$f" >"$WORK/kv.out" 2>&1; then
                tb_log "ok: kubernetes-validate --strict -k $v $p"
            else
                cat "$WORK/kv.out" >&2
                fail_soft "kubernetes-validate --strict -k $v $p"
            fi
        done
    done
}

check_py() { # check_py SCRIPT PATH...
    local script=$1 p f; shift
    for p in "$@"; do
        f=$(render "$p") || { fail_soft "kubectl kustomize $p"; continue; }
        if "$TB_TOOLS/bin/python" "$TB_CHECKS/$script" "$f" >"$WORK/py.out" 2>&1; then
            tb_log "ok: $script $p"
        else
            sed "s|$f|$p|" "$WORK/py.out" >&2
            fail_soft "$script $p"
        fi
    done
}

t0=$SECONDS
tb_need_tools
cmd=${1:-all}
[ $# -gt 0 ] && shift
case $cmd in
    tools) exit 0 ;;
    dockerfile) check_dockerfile "$@" ;;
    schema) check_schema "$@" ;;
    pss) check_py pss_check.py "$@" ;;
    job) check_py job_check.py "$@" ;;
    all)
        cd "$TB_REPO"
        check_dockerfile docker/Dockerfile
        # each manifest on its own (the Secret is not part of the kustomization) ...
        check_schema k8s/*.yaml
        # ... and what users apply: the base, the documented overlay and the scaled-out
        # overlay (the base made an Indexed Job by k8s/components/indexed), rendered
        check_py pss_check.py k8s/indexed-job.yaml
        check_py job_check.py k8s/indexed-job.yaml
        if command -v kubectl >/dev/null; then
            check_schema k8s checks/container/fixtures/overlay checks/container/fixtures/indexed-overlay
            check_py pss_check.py k8s checks/container/fixtures/overlay checks/container/fixtures/indexed-overlay
            check_py job_check.py k8s checks/container/fixtures/overlay checks/container/fixtures/indexed-overlay
        else
            tb_log "kubectl not found: checking the manifest files without kustomize rendering"
            check_py pss_check.py k8s/ingestor-job.yaml
            check_py job_check.py k8s/ingestor-job.yaml
        fi
        ;;
    *) tb_fail "unknown check '$cmd' (dockerfile, schema, pss, job, tools, all)" ;;
esac
if [ "$failures" -gt 0 ]; then
    tb_fail "$failures check(s) failed ($((SECONDS - t0))s)"
fi
tb_log "all checks passed ($((SECONDS - t0))s)"
