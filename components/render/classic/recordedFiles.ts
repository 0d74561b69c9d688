// The delete script body shared by the classic-mode steps that record the files and directories
// they create as "file PATH" and "directory PATH" lines in their state file.
import { bash } from "../host/script";

/*
 * Delete removes the files that create recorded, and the recorded directories once they are
 * empty. A file that existed with the same content before create is not in the record and stays.
 */
export const RECORDED_FILES_DELETE_BODY = bash`
if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so the create script wrote no file"
    report_summary
    exit 0
fi

mapfile -t entries <"$STATE_FILE"
# Files come after their directories in the record, so walking backwards empties a directory
# before it is removed.
for ((index = \${#entries[@]} - 1; index >= 0; index--)); do
    kind="\${entries[index]%% *}"
    path="\${entries[index]#* }"
    case "$kind" in
        file)
            if [[ -e "$path" || -L "$path" ]]; then
                rm -f -- "$path"
                record_change "removed \${path}"
            fi
            ;;
        directory)
            if [[ ! -d "$path" ]]; then
                continue
            fi
            if [[ -n "$(find "$path" -mindepth 1 -maxdepth 1 -print -quit)" ]]; then
                echo "\${STEP}: keeping \${path}, because it is not empty"
            else
                rmdir -- "$path"
                record_change "removed the empty directory \${path}"
            fi
            ;;
    esac
done
remove_state_file "$STATE_FILE"
`;
