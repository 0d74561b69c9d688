// Renders the bash script that adds, updates or removes one marked block in a hosts file.
//
// The block sits between a begin and an end marker line that contain the block id:
//
//     # BEGIN jitsi-meet dev
//     # Managed by the jitsi-meet Pulumi program; edits between these markers are overwritten.
//     192.0.2.10 meet.example.org
//     # END jitsi-meet dev
//
// The script rewrites only the lines of its own block and keeps every other byte of the file.
// Its lines take the line ending of the file's first line (CRLF or LF). A file without a final
// newline gets the block appended after a line break, and then ends without a newline after the
// end marker. Removing a block that ends the file without a final newline also removes the line
// break before it, so that adding and then removing a block restores the file byte for byte.
import * as net from "net";

import { bash, bashConstant, renderScript, type HostScript } from "./hostScripts";

export type { HostScript } from "./hostScripts";

/** Settings of one managed hosts-file block. */
export interface HostsBlockOptions {
    /** Absolute path of the hosts file, e.g. /etc/hosts; a symbolic link is followed. */
    readonly file: string;
    /** Text in the marker lines that identifies the block, e.g. "jitsi-meet dev" (stack name inside). */
    readonly blockId: string;
    /** Addresses and the host names that map to each. */
    readonly entries: readonly { readonly address: string; readonly names: readonly string[] }[];
}

/** Seconds that the script waits for another run that edits the same file. */
export const HOSTS_LOCK_TIMEOUT_SECONDS = 120;

/** Returns the begin and end marker lines of the block with id `blockId`. */
export function hostsBlockMarkers(blockId: string): { begin: string; end: string } {
    return { begin: `# BEGIN ${blockId}`, end: `# END ${blockId}` };
}

