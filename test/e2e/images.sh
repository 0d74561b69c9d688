#!/usr/bin/env bash
# Build the local Debian images that the end-to-end tests run.
#
# Usage: images.sh build NAME|all
#
# Each image is a debootstrap --variant=minbase root file system, extended
# with apt-get inside a chroot and loaded with `docker import`. The tag is a
# hash of the image's inputs, so an existing image with that tag is reused and
# any change to the suite, the package list, the mirrors or this script builds
# a new one. `build` prints the image reference (jitsi-e2e/NAME:HASH) on stdout,
# one line per image, and writes everything else to stderr.
#
# Must run as root with a reachable Docker engine (see engine.sh start).
# Environment:
#   JITSI_E2E_CACHE_DIR                 work, log and .deb cache directory
#                                       (default /var/cache/jitsi-e2e)
#   JITSI_E2E_DEBIAN_MIRROR             Debian archive URI (default: read from
#                                       this machine's apt sources)
#   JITSI_E2E_DEBIAN_SECURITY_MIRROR    Debian security archive URI (default:
#                                       read from this machine's apt sources)
set -euo pipefail

readonly CACHE_DIR="${JITSI_E2E_CACHE_DIR:-/var/cache/jitsi-e2e}"
SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
readonly SCRIPT_PATH
readonly IMAGE_NAMES=(jitsi-e2e/trixie-services jitsi-e2e/bookworm-host jitsi-e2e/trixie-host)
readonly IMAGE_PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() {
    printf 'images.sh: %s\n' "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

usage() {
    cat >&2 <<EOF
Usage: images.sh build NAME|all

Builds a local Docker image unless one with the same inputs exists, and prints
its reference on stdout. NAME is one of:
$(printf '  %s\n' "${IMAGE_NAMES[@]}")
'all' builds all of them.
EOF
}

# Print the Debian suite of image $1.
image_suite() {
    case $1 in
    jitsi-e2e/trixie-services | jitsi-e2e/trixie-host) echo trixie ;;
    jitsi-e2e/bookworm-host) echo bookworm ;;
    *) return 1 ;;
    esac
}

# Print the packages that image $1 gets on top of minbase, space-separated.
#
# trixie-services runs in place of the Jitsi containers and the nginx proxy.
# Prosody's mod_websocket and mod_bosh ship in the prosody package itself, and
# the Lua libraries they load (lua-bitop, lua-expat, lua-socket, lua-sec) are
# hard dependencies of prosody, so apt installs them without being named here.
# lua-unbound is only a Recommends of prosody, but without it prosody 13
# prints a warning at every start and falls back to its older DNS resolver.
#
# The host images model a freshly installed Debian server: minbase already
# has apt, and these add what host-setup scripts commonly rely on.
image_packages() {
    case $1 in
    jitsi-e2e/trixie-services) echo nginx prosody lua-unbound python3 ca-certificates openssl curl iproute2 procps ;;
    jitsi-e2e/bookworm-host | jitsi-e2e/trixie-host) echo ca-certificates procps iproute2 ;;
    *) return 1 ;;
    esac
}

# Print "yes" if image $1 keeps its apt package lists. The host images keep
# them, like an installed server. The services image drops them to save space.
image_keeps_apt_lists() {
    case $1 in
    jitsi-e2e/trixie-services) echo no ;;
    *) echo yes ;;
    esac
}

