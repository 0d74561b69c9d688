// Renders the bash scripts that prepare a Debian host for the Docker install mode: packages,
// kernel settings, firewall and configuration directories. Each script runs as root through
// `bash -c`, over SSH or locally, and records what it changed under HOST_STATE_DIR so that its
// delete script undoes exactly that.
import { JITSI_UID, configSubdirs } from "./layout";

/** One host setup step: a pair of scripts that a command resource runs. */
export interface HostScript {
    /** Step name, used in resource names: e.g. "packages", "sysctl", "firewall", "directories", "hosts". */
    readonly name: string;
    /** Complete bash script run as root on create and on update. */
    readonly create: string;
    /** Complete bash script run as root on delete; undoes what create made and nothing else. */
    readonly delete: string;
}

/** Settings of the Docker-mode host setup. */
export interface DockerHostOptions {
    readonly sshPort: number;
    readonly httpPort: number;
    readonly httpsPort: number;
    readonly jvbPort: number;
    /** Absolute path of the host directory that contains the containers' bind-mounted configuration. */
    readonly configDir: string;
    /** Whether the host firewall (ufw) is managed. */
    readonly firewall: boolean;
}

/** Directory on the host where the create scripts record what they changed. */
export const HOST_STATE_DIR = "/var/lib/jitsi-meet-host";

/** Kernel settings for Jitsi Videobridge, which receives all media over one UDP port. */
export const SYSCTL_FILE = "/etc/sysctl.d/90-jitsi-videobridge.conf";
export const SYSCTL_SETTINGS: readonly (readonly [key: string, value: string])[] = [
    ["net.core.rmem_max", "10485760"],
    ["net.core.netdev_max_backlog", "100000"],
];

/** Mode of the configuration directories; the containers run as JITSI_UID, so others need no access. */
export const CONFIG_DIR_MODE = "750";

/** Seconds that the packages step waits for another apt or dpkg process to release its lock. */
export const APT_LOCK_TIMEOUT_SECONDS = 300;

/**
 * Returns the scripts of the Docker-mode host setup in the order they must run. The firewall
 * step is left out when `options.firewall` is false.
 */
export function renderDockerHostScripts(options: DockerHostOptions): HostScript[] {
    checkDockerHostOptions(options);
    const scripts = [
        renderPackagesScript(options.firewall),
        renderSysctlScript(),
    ];
    if (options.firewall) {
        scripts.push(renderFirewallScript(options));
    }
    scripts.push(renderDirectoriesScript(normalizeDirectory(options.configDir)));
    return scripts;
}

/** Quotes `value` as one bash word. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Renders a bash `readonly` assignment of a string or of an array of strings. */
export function bashConstant(name: string, value: string | number | readonly string[]): string {
    if (typeof value === "number") {
        return `readonly ${name}=${value}`;
    }
    if (typeof value === "string") {
        return `readonly ${name}=${shellQuote(value)}`;
    }
    return `readonly ${name}=(${value.map(shellQuote).join(" ")})`;
}

/**
 * Returns bash source written in a template literal as it reads. The tag uses the raw text, so
 * backslashes stay as written, and `\${` stands for bash's `${`. It accepts no substitutions:
 * values reach a script only through bashConstant.
 */
