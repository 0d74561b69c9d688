// Prepares the Debian host: packages, the videobridge sysctl, the firewall and config directories.
import * as pulumi from "@pulumi/pulumi";

import { hostCommand, type HostConnection } from "./hostCommand";
import { renderDockerHostScripts, type HostScript } from "./render/hostScripts";

export interface DebianHostArgs {
    /** Target of the scripts: the local machine or a remote host over SSH. */
    readonly connection: HostConnection;
    /** SSH port that the firewall keeps open. Default: 22. */
    readonly sshPort?: number;
    /** Published HTTP port of the proxy. Default: 80. */
    readonly httpPort?: number;
    /** Published HTTPS port of the proxy. Default: 443. */
    readonly httpsPort?: number;
    /** UDP media port of jvb. Default: 10000. */
    readonly jvbPort?: number;
    /** Host directory for the containers' configuration. Default: /opt/jitsi-meet. */
    readonly configDir?: string;
    /** Whether ufw is managed. Default: true. */
    readonly firewall?: boolean;
}

/** A Debian host made ready for the Jitsi containers. */
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
        this.scripts = renderDockerHostScripts({
            sshPort: args.sshPort ?? 22,
            httpPort: args.httpPort ?? 80,
            httpsPort: args.httpsPort ?? 443,
            jvbPort: args.jvbPort ?? 10000,
            configDir: args.configDir ?? "/opt/jitsi-meet",
            firewall: args.firewall ?? true,
        });

        // Each step depends on the one before: the firewall step needs the ufw package, and
        // the directories must exist before any container mounts them.
        const steps: pulumi.Resource[] = [];
        for (const script of this.scripts) {
            steps.push(hostCommand(`${name}-${script.name}`, {
                connection: args.connection,
                create: script.create,
                delete: script.delete,
            }, { parent: this, dependsOn: steps.slice(-1) }));
        }
        this.ready = steps;
        this.registerOutputs({});
    }
}