# Print the URI of the first enabled `deb` source in this machine's apt
# configuration that lists the suite $1 (an extended regex). Both the deb822
# format (*.sources) and the one-line format (*.list) are read.
find_apt_source_uri() {
    local suite_pattern=$1 file
    shopt -s nullglob
    for file in /etc/apt/sources.list.d/*.sources; do
        # Paragraphs are separated by blank lines. Each paragraph's Types,
        # URIs, Suites and Enabled fields decide whether it matches.
        awk -v pattern="$suite_pattern" '
            function check() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && uri != "") {
                    n = split(suites, list, " ")
                    for (i = 1; i <= n; i++) {
                        if (list[i] ~ ("^(" pattern ")$")) { print uri; found = 1; exit }
                    }
                }
                types = ""; uris = ""; uri = ""; suites = ""; enabled = ""
            }
            /^[[:space:]]*$/ { check(); next }
            /^#/ { next }
            tolower($1) == "types:" { $1 = ""; types = $0 }
            tolower($1) == "uris:" { uri = $2 }
            tolower($1) == "suites:" { $1 = ""; suites = $0 }
            tolower($1) == "enabled:" { enabled = tolower($2) }
            END { if (!found) check() }
        ' "$file"
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $file ]] || continue
        # One-line format: deb [options] URI SUITE COMPONENT...
        awk -v pattern="$suite_pattern" '
            $1 != "deb" { next }
            {
                i = 2
                if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
                if ($(i + 1) ~ ("^(" pattern ")$")) { print $i; exit }
            }
        ' "$file"
    done
    shopt -u nullglob
}

# Set DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR from the environment or from
# the apt sources of this machine's own Debian release. Matching on the
# release's codename skips third-party repositories such as nodesource.
resolve_mirrors() {
    local codename
    codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"' || true)
    DEBIAN_MIRROR=${JITSI_E2E_DEBIAN_MIRROR:-}
    DEBIAN_SECURITY_MIRROR=${JITSI_E2E_DEBIAN_SECURITY_MIRROR:-}
    if [[ -z $DEBIAN_MIRROR && -n $codename ]]; then
        DEBIAN_MIRROR=$(find_apt_source_uri "$codename" | head -n 1)
    fi
    if [[ -z $DEBIAN_SECURITY_MIRROR && -n $codename ]]; then
        DEBIAN_SECURITY_MIRROR=$(find_apt_source_uri "$codename-security" | head -n 1)
    fi
    if [[ -z $DEBIAN_MIRROR ]]; then
        die "no apt source for suite '${codename:-unknown}' found in /etc/apt/sources.list or" \
            "/etc/apt/sources.list.d/; set JITSI_E2E_DEBIAN_MIRROR to a Debian archive URI"
    fi
    if [[ -z $DEBIAN_SECURITY_MIRROR ]]; then
        log "warning: no security mirror in this machine's apt sources; images get no SUITE-security source"
    fi
    readonly DEBIAN_MIRROR DEBIAN_SECURITY_MIRROR
}

# Print the reference jitsi-e2e/NAME:HASH for image $1. The hash covers the
# suite, the package list, the mirrors and this whole script, so any edit to
# this file rebuilds all images.
# NOTE: package versions on the mirror are not an input, so a cached image
# keeps the versions it was built with until one of the inputs changes.
image_reference() {
    local name=$1 hash
    hash=$(
        {
            printf 'name=%s\nsuite=%s\npackages=%s\n' "$name" "$(image_suite "$name")" "$(image_packages "$name")"
            printf 'keep-apt-lists=%s\nmirror=%s\nsecurity-mirror=%s\n' \
                "$(image_keeps_apt_lists "$name")" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR"
            cat "$SCRIPT_PATH"
        } | sha256sum | cut -c1-16
    )
    printf '%s:%s\n' "$name" "$hash"
}

# Fail unless nothing is mounted at or below directory $1, so that `rm -rf`
# cannot reach into a mounted /proc or a bind mount.
require_no_mounts_below() {
    local dir=$1 mount_point
    while read -r _ mount_point _; do
        if [[ $mount_point == "$dir" || $mount_point == "$dir"/* ]]; then
            die "$mount_point is still mounted; unmount it, then remove $dir"
        fi
    done </proc/mounts
}

remove_rootfs() {
    local dir=$1
    [[ -e $dir ]] || return 0
    require_no_mounts_below "$dir"
    rm -rf --one-file-system "$dir"
}

# Write the deb822 apt sources of a freshly installed Debian server: the
# suite, SUITE-updates and, when known, SUITE-security.
write_apt_sources() {
    local root=$1 suite=$2
    rm -f "$root/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\n' "$DEBIAN_MIRROR" "$suite" "$suite"
        printf 'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        if [[ -n $DEBIAN_SECURITY_MIRROR ]]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\n' "$DEBIAN_SECURITY_MIRROR" "$suite"
            printf 'Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        fi
    } >"$root/etc/apt/sources.list.d/debian.sources"
}

# Create the root file system of image $1 in directory $2.
#
# Runs in a private mount namespace (see build_image), so the /proc mounts of
# debootstrap and of this function disappear when it exits, even on failure.
bootstrap_rootfs() {
    local name=$1 root=$2 suite packages
    suite=$(image_suite "$name")
    read -r -a packages <<<"$(image_packages "$name")"

    mkdir -p "$CACHE_DIR/debs/$suite"
    debootstrap --variant=minbase --cache-dir="$CACHE_DIR/debs/$suite" "$suite" "$root" "$DEBIAN_MIRROR"

    # The packages are installed with apt rather than debootstrap --include
    # because debootstrap does not resolve virtual packages, and prosody
    # depends on several (lua5.4-socket, lua5.4-sec, lua5.4-bitop).
    write_apt_sources "$root" "$suite"
    mount -t proc proc "$root/proc"
    # apt logs package scripts' output through a pseudo-terminal.
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
    # While policy-rc.d exits with status 101, invoke-rc.d starts no services
    # from package scripts. The file is removed before the image is imported.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    chroot "$root" apt-get update
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y --no-install-recommends "${packages[@]}"
    chroot "$root" apt-get clean
    rm -f "$root/usr/sbin/policy-rc.d"
    umount "$root/dev/pts" "$root/proc"

    if [[ $(image_keeps_apt_lists "$name") == no ]]; then
        find "$root/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
    fi
    rm -rf "$root/var/cache/apt/"*.bin "$root/var/log/apt/"* "$root/var/cache/debconf/"*-old
    # ssl-cert's postinst generates a snakeoil key and certificate named after
    # the build machine's host name. Removing them keeps that name and a shared
    # private key out of the image, so tests create the certificates they need.
    rm -f "$root/etc/ssl/private/ssl-cert-snakeoil.key" "$root/etc/ssl/certs/ssl-cert-snakeoil.pem"

    # debootstrap copies the build machine's resolv.conf, hosts and hostname.
    # Docker mounts its own over these files at run time, so the image gets
    # neutral contents instead.
    : >"$root/etc/resolv.conf"
    : >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
}

import_rootfs() {
    local name=$1 root=$2 reference=$3
    # /dev, /proc and /sys are mounted by the container runtime, so only the
    # empty directories go into the image.
    tar --numeric-owner -C "$root" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -cf - . |
        docker import \
            --change "ENV $IMAGE_PATH_ENV" \
            --change 'ENV LANG=C.UTF-8' \
            --change 'CMD ["/bin/bash"]' \
            --change "LABEL org.jitsi-e2e.suite=$(image_suite "$name")" \
            --change "LABEL org.jitsi-e2e.packages=\"$(image_packages "$name")\"" \
            --message "debootstrap $(image_suite "$name") minbase + $(image_packages "$name")" \
            - "$reference" >/dev/null
}

# Remove other tags of image $1, built from other inputs. An image that a
# container still uses stays, and a warning names it.
remove_stale_tags() {
    local name=$1 keep=$2 reference
    while read -r reference; do
        [[ $reference != "$keep" ]] || continue
        if docker image rm "$reference" >/dev/null 2>&1; then
            log "removed stale image $reference"
        else
            log "warning: could not remove stale image $reference (still used by a container?)"
        fi
    done < <(docker image ls --format '{{.Repository}}:{{.Tag}}' "$name")
}

# Root file system directory of the build in progress, removed on exit so
# that a failed or interrupted build leaves no partial tree behind.
BUILD_ROOT=""

remove_partial_rootfs() {
    if [[ -n $BUILD_ROOT ]]; then
        log "removing partial root file system $BUILD_ROOT"
        remove_rootfs "$BUILD_ROOT"
    fi
}

build_image() {
    local name=$1 reference slug root build_log lock_fd
    reference=$(image_reference "$name")
    if docker image inspect "$reference" >/dev/null 2>&1; then
        log "reusing $reference"
        printf '%s\n' "$reference"
        return 0
    fi

    slug=${name//\//_}
    mkdir -p "$CACHE_DIR/locks" "$CACHE_DIR/logs" "$CACHE_DIR/rootfs"
    # One build per image at a time. A second caller waits here, then reuses
    # the image that the first one built.
    exec {lock_fd}>"$CACHE_DIR/locks/$slug.lock"
    flock "$lock_fd"
    if docker image inspect "$reference" >/dev/null 2>&1; then
        exec {lock_fd}>&-
        log "reusing $reference"
        printf '%s\n' "$reference"
        return 0
    fi

    root="$CACHE_DIR/rootfs/$slug"
    build_log="$CACHE_DIR/logs/$slug.log"
    # A directory left here is a partial build of a run that was killed.
    remove_rootfs "$root"
    BUILD_ROOT=$root
    log "building $reference ($(image_suite "$name"): $(image_packages "$name")); log: $build_log"

    local started=$SECONDS
    if ! unshare --mount --propagation private \
        bash "$SCRIPT_PATH" _bootstrap-rootfs "$name" "$root" >"$build_log" 2>&1; then
        tail -n 20 "$build_log" >&2 || true
        # debootstrap keeps its detailed log inside the tree, which is removed
        # on exit, so a copy goes next to the build log.
        if [[ -f $root/debootstrap/debootstrap.log ]]; then
            cp "$root/debootstrap/debootstrap.log" "$CACHE_DIR/logs/$slug.debootstrap.log"
            log "debootstrap details: $CACHE_DIR/logs/$slug.debootstrap.log"
        fi
        die "building the root file system of $name failed; read $build_log"
    fi
    if ! import_rootfs "$name" "$root" "$reference"; then
        die "docker import of $root as $reference failed"
    fi
    remove_rootfs "$root"
    BUILD_ROOT=""
    exec {lock_fd}>&-

    log "built $reference in $((SECONDS - started))s"
    remove_stale_tags "$name" "$reference"
    printf '%s\n' "$reference"
}

main() {
    if [[ $# -ge 1 && $1 == _bootstrap-rootfs ]]; then
        # Internal step that build_image runs in a private mount namespace.
        [[ $# -eq 3 ]] || die "_bootstrap-rootfs needs NAME and ROOT"
        resolve_mirrors
        bootstrap_rootfs "$2" "$3"
        return 0
    fi
    if [[ $# -ne 2 || $1 != build ]]; then
        usage
        exit 2
    fi

    local names=()
    if [[ $2 == all ]]; then
        names=("${IMAGE_NAMES[@]}")
    elif image_suite "$2" >/dev/null; then
        names=("$2")
    else
        log "error: unknown image '$2'"
        usage
        exit 2
    fi

    if [[ $EUID -ne 0 ]]; then
        die "must run as root (debootstrap and chroot need it); rerun with sudo"
    fi
    command -v debootstrap >/dev/null || die "debootstrap not found; run 'bash test/e2e/engine.sh start' to install it"
    docker info >/dev/null 2>&1 || die "no Docker engine reachable ('docker info' failed); run 'bash test/e2e/engine.sh start'"
    resolve_mirrors

    trap remove_partial_rootfs EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local name
    for name in "${names[@]}"; do
        build_image "$name"
    done
}

main "$@"
