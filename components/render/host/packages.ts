// Renders "packages" style steps. The create script installs Debian packages and records in its
// state file every package that apt-get added, and the delete script removes the recorded
// packages. The Docker-mode packages step and the classic-mode classic-packages and jitsi-meet
// steps are built from these pieces.
import { APT_FUNCTIONS, aptConstants } from "./apt";
import { bash, bashConstant, renderScript, type HostScript } from "./script";
import { STATE_FUNCTIONS, stateConstants } from "./state";

/** Shell function install_missing_packages, which calls functions of STATE_FUNCTIONS and APT_FUNCTIONS. */
export const PACKAGE_INSTALL_FUNCTIONS = bash`
# Installs those of the packages after "--" that are not installed yet, passing the words before
# "--" to apt-get install, after an apt-get update. Every package that apt-get added is recorded
# in STATE_FILE, also after a failed installation, so that delete can remove a partial one.
install_missing_packages() {
    local options=() missing=() package before after added install_status=0
    while [[ "$1" != -- ]]; do
        options+=("$1")
        shift
    done
    shift
    for package in "$@"; do
        if ! is_installed "$package"; then
            missing+=("$package")
        fi
    done
    if ((\${#missing[@]} == 0)); then
        echo "\${STEP}: $* already installed"
        return 0
    fi

    echo "\${STEP}: installing \${missing[*]}"
    before="$(list_installed_packages)"
    run_apt_get --update install -y "\${options[@]}" "\${missing[@]}" || install_status=$?
    after="$(list_installed_packages)"
    added="$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
    if [[ -n "$added" ]]; then
        while IFS= read -r package; do
            add_state_line "$STATE_FILE" "$package"
        done < <(printf '%s\n' "$added")
        record_change "installed $(printf '%s\n' "$added" | wc -l) package(s) for \${missing[*]}: $(printf '%s\n' "$added" | paste -sd ' ')"
    fi
    if ((install_status != 0)); then
        fail "could not install \${missing[*]}. \${FAILURE_HINT}"
    fi
}
`;

/*
 * Delete removes the packages that create installed, dependencies included, and nothing else.
 * It uses "apt-get remove", not purge, so configuration files and Docker's data under
 * /var/lib/docker (images, volumes) stay. Packages that were installed before create ran are
 * never in the record. A recorded package stays when removing it would also remove a package
 * outside the record, such as one installed later that depends on it. apt-get's own dry run
 * decides that, so alternatives ("a | b") count as apt counts them.
 */
const PACKAGES_DELETE_BODY = bash`
# Prints the packages that "apt-get remove" of the given packages would remove.
simulate_removal() {
    apt-get -s remove "$@" | awk '$1 == "Remv" { print $2 }' | sed "s/:\${NATIVE_ARCHITECTURE}\$//" | sort -u
}

# Prints the packages outside the candidates that removing the given packages would remove.
list_extra_removals() {
    comm -23 <(simulate_removal "$@") <(printf '%s\n' "\${candidates[@]}" | sort -u)
}

if [[ ! -f "$STATE_FILE" ]]; then
    echo "\${STEP}: \${STATE_FILE} does not exist, so no package was installed by the create script"
    report_summary
    exit 0
fi

candidates=()
while IFS= read -r package; do
    if [[ -n "$package" ]] && is_installed "$package"; then
        candidates+=("$package")
    fi
done <"$STATE_FILE"

# Usually nothing outside the record depends on it and one dry run suffices. Otherwise each
# candidate whose removal takes another package with it is kept, until the rest can go alone.
while ((\${#candidates[@]} > 0)); do
    extras="$(list_extra_removals "\${candidates[@]}")"
    if [[ -z "$extras" ]]; then
        break
    fi
    remaining=()
    for package in "\${candidates[@]}"; do
        package_extras="$(list_extra_removals "$package")"
        if [[ -n "$package_extras" ]]; then
            echo "\${STEP}: keeping \${package}, because removing it would also remove $(paste -sd ' ' <<<"$package_extras")"
        else
            remaining+=("$package")
        fi
    done
    if ((\${#remaining[@]} == \${#candidates[@]})); then
        echo "\${STEP}: warning: not removing any package, because apt-get would also remove $(paste -sd ' ' <<<"$extras"), which the create script did not install. The record stays in \${STATE_FILE}." >&2
        report_summary
        exit 0
    fi
    candidates=("\${remaining[@]}")
done

if ((\${#candidates[@]} > 0)); then
    if ! run_apt_get remove -y "\${candidates[@]}"; then
        fail "could not remove \${candidates[*]}. \${FAILURE_HINT}"
    fi
    record_change "removed \${#candidates[@]} package(s) that the create script installed: \${candidates[*]}"
fi

remove_state_file "$STATE_FILE"
`;

/** Settings of one packages-style step. */
export interface PackagesStepOptions {
    readonly step: string;
    /** Packages to install; apt-get installs them without their Recommends. */
    readonly packages: readonly string[];
    /** Name of the state file under HOST_STATE_DIR that records the installed packages, e.g. "classic-packages.installed". */
    readonly stateFileName: string;
    /** Advice on what to check, printed with the failing line when a script fails. */
    readonly failureHint: string;
}

/**
 * Renders a step whose create script installs those of `options.packages` that are missing,
 * without their Recommends, and whose delete script removes what create installed.
 */
export function renderPackagesStep(options: PackagesStepOptions): HostScript {
    return {
        name: options.step,
        create: renderScript({
            step: options.step,
            action: "create",
            failureHint: options.failureHint,
            constants: [
                ...stateConstants(options.stateFileName),
                ...aptConstants(),
                bashConstant("REQUIRED_PACKAGES", options.packages),
            ],
            body: [
                STATE_FUNCTIONS,
                APT_FUNCTIONS,
                PACKAGE_INSTALL_FUNCTIONS,
                bash`install_missing_packages --no-install-recommends -- "\${REQUIRED_PACKAGES[@]}"`,
            ],
        }),
        delete: renderPackageRemovalScript(options.step, options.stateFileName, options.failureHint),
    };
}

/**
 * Renders the delete script of step `step`: it removes the packages that state file
 * `stateFileName` records, as PACKAGES_DELETE_BODY describes.
 */
export function renderPackageRemovalScript(step: string, stateFileName: string, failureHint: string): string {
    return renderScript({
        step,
        action: "delete",
        failureHint,
        constants: [...stateConstants(stateFileName), ...aptConstants()],
        body: [STATE_FUNCTIONS, APT_FUNCTIONS, PACKAGES_DELETE_BODY],
    });
}
