#!/usr/bin/env bash
# Image smoke test without a Docker engine: build docker/Dockerfile with buildah and run the
# image with podman the way a restricted-PSS / OpenShift namespace would (arbitrary UID in
# group 0, every capability dropped, no-new-privileges, read-only root with a /tmp scratch).
#
#   checks/container/smoke.sh          # build, image checks, entrypoint exit codes, ingest
#
# Environment:
#   TB_CI_CACHE   cache folder (default /var/cache/tracebloc-ci): base rootfs, debs, tools
#   SMOKE_PROOFS  1 (default): also derive broken copies of the image (root USER, named
#                 USER, no group write on /app, shell-form ENTRYPOINT) and require the
#                 image checks to reject each; 0 skips that (saves about 10 s)
#   SMOKE_IMAGE   tag to build (default localhost/tracebloc-ingestor:smoke)
# Needs root (apt, buildah, podman). The host's MariaDB on 127.0.0.1:3306 (root, no
# password) is used for the ingest case, in a throw-away database that is dropped after.
set -euo pipefail
# shellcheck source=checks/container/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TB_STEP=smoke
t0=$SECONDS

IMAGE=${SMOKE_IMAGE:-localhost/tracebloc-ingestor:smoke}
BASE_IMAGE=localhost/tracebloc-ci/python:3.11-bookworm
BASE_RECIPE="bookworm minbase python3 python3-pip python3-venv python-is-python3 ca-certificates; v1"
RUN_UID=123456               # arbitrary, not the image's 10001: what OpenShift would pick
SAMPLE_DIR="$TB_REPO/tracebloc-ingestor-tabular/templates/tabular_classification"
WORK=$(mktemp -d /tmp/tb-smoke.XXXXXX)
DB_NAME=""
DB_USER=""
passed=()

