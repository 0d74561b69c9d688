// Prepares the Debian host: packages, the videobridge sysctl, the firewall and either the
// directories for the Jitsi containers or the classic jitsi-meet packages.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { hostCommand, type HostConnection } from "./hostCommand";
import { type ClassicSecret, renderClassicHostScripts } from "./render/classicScripts";
import { renderDockerHostScripts, type HostScript } from "./render/hostScripts";

/** Settings of the classic install, where the Debian jitsi-meet packages serve the domain. */
export interface ClassicInstallArgs {
    /** Public domain; the packages configure their nginx site and jvb for it. */
    readonly domain: string;
    /** PEM certificate chain that the packages' nginx site serves. */
    readonly certificatePem: pulumi.Input<string>;
    /** PEM private key of the certificate. Secret. */
    readonly privateKeyPem: pulumi.Input<string>;
}

export interface DebianHostArgs {
    /** Target of the scripts: the local machine or a remote host over SSH. */
    readonly connection: HostConnection;
    /** SSH port that the firewall keeps open. Default: 22. */
    readonly sshPort?: number;
    /** Published HTTP port of the proxy (docker mode). Default: 80. */
    readonly httpPort?: number;
    /** Published HTTPS port of the proxy (docker mode). Default: 443. */
    readonly httpsPort?: number;
    /** UDP media port of jvb. Default: 10000. */
    readonly jvbPort?: number;
    /** Host directory for the containers' configuration (docker mode). Default: /opt/jitsi-meet. */
    readonly configDir?: string;
    /** Whether ufw is managed. Default: true. */
    readonly firewall?: boolean;
    /**
     * SSH login user of a remote host (docker mode). A user other than root is added to the docker
     * group, so that the Pulumi Docker provider can reach the engine as that user. Unset for the
     * local machine.
     */
    readonly sshUser?: string;
    /** Classic install settings; unset means docker mode, which installs the Docker engine instead. */
    readonly classic?: ClassicInstallArgs;
}

/** One rendered setup step and the secrets it reads from standard input. */
interface SetupStep {
    readonly script: HostScript;
    readonly stdin?: pulumi.Output<string>;
}

/** A Debian host made ready for Jitsi Meet. */
export class DebianHost extends pulumi.ComponentResource {
    /** Connection that other components use to run commands on the same host. */
    public readonly connection: HostConnection;
    /** The setup steps; depend on these before using the host. */
    public readonly ready: pulumi.Resource[];
    /** The rendered scripts, in the order they run. */
    public readonly scripts: readonly HostScript[];

    constructor(name: string, args: DebianHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jitsi:host:DebianHost", name, {}, opts);

        this.connection = args.connection;
        const steps = args.classic === undefined ? dockerSteps(args) : this.classicSteps(name, args, args.classic);
        this.scripts = steps.map((step) => step.script);

        // Each step depends on the one before: the firewall step needs the ufw package, the
        // directories must exist before any container mounts them, and in classic mode the
        // packages install only after the repositories and the preseed are in place.
        const resources: pulumi.Resource[] = [];
        for (const step of steps) {
            resources.push(hostCommand(`${name}-${step.script.name}`, {
                connection: args.connection,
                create: step.script.create,
                delete: step.script.delete,
                stdin: step.stdin,
            }, { parent: this, dependsOn: resources.slice(-1) }));
        }
        this.ready = resources;
        this.registerOutputs({});
    }

    private classicSteps(name: string, args: DebianHostArgs, classic: ClassicInstallArgs): SetupStep[] {
        // The packages store these in debconf and in their config files; see the docker-mode
        // passwords in JitsiContainers for the length.
        const password = (account: string) => pulumi.secret(
            new random.RandomPassword(`${name}-${account}-password`, { length: 32, special: false }, { parent: this }).result);
        const secrets: Record<ClassicSecret, pulumi.Input<string>> = {
            certificatePem: classic.certificatePem,
            privateKeyPem: pulumi.secret(classic.privateKeyPem),
            jicofoAuthPassword: password("jicofo"),
            jvbSecret: password("jvb"),
        };

        const scripts = renderClassicHostScripts({
            domain: classic.domain,
            sshPort: args.sshPort ?? 22,
            jvbPort: args.jvbPort ?? 10000,
            firewall: args.firewall ?? true,
            certificatePath: `/etc/ssl/jitsi-meet/${classic.domain}.crt`,
            privateKeyPath: `/etc/ssl/jitsi-meet/${classic.domain}.key`,
        });
        return scripts.map((script) => ({
            script,
            // One base64 line per secret keeps multi-line PEMs apart on standard input.
            stdin: script.stdinSecrets.length === 0 ? undefined : pulumi.secret(pulumi
                .all(script.stdinSecrets.map((secret) => secrets[secret]))
                .apply((values) => values.map((value) => Buffer.from(value, "utf8").toString("base64")).join("\n") + "\n")),
        }));
    }
}

function dockerSteps(args: DebianHostArgs): SetupStep[] {
    return renderDockerHostScripts({
        sshPort: args.sshPort ?? 22,
        httpPort: args.httpPort ?? 80,
        httpsPort: args.httpsPort ?? 443,
        jvbPort: args.jvbPort ?? 10000,
        configDir: args.configDir ?? "/opt/jitsi-meet",
        firewall: args.firewall ?? true,
        sshUser: args.sshUser,
    }).map((script) => ({ script }));
}