/** Renders the script pair that manages the block described by `options`; its name is "hosts". */
export function renderHostsScript(options: HostsBlockOptions): HostScript {
    checkHostsBlockOptions(options);
    const markers = hostsBlockMarkers(options.blockId);
    const blockLines = [
        "# Managed by the jitsi-meet Pulumi program; edits between these markers are overwritten.",
        ...options.entries.map((entry) => `${entry.address} ${entry.names.join(" ")}`),
    ];
    const names = [...new Set(options.entries.flatMap((entry) => entry.names.map((name) => name.toLowerCase())))];
    const failureHint =
        `Check that ${options.file} exists, that its directory is writable, and that no other run holds the lock file beside it.`;
    const constants = [
        bashConstant("HOSTS_FILE", options.file),
        bashConstant("BEGIN_MARKER", markers.begin),
        bashConstant("END_MARKER", markers.end),
        bashConstant("LOCK_TIMEOUT_SECONDS", HOSTS_LOCK_TIMEOUT_SECONDS),
    ];
    return {
        name: "hosts",
        create: renderScript({
            step: "hosts",
            action: "create",
            failureHint,
            constants: [
                ...constants,
                bashConstant("BLOCK_LINES", blockLines),
                bashConstant("MANAGED_NAMES", names),
            ],
            body: [HOSTS_FUNCTIONS, HOSTS_CREATE_BODY, HOSTS_WRITE_BODY],
        }),
        delete: renderScript({
            step: "hosts",
            action: "delete",
            failureHint,
            constants,
            body: [HOSTS_FUNCTIONS, HOSTS_DELETE_BODY, HOSTS_WRITE_BODY],
        }),
    };
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

function checkHostsBlockOptions(options: HostsBlockOptions): void {
    const problems: string[] = [];
    if (!options.file.startsWith("/") || /[\s'"$`\\\x00-\x1f\x7f]/.test(options.file) || options.file.endsWith("/")) {
        problems.push(`invalid file ${JSON.stringify(options.file)}; expected an absolute file path without spaces or quotes, such as /etc/hosts`);
    }
    // Marker lines must match exactly. Editors often strip trailing blanks, which would orphan a
    // block whose id ends in one.
    if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(options.blockId)) {
        problems.push(`invalid blockId ${JSON.stringify(options.blockId)}; expected printable ASCII without leading or trailing blanks, such as "jitsi-meet dev"`);
    }
    if (options.entries.length === 0) {
        problems.push("entries is empty; list at least one address with its names");
    }
    for (const entry of options.entries) {
        if (net.isIP(entry.address) === 0) {
            problems.push(`invalid address ${JSON.stringify(entry.address)}; expected an IPv4 or IPv6 address`);
        }
        if (entry.names.length === 0) {
            problems.push(`address ${entry.address} has no names; list at least one host name`);
        }
        for (const name of entry.names) {
            if (!HOST_NAME.test(name)) {
                problems.push(`invalid host name ${JSON.stringify(name)}; expected a DNS name such as meet.example.org`);
            }
        }
    }
    if (problems.length > 0) {
        throw new Error(`renderHostsScript: ${problems.join("; ")}`);
    }
}

// Reads the file into two arrays and finds the managed blocks. The arrays contain each line's
// text and its terminator ("\n", "\r\n", or "" for a last line without
// a newline), so that joining them gives back the file byte for byte.
const HOSTS_FUNCTIONS = bash`
temp_file=""
remove_temp_file() {
    if [[ -n "$temp_file" ]]; then
        rm -f -- "$temp_file"
    fi
}
trap remove_temp_file EXIT

if [[ -L "$HOSTS_FILE" ]]; then
    target="$(readlink -f -- "$HOSTS_FILE")" || fail "cannot resolve the symbolic link \${HOSTS_FILE}"
    echo "\${STEP}: \${HOSTS_FILE} is a symbolic link; editing its target \${target}"
else
    target="$HOSTS_FILE"
fi
if [[ ! -f "$target" ]]; then
    fail "\${target} does not exist or is not a regular file; create it, or set hostsFile to the path of the hosts file"
fi
directory="$(dirname -- "$target")"
base_name="$(basename -- "$target")"

# One run at a time edits the file. The lock file stays after the run: deleting it while another
# run waits on it would let a third run lock a new file and edit at the same time.
lock_file="\${directory}/.\${base_name}.lock"
exec {lock_fd}>>"$lock_file"
if ! flock -w "$LOCK_TIMEOUT_SECONDS" "$lock_fd"; then
    fail "timed out after \${LOCK_TIMEOUT_SECONDS} s waiting for the lock on \${lock_file}, which another run holds"
fi

contents=()
terms=()
while true; do
    line=""
    if IFS= read -r line; then
        if [[ "$line" == *$'\r' ]]; then
            contents+=("\${line%$'\r'}")
            terms+=($'\r\n')
        else
            contents+=("$line")
            terms+=($'\n')
        fi
    elif [[ -n "$line" ]]; then
        contents+=("$line")
        terms+=("")
        break
    else
        break
    fi
done <"$target"
line_count=\${#contents[@]}

original=""
for ((index = 0; index < line_count; index++)); do
    original+="\${contents[index]}\${terms[index]}"
done
# bash strings cannot hold NUL bytes; refuse to rewrite a file that the arrays do not reproduce.
if ! cmp -s -- "$target" <(printf '%s' "$original"); then
    fail "\${target} contains bytes that this script cannot keep (such as NUL); fix the file by hand"
fi

# Index ranges of the managed blocks; a marker without its partner stops the run rather than
# guessing where the block ends.
block_starts=()
block_ends=()
open_block=-1
for ((index = 0; index < line_count; index++)); do
    if [[ "\${contents[index]}" == "$BEGIN_MARKER" ]]; then
        if ((open_block >= 0)); then
            fail "\${target} line $((index + 1)) repeats '\${BEGIN_MARKER}' before the end marker of the block from line $((open_block + 1)); fix the markers by hand"
        fi
        open_block=$index
    elif [[ "\${contents[index]}" == "$END_MARKER" ]]; then
        if ((open_block < 0)); then
            fail "\${target} line $((index + 1)) has '\${END_MARKER}' without a begin marker before it; fix the markers by hand"
        fi
        block_starts+=("$open_block")
        block_ends+=("$index")
        open_block=-1
    fi
done
if ((open_block >= 0)); then
    fail "\${target} line $((open_block + 1)) has '\${BEGIN_MARKER}' but no '\${END_MARKER}' line after it; fix the markers by hand"
fi

new_contents=()
new_terms=()

# Copies the lines outside the managed blocks to the new arrays. For each block it calls
# replace_block with the block's index and the terminator of its end marker line.
copy_lines_outside_blocks() {
    local index=0 block=0
    while ((index < line_count)); do
        if ((block < \${#block_starts[@]} && index == block_starts[block])); then
            replace_block "$block" "\${terms[block_ends[block]]}"
            index=$((block_ends[block] + 1))
            block=$((block + 1))
            continue
        fi
        copy_line "$index"
        new_contents+=("\${contents[index]}")
        new_terms+=("\${terms[index]}")
        index=$((index + 1))
    done
}

# Drops a block. A block that ends the file without a final newline was appended to a file
# without one, so the line break added before it goes too.
drop_block() {
    if [[ -z "$2" ]] && ((\${#new_contents[@]} > 0)); then
        new_terms[-1]=""
    fi
}
`;

const HOSTS_CREATE_BODY = bash`
# The block's lines end like the file's first line.
eol=$'\n'
if ((line_count > 0)) && [[ "\${terms[0]}" == $'\r\n' ]]; then
    eol=$'\r\n'
fi

# Appends the block; $1 is the terminator of its end marker line.
append_block() {
    local block_line
    new_contents+=("$BEGIN_MARKER")
    new_terms+=("$eol")
    for block_line in "\${BLOCK_LINES[@]}"; do
        new_contents+=("$block_line")
        new_terms+=("$eol")
    done
    new_contents+=("$END_MARKER")
    new_terms+=("$1")
}

# The first block is rewritten in place; a later copy with the same id is dropped.
replace_block() {
    if (($1 == 0)); then
        if [[ -z "$2" ]]; then
            append_block ""
        else
            append_block "$eol"
        fi
    else
        drop_block "$@"
    fi
}

# Warns about a line outside the block that maps one of the managed names: it stays, and
# resolvers may use it instead of the block.
copy_line() {
    local fields name managed
    read -r -a fields <<<"\${contents[$1]%%#*}"
    for name in "\${fields[@]:1}"; do
        for managed in "\${MANAGED_NAMES[@]}"; do
            if [[ "\${name,,}" == "$managed" ]]; then
                echo "\${STEP}: warning: \${target} line $(($1 + 1)) also maps \${name} outside the managed block and is left as it is: \${contents[$1]}" >&2
            fi
        done
    done
}

copy_lines_outside_blocks
if ((\${#block_starts[@]} > 0)); then
    change="updated the block '\${BEGIN_MARKER}' in \${target}"
elif ((\${#new_contents[@]} > 0)) && [[ -z "\${new_terms[-1]}" ]]; then
    # The file has no final newline: end its last line, and end the file after the block
    # without one, as before.
    new_terms[-1]="$eol"
    append_block ""
    change="added the block '\${BEGIN_MARKER}' to \${target}"
else
    append_block "$eol"
    change="added the block '\${BEGIN_MARKER}' to \${target}"
fi
`;

const HOSTS_DELETE_BODY = bash`
replace_block() {
    drop_block "$@"
}

copy_line() {
    :
}

copy_lines_outside_blocks
change="removed the block '\${BEGIN_MARKER}' from \${target}"
`;

// Writes the new content beside the target and renames it over the target, keeping owner and
// mode. Docker bind-mounts /etc/hosts into containers, and a rename cannot replace a mount
// point, so there the content is written in place.
const HOSTS_WRITE_BODY = bash`
is_mount_point() {
    [[ -r /proc/self/mountinfo ]] && awk -v path="$1" '$5 == path { found = 1 } END { exit !found }' /proc/self/mountinfo
}

updated=""
for ((index = 0; index < \${#new_contents[@]}; index++)); do
    updated+="\${new_contents[index]}\${new_terms[index]}"
done

if [[ "$updated" == "$original" ]]; then
    echo "\${STEP}: \${target} is up to date"
else
    temp_file="$(mktemp -- "\${directory}/.\${base_name}.XXXXXX")"
    printf '%s' "$updated" >"$temp_file"
    chown --reference="$target" -- "$temp_file"
    chmod --reference="$target" -- "$temp_file"
    if is_mount_point "$target"; then
        # NOTE: a reader that opens the file during this write can see it partly written.
        echo "\${STEP}: \${target} is a mount point (as /etc/hosts is in a container), so it is rewritten in place"
        cat -- "$temp_file" >"$target"
    else
        mv -f -- "$temp_file" "$target"
    fi
    remove_temp_file
    temp_file=""
    record_change "$change"
fi
`;
