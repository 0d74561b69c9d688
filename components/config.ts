// Typed stack configuration: read, default and validate every key before any resource exists.
import * as net from "net";

import { checkProvidedCertificate } from "./tlsCheck";

/** Install mode of Jitsi Meet on the host. */
export type InstallMode = "docker" | "classic";

/** Source of the TLS certificate. */
export type TlsMode = "selfSigned" | "provided";

/** Key algorithm for generated keys. */
export type KeyAlgorithm = "ECDSA" | "RSA";

/** SSH access to a remote Debian host. */
export interface SshHost {
    /** Host name or IP address that the SSH client connects to. */
    readonly address: string;
    /** Login user; a user other than root needs password-less sudo. */
    readonly user: string;
    /** SSH port. */
    readonly port: number;
    /** PEM-encoded private key. Secret: wrap it with `pulumi.secret` before use. */
    readonly privateKey: string;
    /** Expected host public key, in `authorized_keys` form; unset means the host key is not checked. */
    readonly hostKey?: string;
}

/** TLS settings for a generated private CA and server certificate. */
export interface SelfSignedTls {
    readonly mode: "selfSigned";
    readonly keyAlgorithm: KeyAlgorithm;
    /** Extra DNS names in the server certificate, besides the domain. */
    readonly extraNames: readonly string[];
    /** Validity of the server certificate, in hours. */
    readonly validityHours: number;
    /** How long before expiry `pulumi up` replaces the server certificate, in hours. */
    readonly earlyRenewalHours: number;
}

/** TLS settings for a certificate and key supplied by the user. */
export interface ProvidedTls {
    readonly mode: "provided";
    /** PEM certificate chain, leaf first. Secret. */
    readonly certificatePem: string;
    /** PEM private key of the leaf certificate. Secret. */
    readonly privateKeyPem: string;
}

/** Managed hosts-file block that maps the domain to an address. */
export interface HostsSettings {
    /** Address the domain maps to; unset means no hosts-file entry is managed. */
    readonly address?: string;
    /** Also manage the block on the machine that runs Pulumi. */
    readonly onWorkstation: boolean;
    /** Path of the hosts file, on the host and on the workstation. */
    readonly file: string;
}

/** The validated configuration of one stack. */
export interface JitsiConfig {
    readonly domain: string;
    readonly installMode: InstallMode;
    /** Remote host over SSH; unset means the machine that runs Pulumi. */
    readonly host?: SshHost;
    /** Addresses that JVB advertises to clients as ICE candidates. */
    readonly advertiseIps: readonly string[];
    readonly imageRepository: string;
    readonly imageTag: string;
    readonly nginxImage: string;
    readonly timeZone: string;
    readonly httpPort: number;
    readonly httpsPort: number;
    /** Host address that the published ports bind to; unset means every address of the host. */
    readonly publishAddress?: string;
    /** UDP port for media; published by jvb. */
    readonly jvbPort: number;
    /** Subnet of the Docker network that the containers share. */
    readonly dockerSubnet: string;
    /** Host directory that contains the containers' bind-mounted configuration. */
    readonly configDir: string;
    /** Whether the host firewall (ufw) is managed. */
    readonly firewall: boolean;
    readonly tls: SelfSignedTls | ProvidedTls;
    readonly hosts: HostsSettings;
}

/**
 * Default values, one per optional key. Pulumi.yaml states the same defaults in its `config:`
 * schema, and a unit test keeps the two equal.
 */
export const DEFAULTS = {
    installMode: "docker",
    sshUser: "root",
    sshPort: 22,
    imageRepository: "ghcr.io/jitsi",
    imageTag: "stable-11146",
    nginxImage: "docker.io/library/nginx:1.28.0",
    timeZone: "UTC",
    httpPort: 80,
    httpsPort: 443,
    jvbPort: 10000,
    dockerSubnet: "172.28.0.0/24",
    configDir: "/opt/jitsi-meet",
    firewall: true,
    tlsMode: "selfSigned",
    tlsKeyAlgorithm: "ECDSA",
    tlsValidityDays: 90,
    tlsEarlyRenewalDays: 30,
    hostsOnWorkstation: false,
    hostsFile: "/etc/hosts",
} as const;

