// The skeleton that every host setup script shares: the header, strict mode, the ERR trap that
// names the step, the common shell functions and the summary line, with the helpers that put
// TypeScript values into bash source.

/** One host setup step: a pair of scripts that a command resource runs. */
export interface HostScript {
    /** Step name, used in resource names: e.g. "packages", "sysctl", "firewall", "directories", "hosts". */
    readonly name: string;
    /** Complete bash script run as root on create and on update. */
    readonly create: string;
    /** Complete bash script run as root on delete; undoes what create made and nothing else. */
    readonly delete: string;
}

/** Directory on the host where the create scripts record what they changed. */
export const HOST_STATE_DIR = "/var/lib/jitsi-meet-host";

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

/** Returns the path of state file `name` under HOST_STATE_DIR. */
export function stateFile(name: string): string {
    return `${HOST_STATE_DIR}/${name}`;
}
