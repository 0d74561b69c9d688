// Starts the Docker network and containers that the program declares, as recorded under the mock
// engine, on the local Docker engine. Like the Pulumi Docker provider, it creates each container,
// uploads its files, then starts it, and starts a container after those it depends on.
//
// Test-side adaptations, each applied where marked "Adaptation:" below:
// - Jitsi and nginx images are replaced by the local stand-ins of test/e2e/standins.
// - Bind-mounted host paths are moved under a temporary directory owned by uid 1000.
// - The network name gets a suffix with the run id, so it cannot collide with a real deployment.
// Every other declared input is applied as declared, and an input that this file does not know
// raises an error instead of being dropped.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import type { Evaluation, RecordedResource } from "../../tools/evaluate";
import * as docker from "./dockerEngine";

const CONTAINER_TYPE = "docker:index/container:Container";
const NETWORK_TYPE = "docker:index/network:Network";
const REMOTE_IMAGE_TYPE = "docker:index/remoteImage:RemoteImage";

/** uid and gid that own the remapped host directories; the Jitsi images run as uid 1000. */
export const CONTAINER_UID = 1000;

/**
 * Stand-in image per declared image repository name (the last path component). run.sh builds
 * them under these references from test/e2e/standins/Dockerfile.
 */
export const STANDIN_IMAGES: Readonly<Record<string, string>> = {
    prosody: "jitsi-e2e/standin-prosody:latest",
    jicofo: "jitsi-e2e/standin-jicofo:latest",
    jvb: "jitsi-e2e/standin-jvb:latest",
    web: "jitsi-e2e/standin-web:latest",
    nginx: "jitsi-e2e/standin-proxy:latest",
};

/** Container inputs that `start` applies; any other declared input raises an error. */
const APPLIED_INPUTS = new Set([
    "name", "image", "envs", "networksAdvanced", "ports", "volumes", "uploads",
    "healthcheck", "readOnly", "tmpfs", "restart",
]);

/** A container as declared, with its inputs checked and typed. */
export interface DeclaredContainer {
    readonly urn: string;
    readonly name: string;
    /** Reference from the RemoteImage that the container's `image` input comes from. */
    readonly imageReference: string;
    readonly envs: readonly string[];
    readonly networks: readonly { name: string; aliases: readonly string[] }[];
    readonly ports: readonly { internal: number; external: number; protocol: string; ip?: string }[];
    readonly volumes: readonly { hostPath: string; containerPath: string; readOnly: boolean }[];
    readonly uploads: readonly { file: string; content: Buffer; mode: number }[];
    readonly healthcheck?: {
        readonly tests: readonly string[];
        readonly interval?: string;
        readonly timeout?: string;
        readonly startPeriod?: string;
        readonly retries?: number;
    };
    readonly readOnly: boolean;
    readonly tmpfs: Readonly<Record<string, string>>;
    readonly restart: string;
    /** URNs of the declared containers that must start first. */
    readonly containerDependencies: readonly string[];
}

export interface DeclaredNetwork {
    readonly name: string;
    readonly driver: string;
    readonly subnets: readonly string[];
}

function record(value: unknown, what: string): Record<string, unknown> {
    assert.ok(value !== null && typeof value === "object", `${what} must be an object, got ${JSON.stringify(value)}`);
    assert.ok(!Array.isArray(value), `${what} must be an object, got a list`);
    return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
    if (value === undefined) {
        return [];
    }
    assert.ok(Array.isArray(value), `${what} must be a list, got ${JSON.stringify(value)}`);
    return value;
}

function text(value: unknown, what: string): string {
    assert.strictEqual(typeof value, "string", `${what} must be a string, got ${JSON.stringify(value)}`);
    return value as string;
}

function integer(value: unknown, what: string): number {
    assert.ok(Number.isInteger(value), `${what} must be an integer, got ${JSON.stringify(value)}`);
    return value as number;
}

function optionalText(value: unknown, what: string): string | undefined {
    return value === undefined ? undefined : text(value, what);
}

/** Upload file mode: `permissions` as an octal string, else 0744 when executable and 0644 otherwise, as the provider does. */
function uploadMode(upload: Record<string, unknown>, what: string): number {
    if (upload.permissions !== undefined) {
        const permissions = text(upload.permissions, `${what}.permissions`);
        assert.match(permissions, /^0?[0-7]{3,4}$/, `${what}.permissions must be an octal mode such as 0644`);
        return parseInt(permissions, 8);
    }
    return upload.executable === true ? 0o744 : 0o644;
}