/** Raw values as stored in a stack file: every value is a string, or absent. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** Every configuration key that the program reads. */
export const CONFIG_KEYS = [
    "domain", "installMode",
    "hostAddress", "sshUser", "sshPort", "sshPrivateKey", "sshHostKey",
    "advertiseIps", "imageRepository", "imageTag", "nginxImage", "timeZone",
    "httpPort", "httpsPort", "jvbPort", "publishAddress", "dockerSubnet", "configDir", "firewall",
    "tlsMode", "tlsKeyAlgorithm", "tlsExtraNames", "tlsValidityDays", "tlsEarlyRenewalDays",
    "tlsCertificate", "tlsPrivateKey",
    "hostsAddress", "hostsOnWorkstation", "hostsFile",
] as const;

/** Keys whose values must be stored as secrets (`pulumi config set --secret`). */
export const SECRET_KEYS: readonly string[] = ["sshPrivateKey", "tlsCertificate", "tlsPrivateKey"];

/** One problem in the configuration. */
export interface ConfigProblem {
    readonly key: string;
    readonly message: string;
}

/** A configuration that failed validation; `problems` lists every bad key at once. */
export class ConfigError extends Error {
    constructor(readonly problems: readonly ConfigProblem[], namespace: string) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
            problems.map((p) => `  - ${namespace}:${p.key}: ${p.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

// Image tags that move over time. A stack must name a fixed release so that two runs deploy
// the same software.
const MOVING_TAGS = new Set(["latest", "stable", "unstable", "mainline"]);

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates `raw` and returns the typed configuration, or throws ConfigError listing every
 * problem. `now` is the time against which a provided certificate's validity is checked.
 */
export function parseConfig(
    raw: RawConfig,
    namespace = "jitsi-meet",
    now: Date = new Date(),
    storedAsSecret: readonly string[] = [],
): JitsiConfig {
    const problems: ConfigProblem[] = [];
    const reader = new Reader(raw, problems, new Set([...SECRET_KEYS, ...storedAsSecret]));

    for (const key of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            problems.push({ key, message: `unknown key; known keys are ${CONFIG_KEYS.join(", ")}` });
        }
    }

    const domain = reader.required("domain", "a DNS name such as meet.example.org", checkDomain);
    const installMode = reader.oneOf("installMode", ["docker", "classic"] as const, DEFAULTS.installMode);

    const host = readHost(reader);
    const sshPort = host?.port ?? DEFAULTS.sshPort;

    const listedIps = reader.list("advertiseIps", checkIp);
    const advertiseIps = installMode === "classic" ? [] : listedIps ?? defaultAdvertiseIps(host);
    const dockerSubnet = reader.optional("dockerSubnet", DEFAULTS.dockerSubnet, checkIpv4Subnet);
    // An invalid list has been reported already; an unset or empty one is reported here.
    // Classic mode leaves the addresses to the jitsi-videobridge2 package, so only docker mode needs them.
    const ipsMissing = advertiseIps.length === 0 && (listedIps === undefined || reader.value("advertiseIps")?.trim() === "[]");
    if (installMode === "docker" && ipsMissing) {
        problems.push({
            key: "advertiseIps",
            message: "missing; list the addresses that browsers reach the host on, for example " +
                "`pulumi config set --path 'advertiseIps[0]' 203.0.113.10`",
        });
    }
    for (const ip of advertiseIps) {
        const subnet = containerSubnetOf(ip, dockerSubnet);
        if (subnet) {
            problems.push({
                key: "advertiseIps",
                message: `${ip} is a container address (inside ${subnet}); list the host's public or LAN address instead`,
            });
        }
    }

    const imageRepository = reader.optional("imageRepository", DEFAULTS.imageRepository, checkRepository);
    const imageTag = reader.optional("imageTag", DEFAULTS.imageTag, checkJitsiTag);
    const nginxImage = reader.optional("nginxImage", DEFAULTS.nginxImage, checkPinnedImage);
    const timeZone = reader.optional("timeZone", DEFAULTS.timeZone, checkTimeZone);

    const httpPort = reader.port("httpPort", DEFAULTS.httpPort);
    const httpsPort = reader.port("httpsPort", DEFAULTS.httpsPort);
    const jvbPort = reader.port("jvbPort", DEFAULTS.jvbPort);
    const publishAddress = reader.optionalUnset("publishAddress", checkIp);
    checkPortCollisions(problems, { httpPort, httpsPort, sshPort: host ? sshPort : undefined });

    const configDir = reader.optional("configDir", DEFAULTS.configDir, checkAbsolutePath);
    const firewall = reader.boolean("firewall", DEFAULTS.firewall);
    const tls = readTls(reader, domain, now);

    const hostsAddress = reader.optionalUnset("hostsAddress", checkIp);
    const hostsOnWorkstation = reader.boolean("hostsOnWorkstation", DEFAULTS.hostsOnWorkstation);
    const hostsFile = reader.optional("hostsFile", DEFAULTS.hostsFile, checkAbsolutePath);
    if (hostsOnWorkstation && hostsAddress === undefined) {
        problems.push({ key: "hostsOnWorkstation", message: "is true but hostsAddress is unset; set hostsAddress to the address the domain should map to" });
    }

    if (installMode === "classic") {
        checkClassicMode(reader);
    }

    if (problems.length > 0) {
        throw new ConfigError(problems, namespace);
    }
    return {
        domain: domain!,
        installMode,
        host,
        advertiseIps,
        imageRepository,
        imageTag,
        nginxImage,
        timeZone,
        httpPort,
        httpsPort,
        jvbPort,
        publishAddress,
        dockerSubnet,
        configDir,
        firewall,
        tls: tls!,
        hosts: { address: hostsAddress, onWorkstation: hostsOnWorkstation, file: hostsFile },
    };
}