export function bash(source: TemplateStringsArray): string {
    return source.raw[0].replace(/\\\$\{/g, "${").replace(/^\n/, "");
}

/** Parts of one rendered script. */
export interface ScriptParts {
    readonly step: string;
    readonly action: "create" | "delete";
    /** Advice on what to check, printed with the failing line when the script fails. */
    readonly failureHint: string;
    /** `readonly` assignments from bashConstant. */
    readonly constants: readonly string[];
    /** Function definitions and the main commands. */
    readonly body: readonly string[];
}

/**
 * Assembles a complete script: shebang, strict mode, the ERR trap that names the step, the
 * constants and the body, and a last line that reports whether anything changed.
 */
export function renderScript(parts: ScriptParts): string {
    const header = [
        "#!/usr/bin/env bash",
        `# Jitsi Meet host setup, step "${parts.step}", ${parts.action} script. Runs as root;`,
        "# a second run changes nothing and prints so.",
        "set -euo pipefail",
    ].join("\n");
    const constants = [
        bashConstant("STEP", parts.step),
        bashConstant("ACTION", parts.action),
        bashConstant("FAILURE_HINT", parts.failureHint),
        ...parts.constants,
    ].join("\n");
    return [header, constants, COMMON_FUNCTIONS, ...parts.body, "report_summary"]
        .map((part) => part.replace(/\n+$/, ""))
        .join("\n\n") + "\n";
}

const COMMON_FUNCTIONS = bash`
# errtrace makes functions and subshells inherit the ERR trap, and inherit_errexit makes command
# substitutions stop at their first failing command, as the main shell does.
set -o errtrace
shopt -s inherit_errexit
export LC_ALL=C
export DEBIAN_FRONTEND=noninteractive
umask 022

changes=0

# Subshells inherit the ERR trap too, so only the main shell prints: each failure prints once.
report_failure() {
    local status="$1" line="$2"
    if [[ "$BASH_SUBSHELL" -eq 0 ]]; then
        echo "jitsi-meet host setup: step \${STEP} (\${ACTION}) failed with exit status \${status} at line \${line} of its script. \${FAILURE_HINT}" >&2
    fi
}
trap 'report_failure "$?" "$LINENO"' ERR

fail() {
    echo "jitsi-meet host setup: step \${STEP} (\${ACTION}) failed: $*" >&2
    exit 1
}

# Prints one change and counts it for the summary line.
record_change() {
    changes=$((changes + 1))
    echo "\${STEP}: $*"
}

report_summary() {
    if [[ "$changes" -eq 0 ]]; then
        echo "\${STEP}: nothing changed"
    else
        echo "\${STEP}: \${changes} change(s) made"
    fi
}

# Writes $3 to file $1 with mode $2 through a temporary file in the same directory and a rename,
# so that readers see either the old or the new content.
write_file() {
    local path="$1" mode="$2" content="$3" temp
    temp="$(mktemp "$(dirname -- "$path")/.$(basename -- "$path").XXXXXX")"
    if ! { printf '%s' "$content" >"$temp" && chmod "$mode" "$temp" && mv -f -- "$temp" "$path"; }; then
        rm -f -- "$temp"
        return 1
    fi
}
`;

// Functions for the state files under HOST_STATE_DIR, one line per recorded item.
const STATE_FUNCTIONS = bash`
# Appends line $2 to state file $1 unless the file already contains it.
add_state_line() {
    local file="$1" line="$2" content=""
    if [[ -f "$file" ]]; then
        if grep -qxF -- "$line" "$file"; then
            return 0
        fi
        content="$(cat -- "$file")"
    fi
    if [[ -n "$content" ]]; then
        content+=$'\n'
    fi
    mkdir -p -- "$STATE_DIR"
    write_file "$file" 0644 "\${content}\${line}"$'\n'
}

# Removes state file $1, and the state directory once it is empty.
remove_state_file() {
    rm -f -- "$1"
    if [[ -d "$STATE_DIR" ]]; then
        rmdir --ignore-fail-on-non-empty -- "$STATE_DIR"
    fi
}
`;

function stateFile(name: string): string {
    return `${HOST_STATE_DIR}/${name}`;
}

function checkDockerHostOptions(options: DockerHostOptions): void {
    for (const key of ["sshPort", "httpPort", "httpsPort", "jvbPort"] as const) {
        const port = options[key];
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            throw new Error(`renderDockerHostScripts: invalid ${key} ${port}; expected a whole number from 1 to 65535`);
        }
    }
    normalizeDirectory(options.configDir);
}

