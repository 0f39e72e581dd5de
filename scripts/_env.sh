# Shared by the scripts: where environments live and how they are made.
# Each environment is made with uv (installed from PyPI on first use) so that a fresh
# machine needs nothing but python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENVS="${TRACEBLOC_VENVS:-$ROOT/.venvs}"
PYTHON="${PYTHON:-python3}"

ensure_uv() {
  if ! command -v uv >/dev/null 2>&1; then
    if [ ! -x "$VENVS/.tools/bin/uv" ]; then
      "$PYTHON" -m venv "$VENVS/.tools"
      "$VENVS/.tools/bin/pip" install --quiet --disable-pip-version-check uv
    fi
    export PATH="$VENVS/.tools/bin:$PATH"
  fi
}

# make_env NAME PACKAGE... : a fresh environment holding exactly these packages and their dependencies
make_env() {
  local name=$1; shift
  ensure_uv
  rm -rf "$VENVS/$name"
  uv venv --quiet --python "$PYTHON" "$VENVS/$name"
  (cd "$ROOT" && VIRTUAL_ENV="$VENVS/$name" uv pip install --quiet --compile-bytecode --reinstall-package tracebloc-ingestor "$@")
}