// A check returns undefined for a valid value, or the reason the value is invalid.
type Check = (value: string) => string | undefined;

/** Reads raw values and records a problem for each invalid one, so that all are reported together. */
class Reader {
    constructor(
        private readonly raw: RawConfig,
        private readonly problems: ConfigProblem[],
        private readonly secretKeys: ReadonlySet<string>,
    ) {}

    /** Quotes a value for an error message; the value of a secret key is never shown. */
    quoted(key: string, value: string): string {
        return this.secretKeys.has(key) ? "(secret, not shown)" : JSON.stringify(value);
    }

    value(key: string): string | undefined {
        const value = this.raw[key];
        return value === undefined || value === "" ? undefined : value;
    }

    /**
     * Returns whether `key` has a value other than its default. The Pulumi CLI fills in the defaults
     * from Pulumi.yaml, so a value equal to the default may never have been set by the user.
     */
    setToNonDefault(key: string, fallback?: string | number | boolean): boolean {
        const value = this.value(key);
        return value !== undefined && (fallback === undefined || value !== String(fallback));
    }

    fail(key: string, message: string): void {
        this.problems.push({ key, message });
    }

    required(key: string, expected: string, check: Check): string | undefined {
        const value = this.value(key);
        if (value === undefined) {
            this.fail(key, `missing; set it to ${expected}`);
            return undefined;
        }
        return this.checked(key, value, check) ? value : undefined;
    }

    optional(key: string, fallback: string, check: Check): string {
        const value = this.value(key);
        if (value === undefined) {
            return fallback;
        }
        return this.checked(key, value, check) ? value : fallback;
    }

    optionalUnset(key: string, check: Check): string | undefined {
        const value = this.value(key);
        if (value === undefined) {
            return undefined;
        }
        return this.checked(key, value, check) ? value : undefined;
    }

    oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
        const value = this.value(key);
        if (value === undefined) {
            return fallback;
        }
        if ((allowed as readonly string[]).includes(value)) {
            return value as T;
        }
        this.fail(key, `invalid value ${this.quoted(key, value)}; expected one of ${allowed.join(", ")}`);
        return fallback;
    }

    port(key: string, fallback: number): number {
        return this.integer(key, fallback, 1, 65535);
    }

    integer(key: string, fallback: number, min: number, max: number): number {
        const value = this.value(key);
        if (value === undefined) {
            return fallback;
        }
        const parsed = /^[0-9]+$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
            this.fail(key, `invalid value ${this.quoted(key, value)}; expected a whole number from ${min} to ${max}`);
            return fallback;
        }
        return parsed;
    }

    boolean(key: string, fallback: boolean): boolean {
        const value = this.value(key);
        if (value === undefined) {
            return fallback;
        }
        if (value === "true" || value === "false") {
            return value === "true";
        }
        this.fail(key, `invalid value ${this.quoted(key, value)}; expected true or false`);
        return fallback;
    }

    /** Reads a JSON array of strings, as `pulumi config set --path 'key[0]' value` stores it. */
    list(key: string, check: Check): string[] | undefined {
        const value = this.value(key);
        if (value === undefined) {
            return undefined;
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
            this.fail(key, `invalid value ${this.quoted(key, value)}; expected a list of strings, for example ["203.0.113.10"]`);
            return [];
        }
        const items = parsed as string[];
        const valid = items.filter((item) => this.checked(key, item, check));
        const duplicates = items.filter((item, index) => items.indexOf(item) !== index);
        for (const item of new Set(duplicates)) {
            this.fail(key, `${this.quoted(key, item)} is listed twice; list each value once`);
        }
        return valid;
    }

    private checked(key: string, value: string, check: Check): boolean {
        const reason = check(value);
        if (reason !== undefined) {
            this.fail(key, `invalid value ${this.quoted(key, value)}; ${reason}`);
            return false;
        }
        return true;
    }
}

