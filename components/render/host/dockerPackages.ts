// Renders the Docker-mode "packages" step: it installs docker.io, unless another Docker engine is
// installed, and the tools that the other Docker-mode steps run, and enables and starts
// docker.service.
import { APT_FUNCTIONS, aptConstants } from "./apt";
import { renderPackageRemovalScript } from "./packages";
import { bash, bashConstant, renderScript, type HostScript } from "./script";
import { STATE_FUNCTIONS, stateConstants } from "./state";

/**
 * Returns the packages that the steps need. docker.io is installed without its Recommends,
 * which would add needrestart (it restarts services after upgrades) and git. Two of them are
 * named here instead. Docker before 23.0 (Debian 12 ships 20.10) fails to start containers
 * on a kernel with AppArmor enabled, as Debian's is, when apparmor_parser is missing, so
 * apparmor is installed. ca-certificates lets Docker pull images over TLS.
 */
function requiredPackages(firewall: boolean): string[] {
    const packages = ["docker.io", "apparmor", "ca-certificates", "procps"];
    if (firewall) {
        packages.push("ufw");
    }
    return packages;
}

/**
 * Packages of Docker engine builds from outside Debian: docker-ce (Docker's own repository),
 * docker-ee (Docker Enterprise, later Mirantis), docker-engine (Docker's package name before
 * 17.03) and moby-engine (Microsoft's repository).
 */
const OTHER_ENGINE_PACKAGES = ["docker-ce", "docker-ee", "docker-engine", "moby-engine"];

const PACKAGES_CREATE_BODY = bash`
# Merges the package names in $1 (one per line) into the state file.
record_installed_packages() {
    local recorded=""
    if [[ -f "$STATE_FILE" ]]; then
        recorded="$(cat -- "$STATE_FILE")"
    fi
    mkdir -p -- "$STATE_DIR"
    write_file "$STATE_FILE" 0644 "$(printf '%s\n%s\n' "$recorded" "$1" | sed '/^$/d' | sort -u)"$'\n'
}

# Prints how a Docker engine other than docker.io was found, or nothing: an installed package of
# OTHER_ENGINE_PACKAGES, or dockerd on PATH from any other package or from a static binary. A
# dockerd of a half-installed docker.io does not count, so that the installation completes it.
find_other_docker_engine() {
    local package dockerd owner
    for package in "\${OTHER_ENGINE_PACKAGES[@]}"; do
        if is_installed "$package"; then
            echo "package \${package}"
            return 0
        fi
    done
    if ! dockerd="$(command -v dockerd)"; then
        return 0
    fi
    owner="$(dpkg-query -S -- "$dockerd" 2>/dev/null | cut -d: -f1 || true)"
    if [[ -z "$owner" ]]; then
        echo "\${dockerd}, which no package owns"
    elif [[ "$owner" != docker.io ]]; then
        echo "\${dockerd} from package \${owner}"
    fi
}

# Prints the packages that apt-get would remove to install the given packages, from its dry run.
list_install_removals() {
    apt-get -s -q install -y --no-install-recommends "$@" | awk '$1 == "Remv" { print $2 }' | sed "s/:\${NATIVE_ARCHITECTURE}\$//" | sort -u
}

# docker.io conflicts with the docker-ce and docker-ce-cli packages of Docker's own repository, so
# installing it would make apt-get remove an engine installed from there. An engine found here is
# used as it is. Delete leaves it alone, because the state file records only the packages that
# this step installed.
other_engine=""
wanted=()
for package in "\${REQUIRED_PACKAGES[@]}"; do
    if [[ "$package" == docker.io ]] && ! is_installed docker.io; then
        other_engine="$(find_other_docker_engine)"
        if [[ -n "$other_engine" ]]; then
            echo "\${STEP}: a Docker engine is already installed (\${other_engine}), so docker.io is not installed, and delete leaves that engine alone"
            continue
        fi
    fi
    wanted+=("$package")
done

missing=()
for package in "\${wanted[@]}"; do
    if ! is_installed "$package"; then
        missing+=("$package")
    fi
done

if ((\${#missing[@]} == 0)); then
    echo "\${STEP}: \${wanted[*]} already installed"
else
    echo "\${STEP}: installing \${missing[*]}"
    if ! run_apt_get update; then
        fail "could not update the package lists. \${FAILURE_HINT}"
    fi
    # This step removes no package, but other packages than the engines found above may conflict
    # with docker.io, such as Docker's docker-ce-cli installed without docker-ce. --no-remove below
    # makes apt-get stop in case the package lists change between the dry run and the installation.
    removals="$(list_install_removals "\${missing[@]}")"
    if [[ -n "$removals" ]]; then
        fail "installing \${missing[*]} would make apt-get remove $(paste -sd ' ' <<<"$removals"), and this step removes no package. Install the Docker engine that belongs with them (for Docker's repository, docker-ce), or remove them, then run again."
    fi
    before="$(list_installed_packages)"
    install_status=0
    run_apt_get --update install -y --no-install-recommends --no-remove "\${missing[@]}" || install_status=$?
    # Record what was installed even after a failure, so that delete can remove a partial install.
    after="$(list_installed_packages)"
    installed="$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
    if [[ -n "$installed" ]]; then
        record_installed_packages "$installed"
        record_change "installed $(printf '%s\n' "$installed" | wc -l) package(s) for \${missing[*]}: $(printf '%s\n' "$installed" | paste -sd ' ')"
    fi
    if ((install_status != 0)); then
        fail "could not install \${missing[*]}. \${FAILURE_HINT}"
    fi
fi

# Debian's docker.io enables and starts docker.service when it is installed; this also starts it
# after an administrator stopped or disabled it. An engine from a static binary may have no unit.
if [[ ! -d /run/systemd/system ]]; then
    echo "\${STEP}: systemd is not running (as in a container or chroot), so docker.service was not enabled or started"
elif ! systemctl cat docker.service >/dev/null 2>&1; then
    echo "\${STEP}: warning: docker.service does not exist, so it was not enabled or started. Start the Docker engine (\${other_engine:-dockerd}) as its installation documents" >&2
else
    if ! systemctl is-enabled --quiet docker.service; then
        systemctl enable docker.service
        record_change "enabled docker.service"
    fi
    if ! systemctl is-active --quiet docker.service; then
        systemctl start docker.service
        record_change "started docker.service"
    fi
fi
`;

export function renderDockerPackagesScript(firewall: boolean): HostScript {
    const failureHint =
        "Check the apt-get output above, network access to the Debian mirror in /etc/apt/sources.list.d/, " +
        "free disk space, and /var/log/apt/term.log.";
    const stateFileName = "packages.installed";
    return {
        name: "packages",
        create: renderScript({
            step: "packages",
            action: "create",
            failureHint,
            constants: [
                ...stateConstants(stateFileName),
                ...aptConstants(),
                bashConstant("REQUIRED_PACKAGES", requiredPackages(firewall)),
                bashConstant("OTHER_ENGINE_PACKAGES", OTHER_ENGINE_PACKAGES),
            ],
            body: [STATE_FUNCTIONS, APT_FUNCTIONS, PACKAGES_CREATE_BODY],
        }),
        delete: renderPackageRemovalScript("packages", stateFileName, failureHint),
    };
}