function declaredUploads(inputs: Record<string, unknown>, container: string): DeclaredContainer["uploads"] {
    return list(inputs.uploads, `${container}.uploads`).map((item, index) => {
        const what = `${container}.uploads[${index}]`;
        const upload = record(item, what);
        for (const key of ["source", "sourceHash", "owner", "group"]) {
            assert.strictEqual(upload[key], undefined, `${what}.${key} is declared, but the end-to-end harness does not apply it`);
        }
        const file = text(upload.file, `${what}.file`);
        assert.ok(path.posix.isAbsolute(file), `${what}.file must be an absolute path, got ${file}`);
        const content = upload.contentBase64 !== undefined
            ? Buffer.from(text(upload.contentBase64, `${what}.contentBase64`), "base64")
            : Buffer.from(text(upload.content, `${what}.content`), "utf8");
        return { file, content, mode: uploadMode(upload, what) };
    });
}

function declaredContainer(resource: RecordedResource, evaluation: Evaluation, containerUrns: ReadonlySet<string>): DeclaredContainer {
    const inputs = resource.inputs;
    const what = resource.name;
    for (const key of Object.keys(inputs)) {
        assert.ok(APPLIED_INPUTS.has(key), `${what} declares input '${key}', which the end-to-end harness does not apply; extend test/e2e/deployment.ts`);
    }

    const images = evaluation.resources.filter((r) => r.type === REMOTE_IMAGE_TYPE && resource.dependencies.includes(r.urn));
    assert.strictEqual(images.length, 1, `${what} must depend on exactly one RemoteImage, found ${images.map((r) => r.name).join(", ") || "none"}`);

    const healthcheck = inputs.healthcheck === undefined ? undefined : record(inputs.healthcheck, `${what}.healthcheck`);
    return {
        urn: resource.urn,
        name: text(inputs.name, `${what}.name`),
        imageReference: text(images[0].inputs.name, `${images[0].name}.name`),
        envs: list(inputs.envs, `${what}.envs`).map((item, index) => text(item, `${what}.envs[${index}]`)),
        networks: list(inputs.networksAdvanced, `${what}.networksAdvanced`).map((item, index) => {
            const network = record(item, `${what}.networksAdvanced[${index}]`);
            return {
                name: text(network.name, `${what}.networksAdvanced[${index}].name`),
                aliases: list(network.aliases, `${what}.networksAdvanced[${index}].aliases`).map((alias) => text(alias, `${what} alias`)),
            };
        }),
        ports: list(inputs.ports, `${what}.ports`).map((item, index) => {
            const port = record(item, `${what}.ports[${index}]`);
            return {
                internal: integer(port.internal, `${what}.ports[${index}].internal`),
                external: integer(port.external, `${what}.ports[${index}].external`),
                protocol: optionalText(port.protocol, `${what}.ports[${index}].protocol`) ?? "tcp",
                ip: optionalText(port.ip, `${what}.ports[${index}].ip`),
            };
        }),
        volumes: list(inputs.volumes, `${what}.volumes`).map((item, index) => {
            const volume = record(item, `${what}.volumes[${index}]`);
            const hostPath = text(volume.hostPath, `${what}.volumes[${index}].hostPath`);
            assert.ok(path.isAbsolute(hostPath), `${what}.volumes[${index}].hostPath must be absolute, got ${hostPath}`);
            return {
                hostPath,
                containerPath: text(volume.containerPath, `${what}.volumes[${index}].containerPath`),
                readOnly: volume.readOnly === true,
            };
        }),
        uploads: declaredUploads(inputs, what),
        healthcheck: healthcheck === undefined ? undefined : {
            tests: list(healthcheck.tests, `${what}.healthcheck.tests`).map((item) => text(item, `${what}.healthcheck.tests`)),
            interval: optionalText(healthcheck.interval, `${what}.healthcheck.interval`),
            timeout: optionalText(healthcheck.timeout, `${what}.healthcheck.timeout`),
            startPeriod: optionalText(healthcheck.startPeriod, `${what}.healthcheck.startPeriod`),
            retries: healthcheck.retries === undefined ? undefined : integer(healthcheck.retries, `${what}.healthcheck.retries`),
        },
        readOnly: inputs.readOnly === true,
        tmpfs: Object.fromEntries(Object.entries(record(inputs.tmpfs ?? {}, `${what}.tmpfs`))
            .map(([mountPoint, options]) => [mountPoint, text(options, `${what}.tmpfs.${mountPoint}`)])),
        // The provider's default restart policy is "no".
        restart: optionalText(inputs.restart, `${what}.restart`) ?? "no",
        containerDependencies: resource.dependencies.filter((urn) => containerUrns.has(urn)),
    };
}

