// Shell functions that run apt-get and dpkg-query: they list the installed packages, wait for
// the apt and dpkg locks and retry failed apt-get runs.
import { bash, bashConstant } from "./script";

/** Seconds that wait_for_apt_locks waits for another apt or dpkg process to release its lock. */
export const APT_LOCK_TIMEOUT_SECONDS = 300;

/**
 * Shell functions list_installed_packages, is_installed, list_apt_lock_holders,
 * wait_for_apt_locks and run_apt_get, with the NATIVE_ARCHITECTURE and APT_OPTIONS constants.
 * They read the constants that aptConstants renders.
 */
export const APT_FUNCTIONS = bash`
NATIVE_ARCHITECTURE="$(dpkg --print-architecture)"
readonly NATIVE_ARCHITECTURE
readonly APT_OPTIONS=(-q -o DPkg::Lock::Timeout=60 -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Prints the names of the installed packages, sorted, with the ":ARCH" suffix dropped for the
# native architecture, as apt-get prints them.
list_installed_packages() {
    # shellcheck disable=SC2016 # dpkg-query expands these fields itself.
    dpkg-query -W -f='\${db:Status-Abbrev} \${binary:Package}\n' |
        awk '$1 == "ii" { print $2 }' |
        sed "s/:\${NATIVE_ARCHITECTURE}\$//" |
        sort -u
}

is_installed() {
    local status
    # shellcheck disable=SC2016 # dpkg-query expands this field itself.
    status="$(dpkg-query -W -f='\${db:Status-Abbrev}' "$1" 2>/dev/null || true)"
    [[ "$status" == "ii " ]]
}

# Prints "PID (command)" for each process that has an apt or dpkg lock file open. apt and dpkg
# keep these files open exactly while they hold the lock; reading /proc needs no extra package.
list_apt_lock_holders() {
    local fd pid command
    # find reports processes that exit while it runs as errors; those hold no lock.
    { find /proc/[0-9]*/fd -maxdepth 1 -type l \( -lname /var/lib/dpkg/lock -o -lname /var/lib/dpkg/lock-frontend \
        -o -lname /var/lib/apt/lists/lock -o -lname /var/cache/apt/archives/lock \) -print 2>/dev/null || true; } |
        while IFS= read -r fd; do
            pid="\${fd#/proc/}"
            pid="\${pid%%/*}"
            command="$(cat -- "/proc/\${pid}/comm" 2>/dev/null || echo unknown)"
            echo "\${pid} (\${command})"
        done | sort -u
}

# Waits until no process holds an apt or dpkg lock, for at most APT_LOCK_TIMEOUT_SECONDS.
# unattended-upgrades and apt-daily hold these locks for minutes after a fresh host boots.
wait_for_apt_locks() {
    local deadline=$((SECONDS + APT_LOCK_TIMEOUT_SECONDS)) holders reported=no
    while true; do
        holders="$(list_apt_lock_holders | paste -sd ' ')"
        if [[ -z "$holders" ]]; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            echo "\${STEP}: timed out after \${APT_LOCK_TIMEOUT_SECONDS} s waiting for the apt/dpkg lock, held by \${holders}; wait until that process finishes (on a fresh host, unattended-upgrades), then run again" >&2
            return 1
        fi
        if [[ "$reported" == no ]]; then
            echo "\${STEP}: waiting up to \${APT_LOCK_TIMEOUT_SECONDS} s for the apt/dpkg lock, held by \${holders}"
            reported=yes
        fi
        sleep 5
    done
}

# Runs "apt-get ARGS", up to APT_ATTEMPTS times with a pause between tries. With --update as the
# first argument, each try runs "apt-get update" first. Callers run this in an "if" or "||"
# context, where errexit is off, so each status is checked.
run_apt_get() {
    local attempt update=no
    if [[ "$1" == --update ]]; then
        update=yes
        shift
    fi
    for ((attempt = 1; attempt <= APT_ATTEMPTS; attempt++)); do
        if ! wait_for_apt_locks; then
            return 1
        fi
        if [[ "$update" == no ]] || apt-get "\${APT_OPTIONS[@]}" update; then
            if apt-get "\${APT_OPTIONS[@]}" "$@"; then
                return 0
            fi
        fi
        if ((attempt < APT_ATTEMPTS)); then
            echo "\${STEP}: apt-get $* failed (attempt \${attempt} of \${APT_ATTEMPTS}); retrying in \${APT_RETRY_PAUSE_SECONDS} s"
            sleep "$APT_RETRY_PAUSE_SECONDS"
        fi
    done
    echo "\${STEP}: apt-get $* failed \${APT_ATTEMPTS} times" >&2
    return 1
}
`;

/** Returns the constants that APT_FUNCTIONS reads: the apt lock timeout and the apt-get retries. */
export function aptConstants(): string[] {
    return [
        bashConstant("APT_LOCK_TIMEOUT_SECONDS", APT_LOCK_TIMEOUT_SECONDS),
        bashConstant("APT_ATTEMPTS", 3),
        bashConstant("APT_RETRY_PAUSE_SECONDS", 15),
    ];
}
