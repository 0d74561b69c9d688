// Renders the "firewall" step: ufw allow rules for the ports of the stack, a default incoming
// policy of deny, and ufw enabled.
import type { DockerHostOptions } from "../hostScripts";
import { HOST_STATE_DIR, bash, bashConstant, renderScript, stateFile, type HostScript } from "./script";
import { STATE_FUNCTIONS } from "./state";

/** Ports that the firewall step opens. */
export type FirewallPorts = Pick<DockerHostOptions, "sshPort" | "httpPort" | "httpsPort" | "jvbPort">;

/**
 * ufw allow rules as "ROLE PORT/PROTOCOL", SSH first so that enabling ufw keeps the session.
 *
 * NOTE: Docker publishes container ports through its own iptables rules in the FORWARD chain,
 * which come before ufw's, so ufw neither blocks nor needs to allow the ports of the Docker
 * install mode. Its rules matter for services on the host itself, SSH among them.
 */
function firewallRules(options: FirewallPorts): string[] {
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

export function renderFirewallScript(options: FirewallPorts): HostScript {
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
