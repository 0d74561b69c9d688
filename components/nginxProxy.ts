// The nginx proxy container: TLS termination and routing to the Jitsi containers.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

import { PROXY_PATHS, renderNginxConf, type NginxOptions } from "./render/nginx";

export interface NginxProxyArgs {
    /** Docker provider for the host. */
    readonly provider: docker.Provider;
    /** Pinned nginx image, such as docker.io/library/nginx:1.28.0. */
    readonly image: string;
    /** Network that the Jitsi containers share. */
    readonly networkName: pulumi.Input<string>;
    /** Settings of the rendered nginx.conf. */
    readonly nginx: NginxOptions;
    /** PEM certificate chain that the proxy serves. */
    readonly certificatePem: pulumi.Input<string>;
    /** PEM private key. Secret. */
    readonly privateKeyPem: pulumi.Input<string>;
    /** Host directory that the ACME client writes challenge files to. */
    readonly acmeWebrootHostPath: string;
    /** Host ports for HTTP and HTTPS. */
    readonly httpPort: number;
    readonly httpsPort: number;
    /** Host address that the ports bind to; unset means every address of the host. */
    readonly publishAddress?: string;
    /** Resources that the container waits for, such as the Jitsi containers. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Docker container name. Default: jitsi-meet-proxy. */
    readonly containerName?: string;
}

/** The proxy container with its rendered config and certificate uploads. */
export class NginxProxy extends pulumi.ComponentResource {
    /** The rendered nginx.conf. */
    public readonly config: string;
    public readonly container: docker.Container;

    constructor(name: string, args: NginxProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jitsi:proxy:NginxProxy", name, {}, opts);
        const childOpts = { parent: this, provider: args.provider };

        this.config = renderNginxConf(args.nginx);
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, childOpts);

        this.container = new docker.Container(`${name}-container`, {
            name: args.containerName ?? "jitsi-meet-proxy",
            image: image.imageId,
            restart: "unless-stopped",
            networksAdvanced: [{ name: args.networkName }],
            ports: [
                { internal: 80, external: args.httpPort, protocol: "tcp", ip: args.publishAddress },
                { internal: 443, external: args.httpsPort, protocol: "tcp", ip: args.publishAddress },
            ],
            uploads: [
                { file: PROXY_PATHS.config, content: this.config },
                { file: PROXY_PATHS.certificate, content: args.certificatePem },
                { file: PROXY_PATHS.privateKey, content: pulumi.secret(args.privateKeyPem) },
            ],
            volumes: [{ hostPath: args.acmeWebrootHostPath, containerPath: PROXY_PATHS.acmeWebroot, readOnly: true }],
        }, {
            ...childOpts,
            dependsOn: args.dependsOn,
            // The name and the published ports are fixed, so the old container must go first.
            deleteBeforeReplace: true,
        });

        this.registerOutputs({});
    }
}
