// Renders the classic-mode package steps: "classic-packages" installs the tools that the later
// steps run, and "jitsi-meet" installs nginx and the Jitsi Meet packages.
import type { ClassicHostScript } from "../classicScripts";
import { APT_FUNCTIONS, aptConstants } from "../host/apt";
import { PACKAGE_INSTALL_FUNCTIONS, renderPackageRemovalScript, renderPackagesStep } from "../host/packages";
import { bash, bashConstant, renderScript } from "../host/script";
import { STATE_FUNCTIONS, stateConstants } from "../host/state";
import { JITSI_REPOSITORY, PROSODY_REPOSITORY } from "./repositories";

// --- classic-packages -------------------------------------------------------------------------

/**
 * Packages that the later steps run. curl and gnupg (gpg) fetch and convert the repository
 * keys, and ca-certificates lets curl and apt verify HTTPS. debconf-utils has
 * debconf-get-selections, openssl checks that the uploaded key matches the certificate, procps
 * has sysctl, and ufw is the firewall.
 */
function classicPackages(firewall: boolean): string[] {
    const packages = ["ca-certificates", "curl", "debconf-utils", "gnupg", "openssl", "procps"];
    if (firewall) {
        packages.push("ufw");
    }
    return packages;
}

export function renderClassicPackagesScript(firewall: boolean): ClassicHostScript {
    const script = renderPackagesStep({
        step: "classic-packages",
        packages: classicPackages(firewall),
        stateFileName: "classic-packages.installed",
        failureHint:
            "Check the apt-get output above, network access to the Debian mirror in /etc/apt/sources.list.d/, " +
            "free disk space, and /var/log/apt/term.log.",
    });
    return { ...script, stdinSecrets: [] };
}

// --- jitsi-meet -------------------------------------------------------------------------------

/*
 * nginx is installed on its own first. jitsi-meet-web-config depends on
 * "nginx | nginx-full | nginx-extras | apache2" and its postinst writes a site for the web server
 * that it finds installed, so installing nginx first fixes that choice. nginx-light satisfies
 * none of these alternatives (debian/control and debian/jitsi-meet-web-config.postinst in
 * jitsi/jitsi-meet).
 */
const JITSI_MEET_CREATE_BODY = bash`
# apt-get update only warns when it cannot reach a repository, so a missing jitsi-meet
# candidate is what shows that the Jitsi repository is not usable. Checking it first keeps
# nginx from being installed for a jitsi-meet that cannot follow.
if ! is_installed jitsi-meet; then
    if ! run_apt_get update; then
        fail "apt-get update failed. \${FAILURE_HINT}"
    fi
    candidate="$(apt-cache policy jitsi-meet | awk '$1 == "Candidate:" { print $2 }')"
    if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
        fail "apt knows no jitsi-meet package to install, so apt-get update did not get the package list of \${JITSI_REPOSITORY}; read its warnings above, and check that the apt-repositories step succeeded"
    fi
    echo "\${STEP}: jitsi-meet \${candidate} is available"
fi

install_missing_packages -- nginx
install_missing_packages -- jitsi-meet
`;

export function renderJitsiMeetScript(): ClassicHostScript {
    const step = "jitsi-meet";
    const failureHint =
        `Check the apt-get output above: apt-get update must reach ${JITSI_REPOSITORY.uri} and ${PROSODY_REPOSITORY.uri}, ` +
        "which the apt-repositories step sets up. The package scripts log to /var/log/apt/term.log.";
    const stateFileName = "jitsi-meet.installed";
    const constants = [...stateConstants(stateFileName), ...aptConstants()];
    return {
        name: step,
        stdinSecrets: [],
        create: renderScript({
            step,
            action: "create",
            failureHint,
            constants: [...constants, bashConstant("JITSI_REPOSITORY", `${JITSI_REPOSITORY.uri} ${JITSI_REPOSITORY.suite ?? ""}`)],
            body: [STATE_FUNCTIONS, APT_FUNCTIONS, PACKAGE_INSTALL_FUNCTIONS, JITSI_MEET_CREATE_BODY],
        }),
        // Delete uses "apt-get remove", not purge, so /etc/jitsi, the prosody accounts and the
        // nginx site stay, and a later create brings back the same service with the same secrets.
        delete: renderPackageRemovalScript(step, stateFileName, failureHint),
    };
}
