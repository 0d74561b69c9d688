#!/usr/bin/env bash
# Start or stop the local Docker engine that the end-to-end tests use.
#
# Usage: engine.sh start|stop
#
# `start` installs docker.io, debootstrap and iptables when they are missing,
# then starts dockerd in the background unless `docker info` already reaches
# an engine. `stop` stops only a dockerd that `start` started, so an engine
# that was running before (for example one managed by systemd) is left alone.
#
# Must run as root. Environment:
#   JITSI_E2E_ENGINE_STATE_DIR  directory for the dockerd log and pid file
#                               (default /tmp/jitsi-e2e-engine)
#   JITSI_E2E_ENGINE_TIMEOUT    seconds to wait for dockerd to start or stop
#                               (default 60)
set -euo pipefail

readonly STATE_DIR="${JITSI_E2E_ENGINE_STATE_DIR:-/tmp/jitsi-e2e-engine}"
readonly TIMEOUT_SECONDS="${JITSI_E2E_ENGINE_TIMEOUT:-60}"
readonly DOCKERD_LOG="$STATE_DIR/dockerd.log"
# dockerd writes this file itself (--pidfile) and removes it on a clean exit.
readonly DOCKERD_PIDFILE="$STATE_DIR/dockerd.pid"
readonly REQUIRED_PACKAGES=(docker.io debootstrap iptables debian-archive-keyring)

log() {
    printf 'engine.sh: %s\n' "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

usage() {
    cat >&2 <<'EOF'
Usage: engine.sh start|stop

  start  install docker.io, debootstrap and iptables if missing, and start
         dockerd in the background unless a Docker engine is already reachable
  stop   stop the dockerd that `start` started; leave any other engine running
EOF
}

require_root() {
    if [[ $EUID -ne 0 ]]; then
        die "must run as root (installs packages and starts dockerd); rerun with sudo"
    fi
}

# Print the PID that $DOCKERD_PIDFILE names if that process is still a live
# dockerd. A recycled PID or a zombie does not count.
read_running_dockerd_pid() {
    local pid state
    [[ -f $DOCKERD_PIDFILE ]] || return 1
    pid=$(<"$DOCKERD_PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == dockerd ]] || return 1
    # Field 3 of /proc/PID/stat is the state. The command name in field 2 is
    # "(dockerd)" and has no spaces, so splitting on spaces is safe.
    state=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z ]] || return 1
    printf '%s\n' "$pid"
}

install_missing_packages() {
    local package status missing=()
    for package in "${REQUIRED_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        if [[ $status != "install ok installed" ]]; then
            missing+=("$package")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi

    log "installing missing packages: ${missing[*]}"
    if ! apt-get update >&2; then
        die "apt-get update failed; check the sources in /etc/apt/sources.list.d/ and network access to the Debian mirror"
    fi
    # Recommends are skipped because docker.io recommends needrestart and
    # apparmor, which the tests do not use.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        die "apt-get install failed for: ${missing[*]}"
    fi
}

# Print the extra dockerd flags that this machine needs.
#
# Storage driver: no flag. Without --storage-driver, dockerd tries the drivers
# of its built-in priority list, which ends with vfs, and uses the first one
# that works on its data root. `start` logs the driver that dockerd chose.
#
# iptables: dockerd exits at startup when it cannot create its DOCKER chain in
# the nat table, so when `iptables -t nat` fails here, dockerd gets
# --iptables=false. Ports published on 127.0.0.1 then work through
# docker-proxy, but containers get no NAT to hosts outside Docker, so
# `apt-get update` inside a container fails.
# NOTE: the --iptables=false path has not been run, because iptables works on
# the machines this script was tested on (Debian 12, iptables-nft).
detect_dockerd_flags() {
    if ! iptables -t nat -S >/dev/null 2>&1 || ! iptables -t filter -S >/dev/null 2>&1; then
        log "warning: 'iptables -t nat -S' failed, so dockerd runs with --iptables=false;" \
            "containers will not reach networks outside Docker"
        printf '%s\n' --iptables=false
    fi
}

wait_for_engine() {
    local pid=$1 deadline=$((SECONDS + TIMEOUT_SECONDS))
    until docker info >/dev/null 2>&1; do
        # setsid normally execs dockerd, so $pid is dockerd. The pid file check
        # covers the case where setsid forked and $pid has already exited.
        if ! kill -0 "$pid" 2>/dev/null && ! read_running_dockerd_pid >/dev/null; then
            tail -n 20 "$DOCKERD_LOG" >&2 || true
            die "dockerd (pid $pid) exited during startup; read $DOCKERD_LOG"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 20 "$DOCKERD_LOG" >&2 || true
            die "timed out after ${TIMEOUT_SECONDS}s waiting for 'docker info' to reach dockerd (pid $pid);" \
                "read $DOCKERD_LOG, then run 'engine.sh stop'"
        fi
        sleep 1
    done
}

start_engine() {
    require_root
    install_missing_packages

    if docker info >/dev/null 2>&1; then
        log "a Docker engine is already running; not starting another"
        return 0
    fi

    mkdir -p "$STATE_DIR"
    local flags=() pid
    mapfile -t flags < <(detect_dockerd_flags)

    log "starting dockerd${flags[*]:+ ${flags[*]}} (log: $DOCKERD_LOG)"
    # setsid detaches dockerd from this shell's process group, so a caller that
    # ends the group when this script exits does not also stop dockerd.
    setsid dockerd --pidfile "$DOCKERD_PIDFILE" "${flags[@]}" </dev/null >>"$DOCKERD_LOG" 2>&1 &
    pid=$!
    wait_for_engine "$pid"

    local driver
    driver=$(docker info --format '{{.Driver}}' 2>/dev/null || echo unknown)
    log "dockerd is running (pid $(<"$DOCKERD_PIDFILE"), storage driver $driver)"
}

# After a SIGKILL, dockerd cannot stop the containerd it started, so stop it
# here. dockerd 20.10 records that containerd's pid in this file.
stop_orphaned_containerd() {
    local pidfile=/var/run/docker/containerd/containerd.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(<"$pidfile")
    if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == containerd ]]; then
        log "stopping containerd (pid $pid) left behind by the killed dockerd"
        kill -TERM "$pid" 2>/dev/null || true
    fi
}

stop_engine() {
    local pid deadline
    if ! pid=$(read_running_dockerd_pid); then
        log "no dockerd started by engine.sh is running (no live pid in $DOCKERD_PIDFILE); nothing to stop"
        return 0
    fi
    require_root

    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    deadline=$((SECONDS + TIMEOUT_SECONDS))
    while read_running_dockerd_pid >/dev/null; do
        if ((SECONDS >= deadline)); then
            log "dockerd (pid $pid) still running ${TIMEOUT_SECONDS}s after SIGTERM; sending SIGKILL (log: $DOCKERD_LOG)"
            kill -KILL "$pid" 2>/dev/null || true
            stop_orphaned_containerd
            sleep 1
            break
        fi
        sleep 0.5
    done
    if read_running_dockerd_pid >/dev/null; then
        die "dockerd (pid $pid) did not exit after SIGKILL; read $DOCKERD_LOG"
    fi
    rm -f "$DOCKERD_PIDFILE"
    log "dockerd stopped"
}

main() {
    if [[ $# -ne 1 ]]; then
        usage
        exit 2
    fi
    case $1 in
    start) start_engine ;;
    stop) stop_engine ;;
    -h | --help | help) usage ;;
    *)
        log "error: unknown subcommand '$1'"
        usage
        exit 2
        ;;
    esac
}

main "$@"
