// Renders the bash scripts that prepare a Debian host for the Docker install mode: packages,
// kernel settings, firewall and configuration directories. Each script runs as root through
// `bash -c`, over SSH or locally, and records what it changed under HOST_STATE_DIR so that its
// delete script undoes exactly that.
//
// The steps live in ./host, one module per step, with the script skeleton (script.ts) and the
// state-file and apt shell functions (state.ts, apt.ts) that the classic-mode steps share.
import { renderDirectoriesScript } from "./host/directories";
import { renderDockerPackagesScript } from "./host/dockerPackages";
import { renderFirewallScript } from "./host/firewall";
import type { HostScript } from "./host/script";
import { renderSysctlScript } from "./host/sysctl";

export { APT_LOCK_TIMEOUT_SECONDS } from "./host/apt";
export { CONFIG_DIR_MODE } from "./host/directories";
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
}

/**
 * Returns the scripts of the Docker-mode host setup in the order they must run. The firewall
 * step is left out when `options.firewall` is false.
 */
export function renderDockerHostScripts(options: DockerHostOptions): HostScript[] {
    checkDockerHostOptions(options);
    const scripts = [
        renderDockerPackagesScript(options.firewall),
        renderSysctlScript(),
    ];
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
}

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

