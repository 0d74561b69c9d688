// Renders the "preseed" step: the debconf answers that let the Jitsi packages install without
// questions. The two passwords among them come from standard input.
import type { ClassicHostOptions, ClassicHostScript, ClassicSecret } from "../classicScripts";
import { APT_FUNCTIONS, aptConstants } from "../host/apt";
import { bash, bashConstant, renderScript, shellQuote } from "../host/script";
import { STATE_FUNCTIONS, stateConstants } from "../host/state";
import { SECRET_FUNCTIONS, renderSecretReads } from "./secrets";

const PRESEED_SECRETS: readonly ClassicSecret[] = ["jicofoAuthPassword", "jvbSecret"];

/** One debconf answer: what debconf-set-selections reads as "OWNER QUESTION TYPE VALUE". */
interface DebconfSelection {
    readonly owner: string;
    readonly question: string;
    readonly type: "string" | "select" | "password";
    readonly value: string | { readonly secret: ClassicSecret };
}

/** Text of the jitsi-meet/cert-choice answer that makes jitsi-meet-web-config use the uploaded files. */
export const OWN_CERTIFICATE_CHOICE = "I want to use my own certificate";

/**
 * Returns the answers that let the Jitsi packages install without questions. Each question is
 * set for every package that reads it, so that each one finds its value.
 *
 * jitsi-meet/jvb-hostname is never set. jitsi-meet-web-config's postinst stores the hostname
 * there after its first configuration. When it finds a non-empty value equal to
 * jitsi-videobridge/jvb-hostname, it treats the host as configured and writes neither the nginx
 * site nor the certificate paths (debian/jitsi-meet-web-config.postinst in jitsi/jitsi-meet).
 */
function debconfSelections(options: ClassicHostOptions): DebconfSelection[] {
    return [
        { owner: "jitsi-videobridge2", question: "jitsi-videobridge/jvb-hostname", type: "string", value: options.domain },
        { owner: "jitsi-meet-prosody", question: "jitsi-videobridge/jvb-hostname", type: "string", value: options.domain },
        { owner: "jitsi-meet-web-config", question: "jitsi-meet/cert-choice", type: "select", value: OWN_CERTIFICATE_CHOICE },
        { owner: "jitsi-meet-web-config", question: "jitsi-meet/cert-path-key", type: "string", value: options.privateKeyPath },
        { owner: "jitsi-meet-web-config", question: "jitsi-meet/cert-path-crt", type: "string", value: options.certificatePath },
        { owner: "jicofo", question: "jicofo/jicofo-authpassword", type: "password", value: { secret: "jicofoAuthPassword" } },
        { owner: "jitsi-meet-prosody", question: "jicofo/jicofo-authpassword", type: "password", value: { secret: "jicofoAuthPassword" } },
        { owner: "jitsi-videobridge2", question: "jitsi-videobridge/jvbsecret", type: "password", value: { secret: "jvbSecret" } },
        { owner: "jitsi-meet-prosody", question: "jitsi-videobridge/jvbsecret", type: "password", value: { secret: "jvbSecret" } },
    ];
}

function renderAddSelection(selection: DebconfSelection): string {
    const value = typeof selection.value === "string"
        ? shellQuote(selection.value)
        : `"\${secret_values[${selection.value.secret}]}"`;
    return `add_selection ${shellQuote(selection.owner)} ${shellQuote(selection.question)} ${selection.type} ${value}`;
}

const PRESEED_FUNCTIONS = bash`
declare -A secret_values=()

# Decodes secret $1 into secret_values. debconf stores a value as the rest of one line, so the
# value must be one line without control characters or surrounding whitespace.
decode_secret_value() {
    local value
    value="$(decode_secret "$1")"
    if [[ -z "$value" || "$value" == *[[:cntrl:]]* || "$value" == [[:space:]]* || "$value" == *[[:space:]] ]]; then
        fail "\${1} is empty or contains a control character or leading or trailing whitespace, which debconf cannot store"
    fi
    secret_values["$1"]="$value"
}

owners=()
questions=()
types=()
values=()

add_selection() {
    owners+=("$1")
    questions+=("$2")
    types+=("$3")
    values+=("$4")
}

# Reads debconf's current answers into current_values, keyed by "OWNER QUESTION". The output of
# debconf-get-selections holds passwords, so it stays in a variable and goes through a pipe.
declare -A current_values=()
read_current_selections() {
    local all owner question value
    if ! all="$(debconf-get-selections)"; then
        fail "debconf-get-selections failed; check that no other process holds the debconf database lock"
    fi
    current_values=()
    while IFS=$'\t' read -r owner question _ value; do
        if [[ -n "$owner" && "$owner" != \#* ]]; then
            current_values["\${owner} \${question}"]="$value"
        fi
    done < <(printf '%s\n' "$all")
}

# Succeeds when selection $1 (an index into owners) has its value in current_values.
selection_is_set() {
    local key="\${owners[$1]} \${questions[$1]}"
    [[ -n "\${current_values[$key]+set}" && "\${current_values[$key]}" == "\${values[$1]}" ]]
}
`;