/** Reads the declared network and containers of an evaluation, containers in start order. */
export function declaredDeployment(evaluation: Evaluation): { network: DeclaredNetwork; containers: DeclaredContainer[] } {
    const networks = evaluation.resources.filter((r) => r.type === NETWORK_TYPE);
    assert.strictEqual(networks.length, 1, `expected one declared Docker network, found ${networks.length}`);
    const networkInputs = networks[0].inputs;
    const network: DeclaredNetwork = {
        name: text(networkInputs.name, "network name"),
        driver: optionalText(networkInputs.driver, "network driver") ?? "bridge",
        subnets: list(networkInputs.ipamConfigs, "network ipamConfigs")
            .map((item, index) => text(record(item, `ipamConfigs[${index}]`).subnet, `ipamConfigs[${index}].subnet`)),
    };

    const resources = evaluation.resources.filter((r) => r.type === CONTAINER_TYPE);
    const urns = new Set(resources.map((r) => r.urn));
    const pending = resources.map((r) => declaredContainer(r, evaluation, urns));

    // Dependencies first, as the engine creates them.
    const ordered: DeclaredContainer[] = [];
    while (pending.length > 0) {
        const index = pending.findIndex((c) => c.containerDependencies.every((urn) => ordered.some((done) => done.urn === urn)));
        assert.ok(index >= 0, `the declared containers depend on each other in a cycle: ${pending.map((c) => c.name).join(", ")}`);
        ordered.push(...pending.splice(index, 1));
    }
    return { network, containers: ordered };
}

/** Converts a Go duration such as "10s", "1m30s" or "500ms" to nanoseconds, as Docker expects. */
export function durationNanoseconds(duration: string): number {
    const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    const parts = [...duration.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)/g)];
    assert.ok(parts.length > 0 && parts.map((p) => p[0]).join("") === duration, `invalid duration '${duration}': expected a Go duration such as 10s`);
    return Math.round(parts.reduce((total, part) => total + Number(part[1]) * units[part[2]], 0));
}

/** Stand-in image for a declared image reference such as ghcr.io/jitsi/prosody:stable-11146. */
export function standinImage(reference: string): string {
    const repository = reference.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
    const name = repository.slice(repository.lastIndexOf("/") + 1);
    const standin = STANDIN_IMAGES[name];
    assert.ok(standin !== undefined, `no stand-in image for ${reference}; add one to STANDIN_IMAGES and test/e2e/standins/Dockerfile`);
    return standin;
}

function chownTree(root: string, uid: number): void {
    fs.chownSync(root, uid, uid);
    for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
        const child = path.join(root, entry.name);
        if (entry.isDirectory()) {
            chownTree(child, uid);
        } else {
            fs.chownSync(child, uid, uid);
        }
    }
}

/**
 * The network and containers of one test run. `start` records every resource as soon as it
 * exists, so `remove` cleans up after a start that failed halfway.
 */
export class TestDeployment {
    /** Run id, also in the `org.jitsi-e2e.run` label of every container and network. */
    readonly runId: string;
    /** Temporary directory that stands for the host's root in bind mounts. */
    readonly hostRoot: string;
    readonly networkName: string;
    private networkId: string | undefined;
    private readonly containerIds = new Map<string, string>();

    constructor(readonly declared: { network: DeclaredNetwork; containers: readonly DeclaredContainer[] }, runId: string) {
        this.runId = runId;
        // Adaptation: the tests must not write to the host paths that the program declares
        // (/opt/jitsi-meet on a real host), so each one is recreated under this directory.
        // run.sh sets JITSI_E2E_WORK_DIR and removes it on exit, also when mocha was killed.
        this.hostRoot = fs.mkdtempSync(path.join(process.env.JITSI_E2E_WORK_DIR ?? os.tmpdir(), "jitsi-e2e-"));
        // Adaptation: a unique network name, so the run neither joins nor removes a network of a
        // real deployment on the same engine.
        this.networkName = `${declared.network.name}-e2e-${runId}`;
    }

    get labels(): Record<string, string> {
        return { "org.jitsi-e2e.test": "deployment", "org.jitsi-e2e.run": this.runId };
    }

    /** Host directory that stands for a declared host path. */
    hostPath(declaredPath: string): string {
        return path.join(this.hostRoot, declaredPath);
    }

    containerId(name: string): string {
        const id = this.containerIds.get(name);
        assert.ok(id !== undefined, `container ${name} was not created`);
        return id;
    }

    async start(): Promise<void> {
        for (const container of this.declared.containers) {
            if (await docker.containerExists(container.name)) {
                throw new Error(`a container named ${container.name} already exists; remove it (docker rm -f ${container.name}) and rerun the tests`);
            }
            const image = standinImage(container.imageReference);
            assert.ok(await docker.imageExists(image), `stand-in image ${image} not found; build it with bash test/e2e/run.sh`);
        }

        for (const container of this.declared.containers) {
            for (const volume of container.volumes) {
                fs.mkdirSync(this.hostPath(volume.hostPath), { recursive: true, mode: 0o755 });
            }
        }
        chownTree(this.hostRoot, CONTAINER_UID);

        const network = this.declared.network;
        try {
            this.networkId = await docker.createNetwork(this.networkName, network.driver, network.subnets, this.labels);
        } catch (err) {
            throw new Error(`creating network ${this.networkName} with subnets ${network.subnets.join(", ")} failed; ` +
                `another network may use the subnet (docker network ls): ${(err as Error).message}`);
        }

        for (const container of this.declared.containers) {
            await this.startContainer(container);
        }
    }