function readHost(reader: Reader): SshHost | undefined {
    const address = reader.optionalUnset("hostAddress", checkHostAddress);
    const sshKeys: [string, string | number | undefined][] = [
        ["sshUser", DEFAULTS.sshUser], ["sshPort", DEFAULTS.sshPort], ["sshPrivateKey", undefined], ["sshHostKey", undefined],
    ];
    if (address === undefined) {
        if (reader.value("hostAddress") === undefined) {
            for (const [key] of sshKeys.filter(([k, fallback]) => reader.setToNonDefault(k, fallback))) {
                reader.fail(key, "is set but hostAddress is unset, so the program manages the local machine; set hostAddress or remove this key");
            }
        }
        return undefined;
    }
    const user = reader.optional("sshUser", DEFAULTS.sshUser, (v) =>
        /^[a-z_][a-z0-9_-]{0,31}$/.test(v) ? undefined : "expected a Unix user name such as root or debian");
    const port = reader.port("sshPort", DEFAULTS.sshPort);
    const privateKey = reader.required("sshPrivateKey",
        "the SSH private key, stored as a secret: `pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`",
        checkSshPrivateKey);
    const hostKey = reader.optionalUnset("sshHostKey", (v) =>
        /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/.test(v.trim())
            ? undefined : "expected a public key line such as `ssh-ed25519 AAAA...` (from ssh-keyscan)");
    return { address, user, port, privateKey: privateKey ?? "", hostKey };
}

function checkSshPrivateKey(value: string): string | undefined {
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) {
        return "expected a PEM or OpenSSH private key";
    }
    return isEncryptedPrivateKey(value)
        ? "the key is protected by a passphrase, which the program cannot enter; store a key without one, " +
            "for example a deployment key made with `ssh-keygen -t ed25519 -N ''`"
        : undefined;
}

/**
 * Returns whether a private key needs a passphrase: a PEM key marked ENCRYPTED, or an OpenSSH key whose
 * cipher name (the first string after the `openssh-key-v1` magic) is not "none".
 */
function isEncryptedPrivateKey(pem: string): boolean {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
        return true;
    }
    const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
    if (!openssh) {
        return false;
    }
    const body = Buffer.from(openssh[1].replace(/\s+/g, ""), "base64");
    const magic = "openssh-key-v1\0";
    if (body.length < magic.length + 4 || body.toString("latin1", 0, magic.length) !== magic) {
        return false;
    }
    const nameLength = body.readUInt32BE(magic.length);
    const cipher = body.toString("latin1", magic.length + 4, magic.length + 4 + nameLength);
    return cipher !== "none";
}

function defaultAdvertiseIps(host: SshHost | undefined): string[] {
    return host !== undefined && net.isIP(host.address) !== 0 ? [host.address] : [];
}

