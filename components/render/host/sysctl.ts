// Renders the "sysctl" step: a file in /etc/sysctl.d with the kernel settings that Jitsi
// Videobridge needs, applied to the running kernel where the host allows it.
import { HOST_STATE_DIR, bash, bashConstant, renderScript, stateFile, type HostScript } from "./script";
import { STATE_FUNCTIONS } from "./state";

/** Kernel settings for Jitsi Videobridge, which receives all media over one UDP port. */
export const SYSCTL_FILE = "/etc/sysctl.d/90-jitsi-videobridge.conf";
export const SYSCTL_SETTINGS: readonly (readonly [key: string, value: string])[] = [
    ["net.core.rmem_max", "10485760"],
    ["net.core.netdev_max_backlog", "100000"],
];

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

export function renderSysctlScript(): HostScript {
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