    private networkNameFor(declaredName: string): string {
        assert.strictEqual(declaredName, this.declared.network.name, `a container joins undeclared network ${declaredName}`);
        return this.networkName;
    }

    private createRequest(container: DeclaredContainer): docker.ContainerCreateRequest {
        const exposedPorts: Record<string, Record<string, never>> = {};
        const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
        for (const port of container.ports) {
            const key = `${port.internal}/${port.protocol}`;
            exposedPorts[key] = {};
            // The dev stack declares publishAddress 127.0.0.1; the suite never publishes beyond
            // loopback, so any other declared address stops it here.
            assert.strictEqual(port.ip, "127.0.0.1", `${container.name} publishes ${key} on ${String(port.ip)}, not on loopback`);
            portBindings[key] = [...(portBindings[key] ?? []), { HostIp: port.ip, HostPort: String(port.external) }];
        }

        const endpoints: Record<string, { Aliases: string[] }> = {};
        for (const network of container.networks) {
            endpoints[this.networkNameFor(network.name)] = { Aliases: [...network.aliases] };
        }
        const firstNetwork = Object.keys(endpoints)[0];

        const healthcheck = container.healthcheck;
        return {
            // Adaptation: the declared image is replaced by its local stand-in.
            Image: standinImage(container.imageReference),
            Env: container.envs,
            Labels: this.labels,
            ExposedPorts: exposedPorts,
            Healthcheck: healthcheck === undefined ? undefined : {
                Test: healthcheck.tests,
                // Zero selects Docker's default, as an unset field does in the provider.
                Interval: healthcheck.interval === undefined ? 0 : durationNanoseconds(healthcheck.interval),
                Timeout: healthcheck.timeout === undefined ? 0 : durationNanoseconds(healthcheck.timeout),
                StartPeriod: healthcheck.startPeriod === undefined ? 0 : durationNanoseconds(healthcheck.startPeriod),
                Retries: healthcheck.retries ?? 0,
            },
            HostConfig: {
                // Adaptation: host paths are remapped under hostRoot.
                Binds: container.volumes.map((v) => `${this.hostPath(v.hostPath)}:${v.containerPath}${v.readOnly ? ":ro" : ""}`),
                PortBindings: portBindings,
                RestartPolicy: { Name: container.restart },
                ReadonlyRootfs: container.readOnly,
                Tmpfs: container.tmpfs,
                NetworkMode: firstNetwork ?? "bridge",
            },
            NetworkingConfig: { EndpointsConfig: endpoints },
        };
    }

    private async startContainer(container: DeclaredContainer): Promise<void> {
        const id = await docker.createContainer(container.name, this.createRequest(container));
        this.containerIds.set(container.name, id);

        // Uploads go in before the first start, so the process reads them at startup.
        if (container.uploads.length > 0) {
            const archive = docker.tarArchive(container.uploads.map((u) => ({ name: u.file.slice(1), content: u.content, mode: u.mode })));
            await docker.putArchive(id, "/", archive);
        }
        await docker.startContainer(id);
    }

    /** Returns the last lines of every container's log, for a failure report. */
    async logs(lines: number): Promise<string> {
        const sections: string[] = [];
        for (const [name, id] of this.containerIds) {
            const state = await docker.inspectContainer(id).catch(() => undefined);
            const log = await docker.containerLogs(id, lines).catch((err: Error) => `(logs unavailable: ${err.message})\n`);
            sections.push(`----- ${name} (${state?.State.Status ?? "unknown"}, health ${state?.State.Health?.Status ?? "none"}) -----\n${log}`);
        }
        return sections.join("");
    }

    /** Removes the containers, the network and the temporary host directory; safe to call more than once. */
    async remove(): Promise<void> {
        const errors: string[] = [];
        for (const [name, id] of [...this.containerIds].reverse()) {
            try {
                await docker.removeContainer(id);
                this.containerIds.delete(name);
            } catch (err) {
                errors.push(`removing container ${name} (${id}) failed: ${(err as Error).message}`);
            }
        }
        if (this.networkId !== undefined) {
            try {
                await docker.removeNetwork(this.networkId);
                this.networkId = undefined;
            } catch (err) {
                errors.push(`removing network ${this.networkName} failed: ${(err as Error).message}`);
            }
        }
        fs.rmSync(this.hostRoot, { recursive: true, force: true });
        if (errors.length > 0) {
            throw new Error(errors.join("\n"));
        }
    }
}