function readTls(reader: Reader, domain: string | undefined, now: Date): SelfSignedTls | ProvidedTls | undefined {
    const mode = reader.oneOf("tlsMode", ["selfSigned", "provided"] as const, DEFAULTS.tlsMode);
    const extraNames = reader.list("tlsExtraNames", checkDomain) ?? [];
    if (mode === "provided") {
        const selfSignedKeys: [string, string | number | undefined][] = [
            ["tlsKeyAlgorithm", DEFAULTS.tlsKeyAlgorithm], ["tlsValidityDays", DEFAULTS.tlsValidityDays],
            ["tlsEarlyRenewalDays", DEFAULTS.tlsEarlyRenewalDays], ["tlsExtraNames", undefined],
        ];
        for (const [key, fallback] of selfSignedKeys) {
            if (reader.setToNonDefault(key, fallback)) {
                reader.fail(key, "applies only to tlsMode selfSigned; remove it, or set tlsMode to selfSigned");
            }
        }
        const certificatePem = reader.required("tlsCertificate",
            "the PEM certificate chain, stored as a secret: `pulumi config set --secret tlsCertificate < fullchain.pem`",
            (v) => v.includes("-----BEGIN CERTIFICATE-----") ? undefined : "expected a PEM certificate (-----BEGIN CERTIFICATE-----)");
        const privateKeyPem = reader.required("tlsPrivateKey",
            "the PEM private key, stored as a secret: `pulumi config set --secret tlsPrivateKey < privkey.pem`",
            (v) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v) ? undefined : "expected a PEM private key");
        if (certificatePem === undefined || privateKeyPem === undefined || domain === undefined) {
            return undefined;
        }
        for (const problem of checkProvidedCertificate(certificatePem, privateKeyPem, domain, now)) {
            reader.fail(problem.key, problem.message);
        }
        return { mode, certificatePem, privateKeyPem };
    }

    for (const key of ["tlsCertificate", "tlsPrivateKey"]) {
        if (reader.value(key) !== undefined) {
            reader.fail(key, "applies only to tlsMode provided; set tlsMode to provided, or remove this key");
        }
    }
    const keyAlgorithm = reader.oneOf("tlsKeyAlgorithm", ["ECDSA", "RSA"] as const, DEFAULTS.tlsKeyAlgorithm);
    const validityDays = reader.integer("tlsValidityDays", DEFAULTS.tlsValidityDays, 2, 825);
    const earlyRenewalDays = reader.integer("tlsEarlyRenewalDays", DEFAULTS.tlsEarlyRenewalDays, 1, 824);
    if (earlyRenewalDays >= validityDays) {
        reader.fail("tlsEarlyRenewalDays", `is ${earlyRenewalDays}, which is not less than tlsValidityDays (${validityDays}); ` +
            "set it below the validity, for example a third of it");
    }
    return { mode, keyAlgorithm, extraNames, validityHours: validityDays * 24, earlyRenewalHours: earlyRenewalDays * 24 };
}

function checkDomain(value: string): string | undefined {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        return "remove the scheme; expected a bare DNS name such as meet.example.org";
    }
    if (value.endsWith(".") || value.endsWith("/")) {
        return "remove the trailing dot or slash; expected a bare DNS name such as meet.example.org";
    }
    if (value !== value.toLowerCase()) {
        return "use lower case only, because certificates, nginx and prosody compare names case-sensitively";
    }
    if (net.isIP(value) !== 0) {
        return "an IP address cannot be the meeting domain; expected a DNS name such as meet.example.org";
    }
    const labels = value.split(".");
    if (value.length > 253 || labels.length < 2 || !labels.every((label) => DNS_LABEL.test(label))) {
        return "expected a DNS name with at least two labels of letters, digits and hyphens, such as meet.example.org";
    }
    if (/^[0-9]+$/.test(labels[labels.length - 1])) {
        return "the last label must not be all digits; expected a DNS name such as meet.example.org";
    }
    return undefined;
}

function checkHostAddress(value: string): string | undefined {
    if (net.isIP(value) !== 0) {
        return undefined;
    }
    return checkDomain(value) === undefined ? undefined : "expected an IP address or a DNS name of the host";
}

function checkIp(value: string): string | undefined {
    if (net.isIP(value) === 0) {
        return "expected an IPv4 or IPv6 address such as 203.0.113.10";
    }
    if (value === "0.0.0.0" || value === "::") {
        return "the unspecified address cannot be reached by clients; list a real address of the host";
    }
    return undefined;
}

function checkIpv4Subnet(value: string): string | undefined {
    const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(value);
    if (!match || net.isIPv4(match[1]) === false || Number(match[2]) < 8 || Number(match[2]) > 28) {
        return "expected an IPv4 subnet in CIDR form with a prefix from /8 to /28, such as 172.28.0.0/24";
    }
    return undefined;
}

function checkRepository(value: string): string | undefined {
    return /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(value)
        ? undefined : "expected an image repository prefix such as ghcr.io/jitsi, without a tag";
}

function checkJitsiTag(value: string): string | undefined {
    if (MOVING_TAGS.has(value)) {
        return "moving tags deploy different software on each run; pin a release such as stable-11146";
    }
    return /^(stable|unstable)-[0-9]+(-[0-9]+)?$|^unstable-[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value)
        ? undefined : "expected a docker-jitsi-meet release tag such as stable-11146";
}