/** Returns `directory` without a trailing slash, or throws when it is not a plain absolute path. */
function normalizeDirectory(directory: string): string {
    const trimmed = directory.length > 1 ? directory.replace(/\/+$/, "") : directory;
    const components = trimmed.split("/").slice(1);
    const valid = trimmed.startsWith("/") && trimmed !== "/" &&
        components.every((part) => part !== "" && part !== "." && part !== "..") &&
        !/[\s'"$`\\\x00-\x1f\x7f]/.test(trimmed);
    if (!valid) {
        throw new Error(
            `renderDockerHostScripts: invalid configDir ${JSON.stringify(directory)}; expected an absolute path ` +
            "other than / without spaces, quotes, empty, . or .. components, such as /opt/jitsi-meet",
        );
    }
    return trimmed;
}

// --- packages ---------------------------------------------------------------------------------

/**
 * Returns the packages that the steps need. docker.io is installed without its Recommends,
 * which would add needrestart (it restarts services after upgrades) and git. Two of them are
 * named here instead. Docker before 23.0 (Debian 12 ships 20.10) fails to start containers
 * on a kernel with AppArmor enabled, as Debian's is, when apparmor_parser is missing, so
 * apparmor is installed. ca-certificates lets Docker pull images over TLS.
 */
function requiredPackages(firewall: boolean): string[] {
    const packages = ["docker.io", "apparmor", "ca-certificates", "procps"];
    if (firewall) {
        packages.push("ufw");
    }
    return packages;
}

const APT_FUNCTIONS = bash`
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

const PACKAGES_CREATE_BODY = bash`
# Merges the package names in $1 (one per line) into the state file.
record_installed_packages() {
    local recorded=""
    if [[ -f "$STATE_FILE" ]]; then
        recorded="$(cat -- "$STATE_FILE")"
    fi
    mkdir -p -- "$STATE_DIR"
    write_file "$STATE_FILE" 0644 "$(printf '%s\n%s\n' "$recorded" "$1" | sed '/^$/d' | sort -u)"$'\n'
}

missing=()
for package in "\${REQUIRED_PACKAGES[@]}"; do
    if ! is_installed "$package"; then
        missing+=("$package")
    fi
done

if ((\${#missing[@]} == 0)); then
    echo "\${STEP}: \${REQUIRED_PACKAGES[*]} already installed"
else
    echo "\${STEP}: installing \${missing[*]}"
    before="$(list_installed_packages)"
    install_status=0
    run_apt_get --update install -y --no-install-recommends "\${missing[@]}" || install_status=$?
    # Record what was installed even after a failure, so that delete can remove a partial install.
    after="$(list_installed_packages)"
    installed="$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
    if [[ -n "$installed" ]]; then
        record_installed_packages "$installed"
        record_change "installed $(printf '%s\n' "$installed" | wc -l) package(s) for \${missing[*]}: $(printf '%s\n' "$installed" | paste -sd ' ')"
    fi
    if ((install_status != 0)); then
        fail "could not install \${missing[*]}. \${FAILURE_HINT}"
    fi
fi

# Debian's docker.io enables and starts docker.service when it is installed; this also starts it
# after an administrator stopped or disabled it.
if [[ -d /run/systemd/system ]]; then
    if ! systemctl is-enabled --quiet docker.service; then
        systemctl enable docker.service
        record_change "enabled docker.service"
    fi
    if ! systemctl is-active --quiet docker.service; then
        systemctl start docker.service
        record_change "started docker.service"
    fi
else
    echo "\${STEP}: systemd is not running (as in a container or chroot), so docker.service was not enabled or started"
fi
`;

/*
 * Delete removes the packages that create installed, dependencies included, and nothing else.
 * It uses "apt-get remove", not purge, so configuration files and Docker's data under
 * /var/lib/docker (images, volumes) stay. Packages that were installed before create ran are
 * never in the record. A recorded package stays when removing it would also remove a package
 * outside the record, such as one installed later that depends on it. apt-get's own dry run
 * decides that, so alternatives ("a | b") count as apt counts them.
 */
const PACKAGES_DELETE_BODY = bash`
# Prints the packages that "apt-get remove" of the given packages would remove.
simulate_removal() {
    apt-get -s remove "$@" | awk '$1 == "Remv" { print $2 }' | sed "s/:\${NATIVE_ARCHITECTURE}\$//" | sort -u
}

# Prints the packages outside the candidates that removing the given packages would remove.
list_extra_removals() {
    comm -23 <(simulate_removal "$@") <(printf '%s\n' "\${candidates[@]}" | sort -u)
}

if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so no package was installed by the create script"
    report_summary
    exit 0
fi

candidates=()
while IFS= read -r package; do
    if [[ -n "$package" ]] && is_installed "$package"; then
        candidates+=("$package")
    fi
done <"$STATE_FILE"

# Usually nothing outside the record depends on it and one dry run suffices. Otherwise each
# candidate whose removal takes another package with it is kept, until the rest can go alone.
while ((\${#candidates[@]} > 0)); do
    extras="$(list_extra_removals "\${candidates[@]}")"
    if [[ -z "$extras" ]]; then
        break
    fi
    remaining=()
    for package in "\${candidates[@]}"; do
        package_extras="$(list_extra_removals "$package")"
        if [[ -n "$package_extras" ]]; then
            echo "\${STEP}: keeping \${package}, because removing it would also remove $(paste -sd ' ' <<<"$package_extras")"
        else
            remaining+=("$package")
        fi
    done
    if ((\${#remaining[@]} == \${#candidates[@]})); then
        echo "\${STEP}: warning: not removing any package, because apt-get would also remove $(paste -sd ' ' <<<"$extras"), which the create script did not install. The record stays in \${STATE_FILE}." >&2
        report_summary
        exit 0
    fi
    candidates=("\${remaining[@]}")
done

if ((\${#candidates[@]} > 0)); then
    if ! run_apt_get remove -y "\${candidates[@]}"; then
        fail "could not remove \${candidates[*]}. \${FAILURE_HINT}"
    fi
    record_change "removed \${#candidates[@]} package(s) that the create script installed: \${candidates[*]}"
fi

remove_state_file "$STATE_FILE"
`;

function renderPackagesScript(firewall: boolean): HostScript {
    const failureHint =
        "Check the apt-get output above, network access to the Debian mirror in /etc/apt/sources.list.d/, " +
        "free disk space, and /var/log/apt/term.log.";
    const constants = [
        bashConstant("STATE_DIR", HOST_STATE_DIR),
        bashConstant("STATE_FILE", stateFile("packages.installed")),
        bashConstant("APT_LOCK_TIMEOUT_SECONDS", APT_LOCK_TIMEOUT_SECONDS),
        bashConstant("APT_ATTEMPTS", 3),
        bashConstant("APT_RETRY_PAUSE_SECONDS", 15),
    ];
    return {
        name: "packages",
        create: renderScript({
            step: "packages",
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("REQUIRED_PACKAGES", requiredPackages(firewall))],
            body: [STATE_FUNCTIONS, APT_FUNCTIONS, PACKAGES_CREATE_BODY],
        }),
        delete: renderScript({
            step: "packages",
            action: "delete",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, APT_FUNCTIONS, PACKAGES_DELETE_BODY],
        }),
    };
}

// --- sysctl -----------------------------------------------------------------------------------

function sysctlFileContent(): string {
    return [
        "# Managed by the jitsi-meet Pulumi program (host setup step \"sysctl\"); it is replaced on each run.",
        "# Jitsi Videobridge receives all media on one UDP port: a larger socket receive buffer",
        "# and input queue keep bursts of packets from being dropped.",
        ...SYSCTL_SETTINGS.map(([key, value]) => `${key}=${value}`),
        "",
    ].join("\n");
}

const SYSCTL_FUNCTIONS = bash`
# Prints why the running kernel's settings cannot be changed here, or nothing when they can.
# A container sees /proc/sys read-only, and some net.core keys exist only in the host's
# network namespace.
find_sysctl_blocker() {
    local entry key path
    for entry in "\${SETTINGS[@]}"; do
        key="\${entry%%=*}"
        path="/proc/sys/\${key//.//}"
        if [[ ! -e "$path" ]]; then
            echo "\${path} does not exist in this network namespace"
            return 0
        fi
        if [[ ! -w "$path" ]]; then
            echo "\${path} is read-only"
            return 0
        fi
    done
}

# Prints KEY=VALUE for each setting as the running kernel has it.
read_current_settings() {
    local entry key
    for entry in "\${SETTINGS[@]}"; do
        key="\${entry%%=*}"
        echo "\${key}=$(tr -s ' \t' ' ' <"/proc/sys/\${key//.//}")"
    done
}
`;

const SYSCTL_CREATE_BODY = bash`
if [[ -f "$CONFIG_FILE" ]] && cmp -s -- "$CONFIG_FILE" <(printf '%s' "$CONFIG_CONTENT"); then
    echo "\${STEP}: \${CONFIG_FILE} is up to date"
else
    write_file "$CONFIG_FILE" 0644 "$CONFIG_CONTENT"
    record_change "wrote \${CONFIG_FILE}"
fi

blocker="$(find_sysctl_blocker)"
if [[ -n "$blocker" ]]; then
    echo "\${STEP}: not applying the settings to the running kernel, because \${blocker} (as in a container); the host applies \${CONFIG_FILE} when it boots"
else
    current="$(read_current_settings)"
    if [[ "$current" == "$(printf '%s\n' "\${SETTINGS[@]}")" ]]; then
        echo "\${STEP}: the running kernel already has these settings"
    else
        command -v sysctl >/dev/null || fail "sysctl not found; install procps (the packages step does)"
        # Keep the values from before the first change, so that delete can restore them.
        if [[ ! -f "$STATE_FILE" ]]; then
            mkdir -p -- "$STATE_DIR"
            write_file "$STATE_FILE" 0644 "$current"$'\n'
        fi
        # NOTE: the container tests never run this branch, because a container's network
        # namespace lacks net.core.netdev_max_backlog and its /proc/sys is read-only.
        sysctl -p "$CONFIG_FILE"
        record_change "applied \${CONFIG_FILE} to the running kernel"
    fi
fi
`;

const SYSCTL_DELETE_BODY = bash`
if [[ -f "$CONFIG_FILE" ]]; then
    rm -f -- "$CONFIG_FILE"
    record_change "removed \${CONFIG_FILE}"
fi

# Restore the running kernel's values from before create, unless someone changed them since.
if [[ -f "$STATE_FILE" ]]; then
    blocker="$(find_sysctl_blocker)"
    if [[ -n "$blocker" ]]; then
        echo "\${STEP}: not restoring the previous kernel settings, because \${blocker}"
    elif [[ "$(read_current_settings)" != "$(printf '%s\n' "\${SETTINGS[@]}")" ]]; then
        echo "\${STEP}: the running kernel's settings changed since create, so they are left as they are"
    else
        while IFS= read -r setting; do
            if [[ -n "$setting" ]]; then
                sysctl -w "$setting"
            fi
        done <"$STATE_FILE"
        record_change "restored the running kernel's previous settings: $(paste -sd ' ' "$STATE_FILE")"
    fi
    remove_state_file "$STATE_FILE"
fi
`;

function renderSysctlScript(): HostScript {
    const failureHint = "Check that /etc/sysctl.d exists and is writable, and that procps (sysctl) is installed.";
    const constants = [
        bashConstant("STATE_DIR", HOST_STATE_DIR),
        bashConstant("STATE_FILE", stateFile("sysctl.previous")),
        bashConstant("CONFIG_FILE", SYSCTL_FILE),
        bashConstant("SETTINGS", SYSCTL_SETTINGS.map(([key, value]) => `${key}=${value}`)),
    ];
    return {
        name: "sysctl",
        create: renderScript({
            step: "sysctl",
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("CONFIG_CONTENT", sysctlFileContent())],
            body: [STATE_FUNCTIONS, SYSCTL_FUNCTIONS, SYSCTL_CREATE_BODY],
        }),
        delete: renderScript({
            step: "sysctl",
            action: "delete",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, SYSCTL_FUNCTIONS, SYSCTL_DELETE_BODY],
        }),
    };
}

// --- firewall ---------------------------------------------------------------------------------

/**
 * ufw allow rules as "ROLE PORT/PROTOCOL", SSH first so that enabling ufw keeps the session.
 *
 * NOTE: Docker publishes container ports through its own iptables rules in the FORWARD chain,
 * which come before ufw's, so ufw neither blocks nor needs to allow the ports of the Docker
 * install mode. Its rules matter for services on the host itself, SSH among them.
 */
function firewallRules(options: DockerHostOptions): string[] {
    const rules = [
        `ssh ${options.sshPort}/tcp`,
        `http ${options.httpPort}/tcp`,
        `https ${options.httpsPort}/tcp`,
        `jvb ${options.jvbPort}/udp`,
    ];
    // Two roles on one port need one rule; the first role names it.
    const specs = rules.map((rule) => rule.split(" ")[1]);
    return rules.filter((_, index) => specs.indexOf(specs[index]) === index);
}

const FIREWALL_FUNCTIONS = bash`
ufw_is_active() {
    local status
    status="$(ufw status)"
    [[ "$status" == "Status: active"* ]]
}

# Succeeds when ufw has an allow rule for PORT/PROTOCOL $1, with or without a comment.
allow_rule_exists() {
    ufw show added | awk -v rule="ufw allow $1" '$0 == rule || index($0, rule " comment ") == 1 { found = 1 } END { exit !found }'
}

# Prints the value of the state line that starts with key $1.
read_state_value() {
    awk -v key="$1" '$1 == key { print $2; exit }' "$STATE_FILE"
}

# Prints "ROLE SPEC" for each rule that the state file records as added by create.
read_recorded_rules() {
    awk '$1 == "rule" { print $2, $3 }' "$STATE_FILE"
}

is_desired_rule() {
    local rule
    for rule in "\${RULES[@]}"; do
        if [[ "$rule" == "$1" ]]; then
            return 0
        fi
    done
    return 1
}

remove_state_line() {
    local content
    content="$(grep -vxF -- "$1" "$STATE_FILE" || true)"
    write_file "$STATE_FILE" 0644 "\${content:+\${content}$'\n'}"
}

# Maps DEFAULT_INPUT_POLICY in /etc/default/ufw to the word that "ufw default" takes.
read_default_incoming_policy() {
    local policy
    policy="$(sed -n 's/^DEFAULT_INPUT_POLICY="\{0,1\}\([A-Z]*\)"\{0,1\}$/\1/p' /etc/default/ufw)"
    case "$policy" in
        ACCEPT) echo allow ;;
        REJECT) echo reject ;;
        *) echo deny ;;
    esac
}
`;

const FIREWALL_CREATE_BODY = bash`
command -v ufw >/dev/null || fail "ufw not found; the packages step installs it, so run that step first"

# ufw changes netfilter rules, which needs the NET_ADMIN capability. ip6tables is checked only
# where the kernel has IPv6.
tools=(iptables)
if [[ -e /proc/net/if_inet6 ]]; then
    tools+=(ip6tables)
fi
for tool in "\${tools[@]}"; do
    if ! error="$("$tool" -w 10 -S INPUT 2>&1 >/dev/null)"; then
        fail "ufw cannot change the firewall here: '\${tool} -S INPUT' failed: \${error}. A container needs the NET_ADMIN capability (docker run --cap-add NET_ADMIN); otherwise set the stack's firewall option to false."
    fi
done

# Record ufw's state before the first change; later runs keep that record.
if [[ ! -f "$STATE_FILE" ]]; then
    if ufw_is_active; then
        add_state_line "$STATE_FILE" "ufw-was-active yes"
    else
        add_state_line "$STATE_FILE" "ufw-was-active no"
    fi
fi

# Each rule is recorded before ufw adds it, so that an interrupted run leaves no unrecorded rule.
for rule in "\${RULES[@]}"; do
    role="\${rule%% *}"
    spec="\${rule#* }"
    if allow_rule_exists "$spec"; then
        if ! grep -qxF -- "rule \${role} \${spec}" "$STATE_FILE"; then
            echo "\${STEP}: an allow rule for \${spec} exists already; it is left as it is"
        fi
        continue
    fi
    add_state_line "$STATE_FILE" "rule \${role} \${spec}"
    ufw allow "$spec" comment "jitsi-meet \${role}"
    record_change "allowed \${spec} (\${role})"
done

# Remove the rules that an earlier run added for ports that the stack no longer uses. The list is
# read before the loop because the loop rewrites the state file.
mapfile -t recorded_rules < <(read_recorded_rules)
for rule in "\${recorded_rules[@]}"; do
    if is_desired_rule "$rule"; then
        continue
    fi
    spec="\${rule#* }"
    if allow_rule_exists "$spec"; then
        ufw delete allow "$spec"
        record_change "removed the allow rule for \${spec} (\${rule%% *}), which the stack no longer uses"
    fi
    remove_state_line "rule \${rule}"
done

policy="$(read_default_incoming_policy)"
if [[ "$policy" != deny ]]; then
    if [[ -z "$(read_state_value default-incoming-before)" ]]; then
        add_state_line "$STATE_FILE" "default-incoming-before \${policy}"
    fi
    ufw default deny incoming
    record_change "set the default incoming policy to deny (was \${policy})"
fi

if ufw_is_active; then
    echo "\${STEP}: ufw is active"
else
    ufw --force enable
    record_change "enabled ufw"
fi
`;

/*
 * Delete disables ufw only when create enabled it. When ufw stays active, the SSH rule stays too,
 * so that the host stays reachable; the other rules that create added are removed.
 */
const FIREWALL_DELETE_BODY = bash`
if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so the create script changed nothing to undo"
    report_summary
    exit 0
fi
if ! command -v ufw >/dev/null; then
    echo "\${STEP}: ufw is not installed any more, so its rules are gone"
    remove_state_file "$STATE_FILE"
    report_summary
    exit 0
fi

if [[ "$(read_state_value ufw-was-active)" == no ]] && ufw_is_active; then
    ufw disable
    record_change "disabled ufw, which was inactive before the create script enabled it"
fi

stays_active=no
if ufw_is_active; then
    stays_active=yes
fi

while read -r role spec; do
    if [[ "$role" == ssh && "$stays_active" == yes ]]; then
        echo "\${STEP}: keeping the allow rule for \${spec} (SSH), because ufw stays active"
        continue
    fi
    if allow_rule_exists "$spec"; then
        ufw delete allow "$spec"
        record_change "removed the allow rule for \${spec} (\${role})"
    fi
done < <(read_recorded_rules | tac)

previous_policy="$(read_state_value default-incoming-before)"
if [[ -n "$previous_policy" && "$(read_default_incoming_policy)" == deny ]]; then
    ufw default "$previous_policy" incoming
    record_change "restored the default incoming policy \${previous_policy}"
fi

remove_state_file "$STATE_FILE"
`;

function renderFirewallScript(options: DockerHostOptions): HostScript {
    const failureHint =
        "Check the ufw output above and 'ufw status verbose'; ufw needs the NET_ADMIN capability and the iptables package.";
    const constants = [
        bashConstant("STATE_DIR", HOST_STATE_DIR),
        bashConstant("STATE_FILE", stateFile("firewall.state")),
        bashConstant("RULES", firewallRules(options)),
    ];
    return {
        name: "firewall",
        create: renderScript({
            step: "firewall",
            action: "create",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, FIREWALL_FUNCTIONS, FIREWALL_CREATE_BODY],
        }),
        delete: renderScript({
            step: "firewall",
            action: "delete",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, FIREWALL_FUNCTIONS, FIREWALL_DELETE_BODY],
        }),
    };
}

// --- directories ------------------------------------------------------------------------------

/** Returns the missing-parent candidates of `directory`, outermost first, without "/". */
function parentDirectories(directory: string): string[] {
    const parts = directory.split("/").slice(1, -1);
    return parts.map((_, index) => "/" + parts.slice(0, index + 1).join("/"));
}

/** Returns configDir and every directory below it that the containers mount, parents first. */
function ownedDirectories(configDir: string): string[] {
    const directories = [configDir];
    for (const subdir of configSubdirs()) {
        const parts = subdir.split("/");
        for (let depth = 1; depth <= parts.length; depth++) {
            const directory = `${configDir}/${parts.slice(0, depth).join("/")}`;
            if (!directories.includes(directory)) {
                directories.push(directory);
            }
        }
    }
    return directories;
}

const DIRECTORIES_FUNCTIONS = bash`
# Prints "UID:GID:MODE" of directory $1, following a symbolic link.
read_owner_and_mode() {
    stat -L -c '%u:%g:%a' -- "$1"
}

# Succeeds when directory $1 has OWNER and the permission bits MODE; setuid, setgid and sticky
# bits are not compared, so that an administrator may set them.
has_owner_and_mode() {
    local current
    current="$(read_owner_and_mode "$1")"
    [[ "\${current%:*}" == "$OWNER" ]] && (( (8#\${current##*:} & 8#777) == 8#\${MODE} ))
}

state_has_entry() {
    [[ -f "$STATE_FILE" ]] && awk -v kind="$1" -v path="$2" '$1 == kind && $2 == path { found = 1 } END { exit !found }' "$STATE_FILE"
}
`;

const DIRECTORIES_CREATE_BODY = bash`
# Creates directory $1, which must not exist yet, and records that create made it.
create_directory() {
    if [[ -e "$1" || -L "$1" ]]; then
        fail "$1 exists but is not a directory; move it away or choose another configDir"
    fi
    add_state_line "$STATE_FILE" "created $1"
    mkdir -- "$1"
}

for directory in "\${PARENT_DIRECTORIES[@]}"; do
    if [[ ! -d "$directory" ]]; then
        create_directory "$directory"
        record_change "created \${directory}"
    fi
done

for directory in "\${OWNED_DIRECTORIES[@]}"; do
    if [[ ! -d "$directory" ]]; then
        create_directory "$directory"
        chown -- "$OWNER" "$directory"
        chmod -- "u=rwx,g=rx,o=" "$directory"
        record_change "created \${directory} with owner \${OWNER} and mode \${MODE}"
    elif ! has_owner_and_mode "$directory"; then
        previous="$(read_owner_and_mode "$directory")"
        # Keep the owner and mode of a directory that existed before create, for delete to restore.
        if ! state_has_entry created "$directory" && ! state_has_entry changed "$directory"; then
            add_state_line "$STATE_FILE" "changed \${directory} \${previous}"
        fi
        chown -- "$OWNER" "$directory"
        chmod -- "u=rwx,g=rx,o=" "$directory"
        record_change "set owner \${OWNER} and mode \${MODE} on \${directory} (was \${previous})"
    fi
done
`;

/*
 * Delete removes only directories that create made, and only when they are empty: files in them
 * are the services' data (prosody's accounts, generated configuration) or the user's, and stay.
 * A directory that existed before gets back its owner and mode, unless they changed since.
 */
const DIRECTORIES_DELETE_BODY = bash`
if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so the create script made no directory"
    report_summary
    exit 0
fi

mapfile -t entries <"$STATE_FILE"
kept=()
# Children were recorded after their parents, so walking backwards empties a parent first.
for ((index = \${#entries[@]} - 1; index >= 0; index--)); do
    read -r kind directory previous <<<"\${entries[index]}"
    if [[ ! -d "$directory" ]]; then
        continue
    fi
    case "$kind" in
        created)
            if [[ -n "$(find "$directory" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then
                echo "\${STEP}: keeping \${directory}, because it is not empty"
                kept=("\${entries[index]}" "\${kept[@]}")
            else
                rmdir -- "$directory"
                record_change "removed the empty directory \${directory}"
            fi
            ;;
        changed)
            if has_owner_and_mode "$directory"; then
                chown -- "\${previous%:*}" "$directory"
                chmod -- "\${previous##*:}" "$directory"
                record_change "restored owner and mode \${previous} on \${directory}"
            else
                echo "\${STEP}: leaving \${directory} as it is, because its owner or mode changed since create"
            fi
            ;;
    esac
done

# Directories kept because they hold files stay recorded, so that a later delete removes them
# once they are empty.
if ((\${#kept[@]} > 0)); then
    write_file "$STATE_FILE" 0644 "$(printf '%s\n' "\${kept[@]}")"$'\n'
else
    remove_state_file "$STATE_FILE"
fi
`;

function renderDirectoriesScript(configDir: string): HostScript {
    const failureHint = `Check that the parent of ${configDir} is writable and not on a read-only file system.`;
    const constants = [
        bashConstant("STATE_DIR", HOST_STATE_DIR),
        bashConstant("STATE_FILE", stateFile("directories.state")),
        bashConstant("OWNER", `${JITSI_UID}:${JITSI_UID}`),
        bashConstant("MODE", CONFIG_DIR_MODE),
    ];
    return {
        name: "directories",
        create: renderScript({
            step: "directories",
            action: "create",
            failureHint,
            constants: [
                ...constants,
                bashConstant("PARENT_DIRECTORIES", parentDirectories(configDir)),
                bashConstant("OWNED_DIRECTORIES", ownedDirectories(configDir)),
            ],
            body: [STATE_FUNCTIONS, DIRECTORIES_FUNCTIONS, DIRECTORIES_CREATE_BODY],
        }),
        delete: renderScript({
            step: "directories",
            action: "delete",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, DIRECTORIES_FUNCTIONS, DIRECTORIES_DELETE_BODY],
        }),
    };
}
