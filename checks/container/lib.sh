# shellcheck shell=bash
# Shared helpers for the container checks; sourced by static.sh and smoke.sh.
# Everything these scripts install goes under $TB_CI_CACHE, never into the repository
# or the development venv, so a warm rerun on the same machine skips the installs.

TB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TB_CHECKS="$TB_REPO/checks/container"
TB_CI_CACHE=${TB_CI_CACHE:-/var/cache/tracebloc-ci}
TB_TOOLS="$TB_CI_CACHE/tools"                     # venv with hadolint and kubernetes-validate
TB_KUBE_VERSION=${TB_KUBE_VERSION:-1.30}          # OpenShift 4.17 = Kubernetes 1.30

tb_log() { printf '[%s] %s\n' "${TB_STEP:-check}" "$*" >&2; }
tb_fail() { printf '[%s] FAILED: %s\n' "${TB_STEP:-check}" "$*" >&2; exit 1; }

# Install Debian packages only when one of the given commands is missing.
# A warm machine therefore never calls apt-get at all.
tb_need_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        command -v "${pkg%%:*}" >/dev/null 2>&1 || missing+=("${pkg#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || tb_fail "need root to install: ${missing[*]}"
    tb_log "apt-get install ${missing[*]}"
    if [ ! -e "$TB_CI_CACHE/.apt-updated" ] || [ -n "$(find "$TB_CI_CACHE/.apt-updated" -mmin +720)" ]; then
        apt-get update -qq || tb_fail "apt-get update"
        mkdir -p "$TB_CI_CACHE" && touch "$TB_CI_CACHE/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || tb_fail "apt-get install ${missing[*]}"
}

# The lint/validation tools, pinned by hash, in a venv of their own.
tb_need_tools() {
    local req="$TB_CHECKS/tools-requirements.txt" stamp="$TB_TOOLS/.requirements.sha256"
    local want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [ -x "$TB_TOOLS/bin/hadolint" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    tb_log "installing lint tools into $TB_TOOLS"
    rm -rf "$TB_TOOLS"
    mkdir -p "$TB_CI_CACHE"
    python3 -m venv "$TB_TOOLS" || tb_fail "python3 -m venv $TB_TOOLS"
    # pip's output goes to a log (this machine's pip config adds noisy warnings); shown on failure
    if ! "$TB_TOOLS/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir \
        --require-hashes -r "$req" >"$TB_CI_CACHE/tools-install.log" 2>&1; then
        cat "$TB_CI_CACHE/tools-install.log" >&2
        tb_fail "pip install of the lint tools"
    fi
    echo "$want" > "$stamp"
}