function checkPinnedImage(value: string): string | undefined {
    const digest = /@sha256:[0-9a-f]{64}$/.test(value);
    const tagMatch = /:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(value.replace(/@sha256:[0-9a-f]{64}$/, ""));
    if (!digest && !tagMatch) {
        return "expected an image with a pinned tag or digest, such as docker.io/library/nginx:1.28.0";
    }
    if (tagMatch && MOVING_TAGS.has(tagMatch[1]) && !digest) {
        return `the tag ${tagMatch[1]} moves over time; pin a version such as docker.io/library/nginx:1.28.0`;
    }
    return undefined;
}

function checkTimeZone(value: string): string | undefined {
    try {
        new Intl.DateTimeFormat("en-US", { timeZone: value });
        return undefined;
    } catch {
        return "expected an IANA time zone name such as UTC or Europe/Madrid";
    }
}

function checkAbsolutePath(value: string): string | undefined {
    return value.startsWith("/") && !value.split("/").includes("..") && !/[\s'"$`\\]/.test(value)
        ? undefined : "expected an absolute path without spaces, quotes or `..`, such as /opt/jitsi-meet";
}

// Keys that only the docker install mode reads, with their defaults and the reason.
const CONTAINERS_ONLY = "classic mode runs no containers";
const PACKAGE_PORTS = "the classic packages serve HTTP on port 80, HTTPS on 443 and media on UDP 10000";
const DOCKER_ONLY_KEYS: readonly [key: string, fallback: string | number | undefined, reason: string][] = [
    ["imageRepository", DEFAULTS.imageRepository, CONTAINERS_ONLY],
    ["imageTag", DEFAULTS.imageTag, CONTAINERS_ONLY],
    ["nginxImage", DEFAULTS.nginxImage, CONTAINERS_ONLY],
    ["dockerSubnet", DEFAULTS.dockerSubnet, CONTAINERS_ONLY],
    ["configDir", DEFAULTS.configDir, CONTAINERS_ONLY],
    ["httpPort", DEFAULTS.httpPort, PACKAGE_PORTS],
    ["httpsPort", DEFAULTS.httpsPort, PACKAGE_PORTS],
    ["jvbPort", DEFAULTS.jvbPort, PACKAGE_PORTS],
    ["publishAddress", undefined, PACKAGE_PORTS],
    // NOTE: the program does not configure jvb's addresses in classic mode; jitsi-videobridge2
    // keeps its packaged defaults, which find the public address through STUN.
    ["advertiseIps", undefined, "the jitsi-videobridge2 package finds the addresses to advertise itself"],
];

function checkClassicMode(reader: Reader): void {
    for (const [key, fallback, reason] of DOCKER_ONLY_KEYS) {
        if (reader.setToNonDefault(key, fallback)) {
            reader.fail(key, `applies only to installMode docker, because ${reason}; remove the key, or set installMode to docker`);
        }
    }
}

function checkPortCollisions(problems: ConfigProblem[], ports: { httpPort: number; httpsPort: number; sshPort?: number }): void {
    if (ports.httpPort === ports.httpsPort) {
        problems.push({ key: "httpsPort", message: `is ${ports.httpsPort}, the same as httpPort; the two listeners need different ports` });
    }
    for (const key of ["httpPort", "httpsPort"] as const) {
        if (ports.sshPort !== undefined && ports[key] === ports.sshPort) {
            problems.push({ key, message: `is ${ports[key]}, the same as sshPort; choose another port so SSH stays reachable` });
        }
    }
}

/** Returns the subnet that contains `ip` when it is a container address, else undefined. */
function containerSubnetOf(ip: string, dockerSubnet: string): string | undefined {
    // 172.17.0.0/16 is Docker's default bridge; dockerSubnet is the network this program creates.
    for (const subnet of ["172.17.0.0/16", dockerSubnet]) {
        if (ipv4InSubnet(ip, subnet)) {
            return subnet;
        }
    }
    return undefined;
}

function ipv4InSubnet(ip: string, subnet: string): boolean {
    const [base, prefix] = subnet.split("/");
    if (!net.isIPv4(ip) || !net.isIPv4(base)) {
        return false;
    }
    const toNumber = (address: string) => address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - Number(prefix));
    return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
}
