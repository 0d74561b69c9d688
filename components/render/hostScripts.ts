// Renders the bash scripts that prepare a Debian host for the Docker install mode: packages,
// the SSH user's access to Docker, kernel settings, firewall and configuration directories. Each script runs as root through
// `bash -c`, over SSH or locally, and records what it changed under HOST_STATE_DIR so that its
// delete script undoes exactly that.
//
// The steps live in ./host, one module per step, with the script skeleton (script.ts) and the
// state-file and apt shell functions (state.ts, apt.ts) that the classic-mode steps share.
import { renderDirectoriesScript } from "./host/directories";
import { renderDockerAccessScript } from "./host/dockerAccess";
import { renderDockerPackagesScript } from "./host/dockerPackages";
import { renderFirewallScript } from "./host/firewall";
import type { HostScript } from "./host/script";
import { renderSysctlScript } from "./host/sysctl";

export { APT_LOCK_TIMEOUT_SECONDS } from "./host/apt";
export { ACME_WEBROOT_MODE, ACME_WEBROOT_OWNER, CONFIG_DIR_MODE } from "./host/directories";
export { DOCKER_GROUP } from "./host/dockerAccess";
export { HOST_STATE_DIR, bash, bashConstant, renderScript, shellQuote, type HostScript, type ScriptParts } from "./host/script";
export { SYSCTL_FILE, SYSCTL_SETTINGS } from "./host/sysctl";

/** Settings of the Docker-mode host setup. */
export interface DockerHostOptions {
    readonly sshPort: number;
    readonly httpPort: number;
    readonly httpsPort: number;
    readonly jvbPort: number;
    /** Absolute path of the host directory that contains the containers' bind-mounted configuration. */
    readonly configDir: string;
    /** Whether the host firewall (ufw) is managed. */
    readonly firewall: boolean;
    /**
     * User that the Pulumi Docker provider logs in as over SSH, which the docker-access step adds
     * to the docker group. Unset (the local machine) or "root" renders no such step.
     */
    readonly sshUser?: string;
}

/**
 * Returns the scripts of the Docker-mode host setup in the order they must run. The
 * docker-access step is rendered only for an `options.sshUser` other than root, and the firewall
 * step only when `options.firewall` is true.
 */
export function renderDockerHostScripts(options: DockerHostOptions): HostScript[] {
    checkDockerHostOptions(options);
    const scripts = [renderDockerPackagesScript(options.firewall)];
    if (options.sshUser !== undefined && options.sshUser !== "root") {
        scripts.push(renderDockerAccessScript(options.sshUser));
    }
    scripts.push(renderSysctlScript());
    if (options.firewall) {
        scripts.push(renderFirewallScript(options));
    }
    scripts.push(renderDirectoriesScript(normalizeDirectory(options.configDir)));
    return scripts;
}

function checkDockerHostOptions(options: DockerHostOptions): void {
    for (const key of ["sshPort", "httpPort", "httpsPort", "jvbPort"] as const) {
        const port = options[key];
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            throw new Error(`renderDockerHostScripts: invalid ${key} ${port}; expected a whole number from 1 to 65535`);
        }
    }
    normalizeDirectory(options.configDir);
    if (options.sshUser !== undefined && !USER_NAME.test(options.sshUser)) {
        throw new Error(
            `renderDockerHostScripts: invalid sshUser ${JSON.stringify(options.sshUser)}; expected a Unix user name ` +
            "of at most 32 lower-case letters, digits, _ or -, not starting with a digit or -, such as debian",
        );
    }
}

/** Unix user names that the host scripts accept, the same rule as the sshUser setting. */
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Returns `directory` without a trailing slash, or throws when it is not a plain absolute path. */
function normalizeDirectory(directory: string): string {
    const trimmed = directory.length > 1 ? directory.replace(/\/+$/, "") : directory;
    const components = trimmed.split("/").slice(1);
    const valid = trimmed.startsWith("/") && trimmed !== "/" &&
        components.every((part) => part !== "" && part !== "." && part !== "..") &&
        !/[\s'"$`\\\x00-\x1f\x7f]/.test(trimmed);
    if (!valid) {
        throw new Error(
            `renderDockerHostScripts: invalid configDir ${JSON.stringify(directory)}; expected an absolute path ` +
            "other than / without spaces, quotes, empty, . or .. components, such as /opt/jitsi-meet",
        );
    }
    return trimmed;
}