const PRESEED_CREATE_MAIN = bash`
command -v debconf-get-selections >/dev/null ||
    fail "debconf-get-selections not found; the classic-packages step installs debconf-utils, so run that step first"

# debconf locks its database while apt or dpkg configures packages.
wait_for_apt_locks
read_current_selections

pending=()
for index in "\${!owners[@]}"; do
    if selection_is_set "$index"; then
        continue
    fi
    key="\${owners[index]} \${questions[index]}"
    # Only answers that did not exist before are recorded, for delete to remove.
    if [[ -z "\${current_values[$key]+set}" ]]; then
        add_state_line "$STATE_FILE" "$key"
    fi
    pending+=("$index")
done

if ((\${#pending[@]} == 0)); then
    echo "\${STEP}: all \${#owners[@]} debconf answers are set"
else
    for index in "\${pending[@]}"; do
        printf '%s %s %s %s\n' "\${owners[index]}" "\${questions[index]}" "\${types[index]}" "\${values[index]}"
    done | debconf-set-selections

    read_current_selections
    for index in "\${pending[@]}"; do
        if ! selection_is_set "$index"; then
            fail "debconf-set-selections did not store \${questions[index]} for \${owners[index]}"
        fi
        record_change "set \${questions[index]} (\${types[index]}) for \${owners[index]}"
    done
fi
`;

/*
 * Delete removes the answers that create added, with the debconf protocol command UNREGISTER:
 * it drops one package from a question's owners, and debconf deletes a question, password
 * included, once no owner is left. PURGE would instead drop every question of the package,
 * also answers that the package's own scripts stored. Answers of a package that is still
 * installed stay, because its upgrades and dpkg-reconfigure read them. They also stay recorded,
 * so that a delete after the package is removed takes them out.
 */
const PRESEED_DELETE_BODY = bash`
if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so the create script added no debconf answer"
    report_summary
    exit 0
fi

wait_for_apt_locks
kept=()
while IFS= read -r entry; do
    if [[ -z "$entry" ]]; then
        continue
    fi
    owner="\${entry%% *}"
    question="\${entry#* }"
    # shellcheck disable=SC2016 # dpkg-query expands this field itself.
    status="$(dpkg-query -W -f='\${db:Status-Status}' "$owner" 2>/dev/null || true)"
    case "$status" in
        "" | not-installed | config-files) ;;
        *)
            echo "\${STEP}: keeping \${question} for \${owner}, because \${owner} is installed (dpkg status \${status})"
            kept+=("$entry")
            continue
            ;;
    esac
    # debconf-communicate exits with the protocol's status code; 10 means the question is gone.
    if response="$(printf 'UNREGISTER %s\n' "$question" | debconf-communicate "$owner")"; then
        record_change "removed \${question} for \${owner} from the debconf database"
    elif [[ "$response" != "10 "* ]]; then
        fail "debconf-communicate \${owner} could not unregister \${question}: \${response}"
    fi
done <"$STATE_FILE"

if ((\${#kept[@]} > 0)); then
    write_file "$STATE_FILE" 0644 "$(printf '%s\n' "\${kept[@]}")"$'\n'
else
    remove_state_file "$STATE_FILE"
fi
`;

export function renderPreseedScript(options: ClassicHostOptions): ClassicHostScript {
    const step = "preseed";
    const failureHint = "Check the debconf messages above and that no apt or dpkg process holds the debconf database.";
    const constants = [...stateConstants("preseed.state"), ...aptConstants()];
    return {
        name: step,
        stdinSecrets: PRESEED_SECRETS,
        create: renderScript({
            step,
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("STDIN_SECRETS", PRESEED_SECRETS)],
            body: [
                SECRET_FUNCTIONS,
                renderSecretReads(PRESEED_SECRETS),
                STATE_FUNCTIONS,
                APT_FUNCTIONS,
                PRESEED_FUNCTIONS,
                PRESEED_SECRETS.map((secret) => `decode_secret_value ${secret}`).join("\n"),
                debconfSelections(options).map(renderAddSelection).join("\n"),
                PRESEED_CREATE_MAIN,
            ],
        }),
        delete: renderScript({
            step,
            action: "delete",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, APT_FUNCTIONS, PRESEED_DELETE_BODY],
        }),
    };
}
