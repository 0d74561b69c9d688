// Renders the Docker-mode "docker-access" step: it adds the SSH user to the docker group, which
// may use the Docker socket, because the Pulumi Docker provider connects as that user
// (ssh://user@host). Membership of docker is root-equivalent, since a member can start a
// privileged container that mounts the host's root file system. A non-root SSH user needs
// password-less sudo for the host scripts, so it has that power already.
import { bash, bashConstant, renderScript, type HostScript } from "./script";
import { STATE_FUNCTIONS, stateConstants } from "./state";

/** Group whose members may use the Docker socket, created by the docker.io and docker-ce packages. */
export const DOCKER_GROUP = "docker";

const DOCKER_ACCESS_FUNCTIONS = bash`
# Succeeds when user $1 belongs to GROUP, as its primary group or as a supplementary one.
is_group_member() {
    local groups
    groups=" $(id -nG -- "$1") "
    [[ "$groups" == *" \${GROUP} "* ]]
}

# Succeeds when /etc/group lists user $1 as a member of GROUP, as "gpasswd -a" adds it.
is_listed_member() {
    local members
    members="$(getent group "$GROUP" | cut -d: -f4 || true)"
    [[ ",\${members}," == *",$1,"* ]]
}

# Removes line $1 from the state file, and the file once it is empty.
remove_state_line() {
    local content
    content="$(grep -vxF -- "$1" "$STATE_FILE" || true)"
    if [[ -n "$content" ]]; then
        write_file "$STATE_FILE" 0644 "\${content}"$'\n'
    else
        remove_state_file "$STATE_FILE"
    fi
}

# Removes user $1, whom create added, from GROUP, and drops its state line. A user that left the
# group since, or no longer exists, is left as it is.
remove_added_member() {
    if id -u -- "$1" >/dev/null 2>&1 && is_listed_member "$1"; then
        gpasswd -d "$1" "$GROUP" >/dev/null
        record_change "removed \${1} from group \${GROUP}, which the create script had added"
    else
        echo "\${STEP}: \${1} is no longer a member of group \${GROUP}"
    fi
    remove_state_line "added $1"
}

# Prints the users that the state file records as added by create.
read_added_users() {
    if [[ -f "$STATE_FILE" ]]; then
        awk '$1 == "added" { print $2 }' "$STATE_FILE"
    fi
}
`;

const DOCKER_ACCESS_CREATE_BODY = bash`
getent group "$GROUP" >/dev/null || fail "group \${GROUP} does not exist. The Docker engine's package (docker.io, docker-ce) creates it, so check that the packages step installed an engine, or create the group and restart dockerd."
id -u -- "$USER_NAME" >/dev/null 2>&1 || fail "user \${USER_NAME} does not exist. Set sshUser to the user that Pulumi logs in as, or create that user."

# A user that an earlier run added for another SSH user loses the membership.
mapfile -t added_users < <(read_added_users)
for user in "\${added_users[@]}"; do
    if [[ "$user" != "$USER_NAME" ]]; then
        remove_added_member "$user"
    fi
done

if is_group_member "$USER_NAME"; then
    echo "\${STEP}: \${USER_NAME} is a member of group \${GROUP}"
else
    add_state_line "$STATE_FILE" "added \${USER_NAME}"
    gpasswd -a "$USER_NAME" "$GROUP" >/dev/null
    record_change "added \${USER_NAME} to group \${GROUP}, effective from the user's next login"
fi
`;

/* Delete removes only the memberships that create added, so a user who was a member before stays one. */
const DOCKER_ACCESS_DELETE_BODY = bash`
if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so the create script added no user to group \${GROUP}"
    report_summary
    exit 0
fi

mapfile -t added_users < <(read_added_users)
for user in "\${added_users[@]}"; do
    remove_added_member "$user"
done
if [[ -f "$STATE_FILE" ]]; then
    remove_state_file "$STATE_FILE"
fi
`;

/** Renders the step for `user`, a user name that renderDockerHostScripts has checked. */
export function renderDockerAccessScript(user: string): HostScript {
    const failureHint = `Check that user ${user} and group ${DOCKER_GROUP} exist and that /etc/group is writable.`;
    const constants = [...stateConstants("docker-access.state"), bashConstant("GROUP", DOCKER_GROUP)];
    return {
        name: "docker-access",
        create: renderScript({
            step: "docker-access",
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("USER_NAME", user)],
            body: [STATE_FUNCTIONS, DOCKER_ACCESS_FUNCTIONS, DOCKER_ACCESS_CREATE_BODY],
        }),
        delete: renderScript({
            step: "docker-access",
            action: "delete",
            failureHint,
            constants,
            body: [STATE_FUNCTIONS, DOCKER_ACCESS_FUNCTIONS, DOCKER_ACCESS_DELETE_BODY],
        }),
    };
}
