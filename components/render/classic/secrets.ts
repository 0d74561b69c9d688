// Shell functions that read the secrets of a classic-mode step from standard input, one
// base64-encoded line per secret.
import type { ClassicSecret } from "../classicScripts";
import { bash } from "../host/script";

/*
 * Secrets stay in shell variables and pass to other programs only through pipes: printf and
 * [[ ]] are bash builtins, so no secret is in a command line, and no here-string or here-document
 * writes one to a temporary file.
 */
export const SECRET_FUNCTIONS = bash`
declare -A secret_lines=()

# Reads the next line of standard input as the base64 encoding of secret $1.
read_secret_line() {
    local line=""
    if ! IFS= read -r line && [[ -z "$line" ]]; then
        fail "standard input ended before the line of \${1}; expected one base64 line per secret, in this order: \${STDIN_SECRETS[*]}"
    fi
    line="\${line%$'\r'}"
    if [[ ! "$line" =~ ^[A-Za-z0-9+/]+={0,2}$ ]]; then
        fail "the line of \${1} on standard input is empty or not base64"
    fi
    if ! printf '%s' "$line" | base64 -d >/dev/null 2>&1; then
        fail "the line of \${1} on standard input is not valid base64"
    fi
    secret_lines["$1"]="$line"
}

# Writes the decoded secret $1 to standard output, for a pipe or a process substitution.
decode_secret() {
    printf '%s' "\${secret_lines[$1]}" | base64 -d
}
`;

export function renderSecretReads(secrets: readonly ClassicSecret[]): string {
    return [
        "# Every secret is read before the first change.",
        ...secrets.map((secret) => `read_secret_line ${secret}`),
    ].join("\n");
}
