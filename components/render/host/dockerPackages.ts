// Renders the Docker-mode "packages" step: it installs docker.io and the tools that the other
// Docker-mode steps run, and enables and starts docker.service.
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

missing=()
for package in "\${REQUIRED_PACKAGES[@]}"; do
    if ! is_installed "$package"; then
        missing+=("$package")
    fi
done

if ((\${#missing[@]} == 0)); then
    echo "\${STEP}: \${REQUIRED_PACKAGES[*]} already installed"
else
    echo "\${STEP}: installing \${missing[*]}"
    before="$(list_installed_packages)"
    install_status=0
    run_apt_get --update install -y --no-install-recommends "\${missing[@]}" || install_status=$?
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
# after an administrator stopped or disabled it.
if [[ -d /run/systemd/system ]]; then
    if ! systemctl is-enabled --quiet docker.service; then
        systemctl enable docker.service
        record_change "enabled docker.service"
    fi
    if ! systemctl is-active --quiet docker.service; then
        systemctl start docker.service
        record_change "started docker.service"
    fi
else
    echo "\${STEP}: systemd is not running (as in a container or chroot), so docker.service was not enabled or started"
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
            ],
            body: [STATE_FUNCTIONS, APT_FUNCTIONS, PACKAGES_CREATE_BODY],
        }),
        delete: renderPackageRemovalScript("packages", stateFileName, failureHint),
    };
}
