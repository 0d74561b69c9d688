// Renders the bash scripts that turn a Debian host into a Jitsi Meet server from the Jitsi
// Debian packages (install mode "classic"): base packages, kernel settings, firewall, the Jitsi
// and Prosody apt repositories, the uploaded certificate, the debconf answers and the packages.
// Like the Docker-mode scripts, each runs as root through `bash -c`, records what it changed
// under HOST_STATE_DIR, and has a delete script that undoes exactly that. Secrets reach the
// scripts on standard input only, so they appear in no script text, command line or output.
//
// The steps live in ./classic, one module per step. The package steps build on the apt and
// package functions in ./host.
import { renderCertificateScript } from "./classic/certificate";
import { renderClassicPackagesScript, renderJitsiMeetScript } from "./classic/packages";
import { renderPreseedScript } from "./classic/preseed";
import { renderAptRepositoriesScript } from "./classic/repositories";
import { renderFirewallScript } from "./host/firewall";
import type { HostScript } from "./host/script";
import { renderSysctlScript } from "./host/sysctl";

export type { HostScript } from "./hostScripts";
export { CERTIFICATE_MODE, PRIVATE_KEY_MODE } from "./classic/certificate";
export { OWN_CERTIFICATE_CHOICE } from "./classic/preseed";
export { JITSI_REPOSITORY, PROSODY_REPOSITORY, type AptRepository } from "./classic/repositories";

/** Settings of the classic-mode host setup. */
export interface ClassicHostOptions {
    /** Meeting domain, e.g. meet.example.org; the packages name their nginx site and XMPP host after it. */
    readonly domain: string;
    readonly sshPort: number;
    /** UDP port of Jitsi Videobridge; the packages use 10000. */
    readonly jvbPort: number;
    /** Whether the host firewall (ufw) is managed. */
    readonly firewall: boolean;
    /** Path of the uploaded certificate on the host; debconf's jitsi-meet/cert-path-crt points here. */
    readonly certificatePath: string;
    /** Path of the uploaded private key on the host; debconf's jitsi-meet/cert-path-key points here. */
    readonly privateKeyPath: string;
}

/** Names of the secrets a script reads from standard input, one base64-encoded value per line, in this order. */
export type ClassicSecret = "certificatePem" | "privateKeyPem" | "jicofoAuthPassword" | "jvbSecret";

/** One classic-mode host setup step. */
export interface ClassicHostScript extends HostScript {
    /** Secrets that the create script reads from standard input; delete scripts read none. */
    readonly stdinSecrets: readonly ClassicSecret[];
}

/** Ports of the nginx site that jitsi-meet-web-config writes; the packages fix them. */
export const CLASSIC_HTTP_PORT = 80;
export const CLASSIC_HTTPS_PORT = 443;

/**
 * Returns the scripts of the classic-mode host setup in the order they must run:
 * classic-packages, sysctl, firewall (only when `options.firewall`), apt-repositories,
 * certificate, preseed and jitsi-meet. The sysctl and firewall steps are the Docker-mode ones.
 */
export function renderClassicHostScripts(options: ClassicHostOptions): ClassicHostScript[] {
    checkClassicHostOptions(options);
    const scripts: ClassicHostScript[] = [
        renderClassicPackagesScript(options.firewall),
        withoutSecrets(renderSysctlScript()),
    ];
    if (options.firewall) {
        // NOTE: these are the Docker-mode rules: SSH, 80/tcp, 443/tcp and the JVB UDP port. The
        // Jitsi self-hosting guide also opens coturn's 3478/udp (STUN) and 5349/tcp (TURN over
        // TCP when UDP is blocked), which stay closed here.
        scripts.push(withoutSecrets(renderFirewallScript({
            sshPort: options.sshPort,
            httpPort: CLASSIC_HTTP_PORT,
            httpsPort: CLASSIC_HTTPS_PORT,
            jvbPort: options.jvbPort,
        })));
    }
    scripts.push(
        renderAptRepositoriesScript(),
        renderCertificateScript(options),
        renderPreseedScript(options),
        renderJitsiMeetScript(),
    );
    return scripts;
}

function withoutSecrets(script: HostScript): ClassicHostScript {
    return { ...script, stdinSecrets: [] };
}

// --- options ----------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkClassicHostOptions(options: ClassicHostOptions): void {
    const labels = options.domain.split(".");
    if (options.domain.length > 253 || labels.length < 2 || !labels.every((label) => DNS_LABEL.test(label))) {
        throw new Error(
            `renderClassicHostScripts: invalid domain ${JSON.stringify(options.domain)}; expected a lower-case ` +
            "DNS name with at least two labels of letters, digits and hyphens, such as meet.example.org",
        );
    }
    for (const key of ["sshPort", "jvbPort"] as const) {
        const port = options[key];
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            throw new Error(`renderClassicHostScripts: invalid ${key} ${port}; expected a whole number from 1 to 65535`);
        }
    }
    for (const key of ["certificatePath", "privateKeyPath"] as const) {
        checkFilePath(key, options[key]);
    }
    if (options.certificatePath === options.privateKeyPath) {
        throw new Error(
            `renderClassicHostScripts: certificatePath and privateKeyPath are both ${options.certificatePath}; ` +
            "the certificate and the key need separate files",
        );
    }
}

/**
 * Throws unless `path` is an absolute file path that debconf can store as one word: no
 * whitespace, quotes, shell metacharacters, empty, . or .. components, and no trailing slash.
 */
function checkFilePath(key: string, path: string): void {
    const components = path.split("/").slice(1);
    const valid = path.startsWith("/") && components.length >= 2 &&
        components.every((part) => part !== "" && part !== "." && part !== "..") &&
        !/[\s'"$`\\\x00-\x1f\x7f]/.test(path);
    if (!valid) {
        throw new Error(
            `renderClassicHostScripts: invalid ${key} ${JSON.stringify(path)}; expected an absolute file path ` +
            "below a directory, without spaces, quotes, empty, . or .. components, such as /etc/ssl/jitsi-meet/meet.example.org.crt",
        );
    }
}
