// Renders the "directories" step: the host directories that the containers bind-mount their
// configuration from, owned by the containers' user, and the ACME webroot, owned by root.
import { ACME_WEBROOT_SUBDIR, JITSI_UID, configSubdirs } from "../layout";
import { HOST_STATE_DIR, bash, bashConstant, renderScript, stateFile, type HostScript } from "./script";
import { STATE_FUNCTIONS } from "./state";

/** Mode of the configuration directories; the containers run as JITSI_UID, so others need no access. */
export const CONFIG_DIR_MODE = "750";

/**
 * Owner and mode of the ACME webroot and of the directories between it and configDir that the
 * step creates. An ACME client on the host writes challenge files into it as root, and the
 * proxy's nginx workers, which run as a non-root user, read them through a read-only bind mount.
 */
export const ACME_WEBROOT_OWNER = "0:0";
export const ACME_WEBROOT_MODE = "755";

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

/** Returns the directories between configDir and the ACME webroot, parents first. */
function webrootParentDirectories(configDir: string): string[] {
    const parts = ACME_WEBROOT_SUBDIR.split("/").slice(0, -1);
    return parts.map((_, index) => `${configDir}/${parts.slice(0, index + 1).join("/")}`);
}

const DIRECTORIES_FUNCTIONS = bash`
# Prints "UID:GID:MODE" of directory $1, following a symbolic link.
read_owner_and_mode() {
    stat -L -c '%u:%g:%a' -- "$1"
}

# Succeeds when directory $1 has owner $2 ("UID:GID") and the permission bits $3 (octal);
# setuid, setgid and sticky bits are not compared, so that an administrator may set them.
has_owner_and_mode() {
    local current
    current="$(read_owner_and_mode "$1")"
    [[ "\${current%:*}" == "$2" ]] && (( (8#\${current##*:} & 8#777) == 8#$3 ))
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

# Creates directory $1 with owner $2 and mode $3 unless it exists.
create_missing_directory() {
    if [[ ! -d "$1" ]]; then
        create_directory "$1"
        chown -- "$2" "$1"
        chmod -- "$3" "$1"
        record_change "created $1 with owner $2 and mode $3"
    fi
}

# Creates directory $1 with owner $2 and mode $3, or gives an existing one that owner and mode.
# The state file keeps the owner and mode of a directory that existed before create, with the
# ones set, for delete to restore. A numeric chmod keeps a directory's setuid and setgid bits.
ensure_directory() {
    local previous
    if [[ ! -d "$1" ]]; then
        create_missing_directory "$1" "$2" "$3"
    elif ! has_owner_and_mode "$1" "$2" "$3"; then
        previous="$(read_owner_and_mode "$1")"
        if ! state_has_entry created "$1" && ! state_has_entry changed "$1"; then
            add_state_line "$STATE_FILE" "changed $1 \${previous} $2:$3"
        fi
        chown -- "$2" "$1"
        chmod -- "$3" "$1"
        record_change "set owner $2 and mode $3 on $1 (was \${previous})"
    fi
}

for directory in "\${PARENT_DIRECTORIES[@]}"; do
    if [[ ! -d "$directory" ]]; then
        create_directory "$directory"
        record_change "created \${directory}"
    fi
done

for directory in "\${OWNED_DIRECTORIES[@]}"; do
    ensure_directory "$directory" "$OWNER" "$MODE"
done

# Directories above the webroot get the webroot's owner and mode only when create makes them.
for directory in "\${WEBROOT_PARENT_DIRECTORIES[@]}"; do
    create_missing_directory "$directory" "$WEBROOT_OWNER" "$WEBROOT_MODE"
done
ensure_directory "$WEBROOT_DIRECTORY" "$WEBROOT_OWNER" "$WEBROOT_MODE"
`;

/*
 * Delete removes only directories that create made, and only when they are empty: files in them
 * are the services' data (prosody's accounts, generated configuration, ACME challenges) or the
 * user's, and stay. A directory that existed before gets back its owner and mode, unless they
 * changed since. A "changed" line has the owner and mode that create set as its last field, or,
 * as earlier versions of create wrote it, no such field, which stands for OWNER and MODE.
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
    read -r kind directory previous applied <<<"\${entries[index]}"
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
            applied="\${applied:-\${OWNER}:\${MODE}}"
            if has_owner_and_mode "$directory" "\${applied%:*}" "\${applied##*:}"; then
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

/** Renders the step for `configDir`, an absolute path without a trailing slash, as normalizeDirectory in hostScripts.ts returns it. */
export function renderDirectoriesScript(configDir: string): HostScript {
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
                bashConstant("WEBROOT_PARENT_DIRECTORIES", webrootParentDirectories(configDir)),
                bashConstant("WEBROOT_DIRECTORY", `${configDir}/${ACME_WEBROOT_SUBDIR}`),
                bashConstant("WEBROOT_OWNER", ACME_WEBROOT_OWNER),
                bashConstant("WEBROOT_MODE", ACME_WEBROOT_MODE),
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
