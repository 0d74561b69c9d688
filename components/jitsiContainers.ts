// The Jitsi containers (prosody, jicofo, jvb, web) on one user-defined Docker network.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import {
    type JitsiService,
    type PasswordName,
    renderServices,
    type ServiceSpec,
    type ServicesOptions,
} from "./render/services";

export interface JitsiContainersArgs extends ServicesOptions {
    /** Docker provider for the host; waits for the host setup. */
    readonly provider: docker.Provider;
    /** Subnet of the network, so that no advertised address can collide with it. */
    readonly subnet: string;
    /** Prefix of the Docker container and network names. Default: jitsi-meet. */
    readonly namePrefix?: string;
}

/** Network, images, passwords and the four Jitsi containers. */
export class JitsiContainers extends pulumi.ComponentResource {
    /** Name of the Docker network that the proxy joins. */
    public readonly networkName: pulumi.Output<string>;
    /** The container specs, without secrets. */
    public readonly specs: readonly ServiceSpec[];
    /** Container resources by service. */
    public readonly containers: Readonly<Record<JitsiService, docker.Container>>;
    /** Generated XMPP account passwords. Secret. */
    public readonly passwords: Readonly<Record<PasswordName, pulumi.Output<string>>>;

    constructor(name: string, args: JitsiContainersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jitsi:containers:JitsiContainers", name, {}, opts);
        const prefix = args.namePrefix ?? "jitsi-meet";
        const childOpts = { parent: this, provider: args.provider };

        // 32 letters and digits are about 190 bits. A password changes only when its resource is
        // replaced. Prosody registers the accounts again from the environment at every start, so
        // the replaced containers agree on the new password.
        // The provider marks `result` secret too, and the wrapper keeps it secret under any engine.
        const password = (service: string) => pulumi.secret(
            new random.RandomPassword(`${name}-${service}-password`, { length: 32, special: false }, { parent: this }).result);
        const passwords = {
            JICOFO_AUTH_PASSWORD: password("jicofo"),
            JVB_AUTH_PASSWORD: password("jvb"),
        };
        this.passwords = passwords;

        const network = new docker.Network(`${name}-network`, {
            name: `${prefix}`,
            driver: "bridge",
            ipamConfigs: [{ subnet: args.subnet }],
        }, childOpts);
        this.networkName = network.name;

        this.specs = renderServices(args);
        const containers: Partial<Record<JitsiService, docker.Container>> = {};
        for (const spec of this.specs) {
            const image = new docker.RemoteImage(`${name}-${spec.service}-image`, {
                name: spec.image,
                // Another stack or a rollback may still use the image; removing it would only force a new download.
                keepLocally: true,
            }, childOpts);

            const environment = pulumi
                .all(spec.passwordVariables.map((variable) => passwords[variable].apply((value) => `${variable}=${value}`)))
                .apply((secrets) => [...Object.entries(spec.environment).map(([key, value]) => `${key}=${value}`), ...secrets]);

            containers[spec.service] = new docker.Container(`${name}-${spec.service}`, {
                name: `${prefix}-${spec.service}`,
                image: image.imageId,
                restart: "unless-stopped",
                envs: environment,
                networksAdvanced: [{ name: network.name, aliases: [spec.alias] }],
                ports: spec.ports.map((port) => ({ internal: port.internal, external: port.external, protocol: port.protocol, ip: port.ip })),
                volumes: spec.mounts.map((mount) => ({ hostPath: mount.hostPath, containerPath: mount.containerPath })),
                healthcheck: spec.healthcheck === undefined ? undefined : {
                    tests: [...spec.healthcheck],
                    interval: "10s",
                    timeout: "5s",
                    retries: 5,
                    startPeriod: "60s",
                },
                readOnly: spec.readOnlyRootFilesystem,
                tmpfs: spec.tmpfs,
            }, {
                ...childOpts,
                // jicofo, jvb and web log in to prosody, so prosody is created first.
                dependsOn: spec.service === "prosody" || containers.prosody === undefined ? [] : [containers.prosody],
                // The container name is fixed, so the old container must go before its replacement starts.
                deleteBeforeReplace: true,
            });
        }
        this.containers = containers as Record<JitsiService, docker.Container>;

        this.registerOutputs({ networkName: this.networkName });
    }
}
