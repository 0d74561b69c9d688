// Composes the whole deployment from a validated configuration.
import * as net from "net";

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import type { JitsiConfig } from "./config";
import { DebianHost } from "./debianHost";
import { hostConnection } from "./hostCommand";
import { HostsEntry } from "./hostsEntry";
import { JitsiContainers } from "./jitsiContainers";
import { NginxProxy } from "./nginxProxy";
import { nginxVersionOf, releaseTraits } from "./render/images";
import { ACME_WEBROOT_SUBDIR } from "./render/layout";
import { PROSODY_HTTP_PORT, publicUrl, SERVICE_ALIASES, XMPP_NAMES } from "./render/services";
import { TlsMaterial } from "./tlsMaterial";

export interface JitsiDeploymentArgs {
    /** The validated stack configuration. */
    readonly config: JitsiConfig;
    /** Stack name; it marks the managed hosts-file block. */
    readonly stack: string;
}

/** A DNS record that a real zone needs for the domain. */
export interface DnsRecord {
    readonly name: string;
    readonly type: "A" | "AAAA";
    readonly value: string;
}

// nginx versions in digest-only references cannot be read; such images are assumed to be current.
const CURRENT_NGINX: [number, number, number] = [1, 28, 0];

/** Host setup, TLS, the Jitsi containers, the proxy and the hosts entries of one stack. */
export class JitsiDeployment extends pulumi.ComponentResource {
    public readonly url: string;
    public readonly caCertificatePem: pulumi.Output<string> | undefined;
    public readonly advertisedIps: readonly string[];
    public readonly dnsRecords: readonly DnsRecord[];

    constructor(name: string, args: JitsiDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jitsi:index:JitsiDeployment", name, {}, opts);
        const config = args.config;
        const connection = hostConnection(config.host);

        const tlsMaterial = new TlsMaterial(`${name}-tls`, { domain: config.domain, tls: config.tls }, { parent: this });

        const host = new DebianHost(`${name}-host`, {
            connection,
            sshPort: config.host?.port ?? 22,
            httpPort: config.httpPort,
            httpsPort: config.httpsPort,
            jvbPort: config.jvbPort,
            configDir: config.configDir,
            firewall: config.firewall,
            sshUser: config.host?.user,
            classic: config.installMode === "classic"
                ? { domain: config.domain, certificatePem: tlsMaterial.certificatePem, privateKeyPem: tlsMaterial.privateKeyPem }
                : undefined,
        }, { parent: this });

        if (config.installMode === "docker") {
            this.declareContainers(name, config, host, tlsMaterial);
        }

        if (config.hosts.address !== undefined) {
            const entries = [{ address: config.hosts.address, names: [config.domain] }];
            const blockId = `jitsi-meet ${args.stack}`;
            new HostsEntry(`${name}-hosts`, { connection, file: config.hosts.file, blockId, entries }, { parent: this });
            // On the dev stack the host is the workstation, so one block serves both.
            if (config.hosts.onWorkstation && config.host !== undefined) {
                new HostsEntry(`${name}-workstation-hosts`, {
                    connection: { kind: "local" },
                    file: config.hosts.file,
                    blockId,
                    entries,
                }, { parent: this });
            }
        }

        this.url = `${publicUrl(config.domain, config.httpsPort)}/`;
        this.caCertificatePem = tlsMaterial.caCertificatePem;
        this.advertisedIps = config.advertiseIps;
        // Docker mode: the addresses jvb advertises. Classic mode: the host's address when it is an IP.
        const hostIps = config.host !== undefined && net.isIP(config.host.address) !== 0 ? [config.host.address] : [];
        const publicIps = config.installMode === "docker" ? config.advertiseIps : hostIps;
        this.dnsRecords = publicIps
            .filter((ip) => !isLoopback(ip))
            .map((ip): DnsRecord => ({ name: config.domain, type: ip.includes(":") ? "AAAA" : "A", value: ip }));
        this.registerOutputs({
            url: this.url,
            caCertificatePem: this.caCertificatePem,
            advertisedIps: this.advertisedIps,
            dnsRecords: this.dnsRecords,
        });
    }

    /** Declares the Docker provider, the Jitsi containers and the proxy (docker mode). */
    private declareContainers(name: string, config: JitsiConfig, host: DebianHost, tlsMaterial: TlsMaterial): void {
        const provider = new docker.Provider(`${name}-docker`, {
            host: config.host === undefined
                ? "unix:///var/run/docker.sock"
                : `ssh://${config.host.user}@${config.host.address}:${config.host.port}`,
            // NOTE: the Docker provider connects through the local OpenSSH client, so the key must
            // also be in ssh-agent or ~/.ssh/config. The sshPrivateKey secret reaches only the host scripts.
            sshOpts: config.host === undefined ? undefined : ["-o", "BatchMode=yes"],
        }, { parent: this, dependsOn: host.ready });

        const containers = new JitsiContainers(`${name}-containers`, {
            provider,
            subnet: config.dockerSubnet,
            domain: config.domain,
            httpsPort: config.httpsPort,
            imageRepository: config.imageRepository,
            imageTag: config.imageTag,
            timeZone: config.timeZone,
            advertiseIps: config.advertiseIps,
            jvbPort: config.jvbPort,
            publishAddress: config.publishAddress,
            configDir: config.configDir,
        }, { parent: this, dependsOn: host.ready });

        const traits = releaseTraits(config.imageTag);
        new NginxProxy(`${name}-proxy`, {
            provider,
            image: config.nginxImage,
            networkName: containers.networkName,
            nginx: {
                domain: config.domain,
                publicHttpsPort: config.httpsPort,
                xmppDomain: XMPP_NAMES.XMPP_DOMAIN,
                prosodyHost: SERVICE_ALIASES.prosody,
                prosodyHttpPort: PROSODY_HTTP_PORT,
                webHost: SERVICE_ALIASES.web,
                webHttpPort: traits.webHttpPort,
                jvbHost: SERVICE_ALIASES.jvb,
                colibriWebsocket: traits.colibriWebsocket,
                resolver: "127.0.0.11",
                nginxVersion: nginxVersionOf(config.nginxImage) ?? CURRENT_NGINX,
            },
            certificatePem: tlsMaterial.certificatePem,
            privateKeyPem: tlsMaterial.privateKeyPem,
            acmeWebrootHostPath: `${config.configDir}/${ACME_WEBROOT_SUBDIR}`,
            httpPort: config.httpPort,
            httpsPort: config.httpsPort,
            publishAddress: config.publishAddress,
            dependsOn: [tlsMaterial, ...host.ready],
        }, { parent: this });
    }
}

function isLoopback(ip: string): boolean {
    return ip === "::1" || ip.startsWith("127.");
}