cleanup() {
    local rc=$?
    if [ -n "$DB_NAME" ]; then
        mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS \`$DB_NAME\`; DROP USER IF EXISTS '$DB_USER'@'127.0.0.1';" \
            || echo "[smoke] warning: could not drop $DB_NAME" >&2
    fi
    podman rm -f -i tb-smoke-sigterm tb-smoke-backend >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

step() { tb_log "$* (+$((SECONDS - t0))s)"; }
ok() { passed+=("$1"); tb_log "ok: $1"; }

# ---------------------------------------------------------------- tools
tb_need_apt buildah:buildah podman:podman runc:runc debootstrap:debootstrap mariadb:mariadb-client
step "tools ready"

# ---------------------------------------------------------------- base image
# No registry is reachable here, so python:3.11-slim is replaced by a Debian 12 rootfs with
# Debian's Python 3.11, passed to the Dockerfile through its PYTHON_IMAGE build argument.
ensure_base_image() {
    local dir="$TB_CI_CACHE/base" root
    if podman image exists "$BASE_IMAGE" \
        && [ "$(podman image inspect --format '{{index .Config.Labels "tb.recipe"}}' "$BASE_IMAGE")" = "$BASE_RECIPE" ]; then
        return 0
    fi
    mkdir -p "$dir/debs"
    if [ ! -s "$dir/rootfs.tar" ] || [ "$(cat "$dir/recipe" 2>/dev/null)" != "$BASE_RECIPE" ]; then
        step "debootstrap of the base rootfs (cold cache)"
        root=$(mktemp -d /var/tmp/tb-rootfs.XXXXXX)
        debootstrap --variant=minbase --cache-dir="$dir/debs" \
            --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates \
            bookworm "$root" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 \
            || { tail -20 "$dir/debootstrap.log" >&2; rm -rf "$root"; tb_fail "debootstrap"; }
        # pip may install system-wide like in the official image; trust this network's TLS proxy
        rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
        cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -cf "$dir/rootfs.tar.new" . && mv "$dir/rootfs.tar.new" "$dir/rootfs.tar"
        echo "$BASE_RECIPE" > "$dir/recipe"
        rm -rf "$root"
    fi
    step "importing the base image"
    podman import -q --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
        --change "LABEL tb.recipe=\"$BASE_RECIPE\"" "$dir/rootfs.tar" "$BASE_IMAGE" >/dev/null \
        || tb_fail "podman import of the base image"
}
ensure_base_image
step "base image ready"

# ---------------------------------------------------------------- build
build() { # build DOCKERFILE TAG LOG
    buildah bud --isolation chroot --pull-never --layers -q \
        --build-arg PYTHON_IMAGE="$BASE_IMAGE" -f "$1" -t "$2" "$TB_REPO" >"$3" 2>&1
}
build "$TB_REPO/docker/Dockerfile" "$IMAGE" "$WORK/build.log" \
    || { tail -40 "$WORK/build.log" >&2; tb_fail "buildah bud docker/Dockerfile"; }
ok "image builds"
# rebuilds leave untagged layers behind; drop those older than a day, keep today's cache
podman image prune -f --filter until=24h >/dev/null 2>&1 || true
step "built $IMAGE"

# ---------------------------------------------------------------- image checks
# image_checks IMAGE: prints each problem; returns 1 if there is any.
# runc and explicit ulimits: on this machine kind crun refuses the hybrid cgroups, and
# podman's default RLIMIT_NOFILE is above what root may set here (no CAP_SYS_RESOURCE).
# shellcheck disable=SC2054  # the commas belong to the --tmpfs option, not the array
podman_opts=(--network host
    --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096
    --user "$RUN_UID:0" --cap-drop ALL --security-opt no-new-privileges
    --read-only --tmpfs /tmp:rw,size=256m)
podman_run=(podman --runtime runc run --rm "${podman_opts[@]}")
podman_bg=(podman --runtime runc run -d "${podman_opts[@]}")
image_checks() {
    local img=$1 bad=0 user entry
    user=$(podman image inspect --format '{{.Config.User}}' "$img")
    if [[ ! "$user" =~ ^[1-9][0-9]*(:0)?$ ]]; then
        echo "image USER is '$user', not a numeric non-root UID (with group 0)"; bad=1
    fi
    entry=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$img")
    if [ "$entry" != '["/app/entrypoint"]' ]; then
        echo "ENTRYPOINT is $entry, not the exec form [\"/app/entrypoint\"]"; bad=1
    fi
    # an arbitrary UID in group 0 must be able to write to /app, like OpenShift's restricted-v2
    if ! "${podman_run[@]}" --read-only=false --entrypoint /bin/sh "$img" \
        -c 'touch /app/.write-test && test -w /app/entrypoint' >/dev/null 2>&1; then
        echo "UID $RUN_UID with GID 0 cannot write to /app (missing chgrp 0 / chmod g=u?)"; bad=1
    fi
    if "${podman_run[@]}" --entrypoint /bin/sh "$img" \
        -c 'command -v gcc || command -v cc || command -v make' 2>/dev/null; then
        echo "a compiler or make is present in the runtime image"; bad=1
    fi
    return "$bad"
}
problems=$(image_checks "$IMAGE") || tb_fail "image checks: $problems"
ok "image checks (numeric USER, exec ENTRYPOINT, /app writable for $RUN_UID:0, no compiler)"

# ---------------------------------------------------------------- entrypoint exit codes
expect_exit() { # expect_exit NAME CODE [podman run options...] -- [args...]
    local name=$1 want=$2 rc=0; shift 2
    local opts=() args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    args=("$@")
    "${podman_run[@]}" "${opts[@]}" "$IMAGE" "${args[@]}" >"$WORK/$name.out" 2>&1 || rc=$?
    if [ "$rc" -ne "$want" ]; then
        tail -30 "$WORK/$name.out" >&2
        tb_fail "$name: exit $rc, expected $want"
    fi
    ok "$name -> exit $want"
}
expect_exit help 0 -- --help
grep -q -- '--plugin' "$WORK/help.out" || tb_fail "--help does not mention --plugin"
expect_exit plugins 0 -- plugins
# PLUGINS=all (the default) must have baked in every plugin distribution of the repository
for d in "$TB_REPO"/tracebloc-ingestor-*/; do
    [ -f "$d/pyproject.toml" ] || continue
    d=$(basename "$d")
    grep -q "$d" "$WORK/plugins.out" || tb_fail "$d is not installed in the image"
done
grep -q 'tabular_classification' "$WORK/plugins.out" || tb_fail "tabular_classification is not installed in the image"
expect_exit no-mysql-host 64 -- --plugin tabular_classification
expect_exit mysql-unreachable 65 -e MYSQL_HOST=127.0.0.1 -e MYSQL_PORT=1 -e MYSQL_WAIT_SECONDS=2 \
    -- --plugin tabular_classification
expect_exit bad-port 2 -e MYSQL_HOST=127.0.0.1 -e MYSQL_PORT=x -- --plugin tabular_classification
# the local opt-out reaches tb-ingest, which refuses the missing TABLE_NAME with 2 (not 64)
expect_exit skip-db-wait 2 -e TRACEBLOC_SKIP_DB_WAIT=1 -- --plugin tabular_classification
grep -q 'TABLE_NAME' "$WORK/skip-db-wait.out" || tb_fail "skip-db-wait: tb-ingest did not run"
expect_exit prefixed-wins 65 -e MYSQL_HOST=127.0.0.1 -e MYSQL_PORT=3306 -e TRACEBLOC_MYSQL_PORT=1 \
    -e MYSQL_WAIT_SECONDS=1 -- --plugin tabular_classification

# SIGTERM while waiting must end the container at once with 143, not after the grace period
podman rm -f -i tb-smoke-sigterm >/dev/null 2>&1 || true
"${podman_bg[@]}" --name tb-smoke-sigterm -e MYSQL_HOST=127.0.0.1 -e MYSQL_PORT=1 \
    -e MYSQL_WAIT_SECONDS=120 "$IMAGE" --plugin tabular_classification >/dev/null
sleep 2
ts=$SECONDS
podman kill --signal TERM tb-smoke-sigterm >/dev/null
rc=$(podman wait tb-smoke-sigterm)
podman rm -f -i tb-smoke-sigterm >/dev/null 2>&1 || true
[ "$rc" = 143 ] || tb_fail "SIGTERM while waiting: exit $rc, expected 143"
[ $((SECONDS - ts)) -le 10 ] || tb_fail "SIGTERM while waiting took $((SECONDS - ts))s"
ok "SIGTERM while waiting -> exit 143"
step "entrypoint cases done"

# ---------------------------------------------------------------- ingest the bundled sample
# Into a throw-away database and user on the host's MariaDB, registering with the core's
# backend double (run from the image itself, since the core ships it) on the host network.
if [ -f "$SAMPLE_DIR/ingest.yaml" ]; then
    suffix=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
    DB_NAME="tbsmoke_$suffix"
    DB_USER="tbsmoke_$suffix"
    db_password=$(od -An -N12 -tx4 /dev/urandom | tr -d ' \n')
    client_secret=$(od -An -N12 -tx4 /dev/urandom | tr -d ' \n')
    mariadb -h 127.0.0.1 -u root -e "CREATE DATABASE \`$DB_NAME\` CHARACTER SET utf8mb4;
        CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$db_password';
        GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';" \
        || tb_fail "cannot create the throw-away database on 127.0.0.1:3306"

    podman rm -f -i tb-smoke-backend >/dev/null 2>&1 || true
    "${podman_bg[@]}" --name tb-smoke-backend --entrypoint python "$IMAGE" \
        -m tracebloc_ingestor.testing.backend_double --port 0 \
        --client-id smoke-client --client-secret "$client_secret" >/dev/null
    api_url=""
    for _ in $(seq 1 50); do
        api_url=$(podman logs tb-smoke-backend 2>/dev/null | grep -m1 '^http://' || true)
        [ -n "$api_url" ] && break
        sleep 0.2
    done
    [ -n "$api_url" ] || { podman logs tb-smoke-backend >&2; tb_fail "the backend double did not start"; }

    shared="$WORK/shared"
    mkdir -p "$shared" && chgrp 0 "$shared" && chmod 0770 "$shared"   # like a group-0 PVC
    table=tbsmoke_tabular
    env_file="$WORK/ingest.env"     # credentials via a file, not the command line
    {
        echo "CLIENT_ID=smoke-client"
        echo "CLIENT_PASSWORD=$client_secret"
        echo "TRACEBLOC_API_URL=$api_url"
        echo "MYSQL_HOST=127.0.0.1"
        echo "MYSQL_PORT=3306"
        echo "MYSQL_WAIT_SECONDS=10"
        echo "DB_USER=$DB_USER"
        echo "DB_PASSWORD=$db_password"
        echo "DB_NAME=$DB_NAME"
        echo "SRC_PATH=/data/source"
        echo "INGEST_CONFIG=/data/source/ingest.yaml"
        echo "TABLE_NAME=$table"
        echo "TITLE=smoke test"
        echo "LOG_LEVEL=INFO"
        echo "STORAGE_PATH=/data/shared"
    } >"$env_file"
    ingest_opts=(--env-file "$env_file" -v "$SAMPLE_DIR:/data/source:ro" -v "$shared:/data/shared")
    count_rows() { mariadb -h 127.0.0.1 -u root -N -e "SELECT COUNT(*) FROM \`$DB_NAME\`.\`$table\`"; }
    check_log() { # check_log RUN-NAME: summary present, no password anywhere
        local log="$WORK/$1.out"
        grep -q '📊 INGESTION SUMMARY 📊' "$log" || tb_fail "$1: no INGESTION SUMMARY line in the log"
        if grep -qF -e "$db_password" -e "$client_secret" "$log"; then
            tb_fail "$1: a password appears in the container log"
        fi
    }

    expect_exit ingest-sample 0 "${ingest_opts[@]}" -- --plugin tabular_classification
    check_log ingest-sample
    rows=$(count_rows) || tb_fail "table $table was not created"
    want=$(($(grep -c . "$SAMPLE_DIR/customers.csv") - 1))
    [ "$rows" -eq "$want" ] || tb_fail "table $table has $rows rows, the sample has $want"
    grep -q "Inserted to Database: $rows" "$WORK/ingest-sample.out" \
        || tb_fail "the summary does not report $rows rows inserted"
    podman logs tb-smoke-backend >"$WORK/backend.out" 2>&1
    grep -q "POST /global_meta/summary/$table/ -> 20[01]" "$WORK/backend.out" \
        || { cat "$WORK/backend.out" >&2; tb_fail "no accepted registration at the backend double"; }
    ok "ingested the tabular sample: $rows rows in $DB_NAME.$table, registered"

    # the Deploy docs' rerun: the same input again duplicates nothing
    expect_exit ingest-rerun 0 "${ingest_opts[@]}" -- --plugin tabular_classification
    check_log ingest-rerun
    [ "$(count_rows)" -eq "$rows" ] || tb_fail "the rerun changed the row count to $(count_rows)"
    ok "rerun of the same input: still $rows rows"
    podman rm -f -i tb-smoke-backend >/dev/null 2>&1 || true
else
    tb_log "SKIPPED ingest case: no $SAMPLE_DIR/ingest.yaml yet"
fi

# ---------------------------------------------------------------- broken images must fail
# Each proof derives a copy of the built image with one of the mistakes the image checks
# exist for (what a Dockerfile without `chmod g=u`, with `USER root`, or with a shell-form
# ENTRYPOINT would produce) and requires image_checks to reject it. Deriving takes a
# second or two; rebuilding Dockerfile variants would take a minute each.
if [ "${SMOKE_PROOFS:-1}" = 1 ]; then
    prove_rejected() { # prove_rejected NAME COMMAND... (COMMAND gets the working container)
        local name=$1 ctr broken="localhost/tracebloc-ingestor:broken-$1"; shift
        ctr=$(buildah from --pull-never "$IMAGE")
        "$@" "$ctr" >/dev/null || { buildah rm "$ctr" >/dev/null; tb_fail "proof $name: could not derive the image"; }
        buildah commit -q --rm "$ctr" "$broken" >/dev/null
        if image_checks "$broken" >"$WORK/proof-$name.txt"; then
            podman rmi -f "$broken" >/dev/null 2>&1 || true
            tb_fail "proof $name: image checks accepted a broken image"
        fi
        podman rmi -f "$broken" >/dev/null 2>&1 || true
        ok "image checks reject: $name ($(head -1 "$WORK/proof-$name.txt"))"
    }
    no_group_write() { buildah run --isolation chroot --user 0:0 "$1" -- chmod -R g-w /app; }
    prove_rejected no-group-write no_group_write
    prove_rejected user-root buildah config --user root
    prove_rejected user-name buildah config --user nobody
    prove_rejected shell-entrypoint buildah config --entrypoint /app/entrypoint
    step "proofs done"
fi

tb_log "passed ${#passed[@]} smoke cases in $((SECONDS - t0))s:"
printf '  - %s\n' "${passed[@]}" >&2
