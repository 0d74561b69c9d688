#!/usr/bin/env bash
# Run the end-to-end tests: start the Docker engine, build the images, run
# mocha with test/e2e/.mocharc.json, and stop the engine again.
#
# Usage: run.sh [MOCHA_ARGUMENT...]   (for example: run.sh --grep TLS)
#
# The engine is stopped on exit only when this script started it; an engine
# that was already running stays up. Prints the time spent building images and
# running the tests separately. Must run as root (see engine.sh and images.sh).
set -euo pipefail

cd "$(dirname "$0")/../.."
readonly E2E_DIR=test/e2e
# test/e2e/deployment.ts reads the stand-ins under these references.
readonly STANDIN_PREFIX=jitsi-e2e/standin-
readonly STANDIN_TARGETS=(prosody jicofo jvb web proxy)

log() {
    printf 'run.sh: %s\n' "$*" >&2
}

# Labels every container and network of this run; see deployment.test.ts.
JITSI_E2E_RUN_ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
export JITSI_E2E_RUN_ID

# Parent of the temporary host directories that the tests bind-mount.
JITSI_E2E_WORK_DIR=$(mktemp -d /tmp/jitsi-e2e-run.XXXXXX)
export JITSI_E2E_WORK_DIR

engine_started_here=no

# Remove the containers, networks and work directory that this run left
# behind when mocha was killed before its `after` hook ran, then stop the
# engine if this script started it.
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
    local status=$? ids
    trap - EXIT INT TERM HUP
    if docker info >/dev/null 2>&1; then
        ids=$(docker ps -aq --filter "label=org.jitsi-e2e.run=$JITSI_E2E_RUN_ID")
        if [[ -n $ids ]]; then
            log "removing containers left by run $JITSI_E2E_RUN_ID: $(tr '\n' ' ' <<<"$ids")"
            # shellcheck disable=SC2086 # one id per word
            docker rm -f $ids >/dev/null || log "warning: docker rm -f failed"
        fi
        ids=$(docker network ls -q --filter "label=org.jitsi-e2e.run=$JITSI_E2E_RUN_ID")
        if [[ -n $ids ]]; then
            log "removing networks left by run $JITSI_E2E_RUN_ID: $(tr '\n' ' ' <<<"$ids")"
            # shellcheck disable=SC2086 # one id per word
            docker network rm $ids >/dev/null || log "warning: docker network rm failed"
        fi
    fi
    rm -rf "$JITSI_E2E_WORK_DIR"
    if [[ $engine_started_here == yes ]]; then
        bash "$E2E_DIR/engine.sh" stop || log "warning: engine.sh stop failed"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if ! docker info >/dev/null 2>&1; then
    engine_started_here=yes
fi
bash "$E2E_DIR/engine.sh" start

# Milliseconds since the epoch.
now_ms() {
    date +%s%3N
}

# Print milliseconds as seconds with one decimal.
seconds() {
    printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100))
}

build_started=$(now_ms)
base_image=$(bash "$E2E_DIR/images.sh" build jitsi-e2e/trixie-services)
for target in "${STANDIN_TARGETS[@]}"; do
    log "building ${STANDIN_PREFIX}${target}:latest from $base_image"
    # docker.io on Debian 12 has no buildx, so the classic builder runs; it
    # takes FROM images from the local store without asking a registry.
    # The build output is shown only on failure, because the classic builder
    # prints a deprecation notice on every run.
    if ! output=$(DOCKER_BUILDKIT=0 docker build \
        --build-arg "BASE_IMAGE=$base_image" \
        --target "$target" \
        --tag "${STANDIN_PREFIX}${target}:latest" \
        "$E2E_DIR/standins" 2>&1); then
        printf '%s\n' "$output" >&2
        log "error: building ${STANDIN_PREFIX}${target}:latest failed"
        exit 1
    fi
done
build_ms=$(($(now_ms) - build_started))
log "image build: $(seconds "$build_ms") s"

tests_started=$(now_ms)
test_status=0
npx mocha --config "$E2E_DIR/.mocharc.json" "$@" || test_status=$?
tests_ms=$(($(now_ms) - tests_started))

log "image build: $(seconds "$build_ms") s"
log "tests: $(seconds "$tests_ms") s"
exit "$test_status"
