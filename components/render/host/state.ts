// Shell functions for the state files under HOST_STATE_DIR, in which the create scripts record
// what they changed, one line per recorded item.
import { HOST_STATE_DIR, bash, bashConstant, stateFile } from "./script";

/** Shell functions add_state_line and remove_state_file, which read STATE_DIR and call write_file. */
export const STATE_FUNCTIONS = bash`
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

/** Returns the STATE_DIR and STATE_FILE constants for a step that records into state file `fileName`. */
export function stateConstants(fileName: string): string[] {
    return [
        bashConstant("STATE_DIR", HOST_STATE_DIR),
        bashConstant("STATE_FILE", stateFile(fileName)),
    ];
}
