// Minimal client of the Docker Engine API over its unix socket, for the end-to-end tests.
// The API is used instead of the docker CLI because `docker create` can only set a shell-form
// healthcheck, while the program declares an exec-form one (["CMD", ...]), as the Pulumi provider
// sends it.
import * as http from "http";

/** Socket path from DOCKER_HOST (unix:// only) or Docker's default. */
function socketPath(): string {
    const host = process.env.DOCKER_HOST;
    if (host === undefined || host === "") {
        return "/var/run/docker.sock";
    }
    if (!host.startsWith("unix://")) {
        throw new Error(`DOCKER_HOST=${host} is not supported: the end-to-end tests reach the engine through a unix:// socket`);
    }
    return host.slice("unix://".length);
}

export class DockerApiError extends Error {
    constructor(readonly method: string, readonly path: string, readonly status: number, readonly body: string) {
        super(`Docker API ${method} ${path} failed with status ${status}: ${body.trim()}`);
        this.name = "DockerApiError";
    }
}

interface ApiResponse {
    readonly status: number;
    readonly body: Buffer;
}

function send(method: string, path: string, body?: Buffer, contentType?: string): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
        const headers: http.OutgoingHttpHeaders = {};
        if (body !== undefined) {
            headers["Content-Type"] = contentType ?? "application/json";
            headers["Content-Length"] = body.length;
        }
        const request = http.request({ socketPath: socketPath(), method, path, headers }, (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
            response.on("error", reject);
        });
        request.on("error", reject);
        request.end(body);
    });
}

/** Sends a request and returns the body; any status outside `expected` raises DockerApiError. */
async function call(method: string, path: string, options: { json?: unknown; raw?: Buffer; expected?: number[] } = {}): Promise<Buffer> {
    const body = options.raw ?? (options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json)));
    const response = await send(method, path, body, options.raw === undefined ? undefined : "application/x-tar");
    const expected = options.expected ?? [200, 201, 204];
    if (!expected.includes(response.status)) {
        throw new DockerApiError(method, path, response.status, response.body.toString("utf8"));
    }
    return response.body;
}

/** Body of POST /containers/create, with the fields that the tests set. */
export interface ContainerCreateRequest {
    readonly Image: string;
    readonly Env: readonly string[];
    readonly Labels: Readonly<Record<string, string>>;
    readonly ExposedPorts: Readonly<Record<string, Record<string, never>>>;
    readonly Healthcheck?: {
        readonly Test: readonly string[];
        /** Durations in nanoseconds. */
        readonly Interval: number;
        readonly Timeout: number;
        readonly StartPeriod: number;
        readonly Retries: number;
    };
    readonly HostConfig: {
        readonly Binds: readonly string[];
        readonly PortBindings: Readonly<Record<string, readonly { HostIp: string; HostPort: string }[]>>;
        readonly RestartPolicy: { readonly Name: string };
        readonly ReadonlyRootfs: boolean;
        readonly Tmpfs: Readonly<Record<string, string>>;
        readonly NetworkMode: string;
    };
    readonly NetworkingConfig: {
        readonly EndpointsConfig: Readonly<Record<string, { readonly Aliases: readonly string[] }>>;
    };
}

/** The parts of GET /containers/{id}/json that the tests read. */
export interface ContainerState {
    readonly Id: string;
    readonly Name: string;
    readonly RestartCount: number;
    readonly State: {
        readonly Status: string;
        readonly Running: boolean;
        readonly StartedAt: string;
        readonly ExitCode: number;
        readonly Health?: {
            readonly Status: string;
            readonly Log: readonly { readonly ExitCode: number; readonly Output: string }[];
        };
    };
}

export async function createNetwork(name: string, driver: string, subnets: readonly string[], labels: Record<string, string>): Promise<string> {
    const body = await call("POST", "/networks/create", {
        json: {
            Name: name,
            Driver: driver,
            CheckDuplicate: true,
            IPAM: { Driver: "default", Config: subnets.map((subnet) => ({ Subnet: subnet })) },
            Labels: labels,
        },
    });
    return (JSON.parse(body.toString("utf8")) as { Id: string }).Id;
}

export async function removeNetwork(id: string): Promise<void> {
    await call("DELETE", `/networks/${encodeURIComponent(id)}`, { expected: [200, 204, 404] });
}

export async function createContainer(name: string, request: ContainerCreateRequest): Promise<string> {
    const body = await call("POST", `/containers/create?name=${encodeURIComponent(name)}`, { json: request });
    return (JSON.parse(body.toString("utf8")) as { Id: string }).Id;
}

/** Extracts an uncompressed tar archive into the container, as `docker cp` and the Pulumi provider do. */
export async function putArchive(id: string, directory: string, archive: Buffer): Promise<void> {
    await call("PUT", `/containers/${encodeURIComponent(id)}/archive?path=${encodeURIComponent(directory)}`, { raw: archive });
}

export async function startContainer(id: string): Promise<void> {
    // 304: already running.
    await call("POST", `/containers/${encodeURIComponent(id)}/start`, { expected: [204, 304] });
}

/** Stops the container, killing it after `timeoutSeconds`. */
export async function stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    // 304: already stopped.
    await call("POST", `/containers/${encodeURIComponent(id)}/stop?t=${timeoutSeconds}`, { expected: [204, 304] });
}

/** Removes the container and its anonymous volumes, stopping it first if it runs. */
export async function removeContainer(id: string): Promise<void> {
    await call("DELETE", `/containers/${encodeURIComponent(id)}?force=true&v=true`, { expected: [200, 204, 404] });
}

export async function inspectContainer(id: string): Promise<ContainerState> {
    const body = await call("GET", `/containers/${encodeURIComponent(id)}/json`);
    return JSON.parse(body.toString("utf8")) as ContainerState;
}

/** Returns whether a container with this name or id exists. */
export async function containerExists(nameOrId: string): Promise<boolean> {
    const response = await send("GET", `/containers/${encodeURIComponent(nameOrId)}/json`);
    return response.status === 200;
}

export async function imageExists(reference: string): Promise<boolean> {
    const response = await send("GET", `/images/${encodeURIComponent(reference)}/json`);
    return response.status === 200;
}

/** Returns the last `lines` lines of the container's stdout and stderr, interleaved. */
export async function containerLogs(id: string, lines: number): Promise<string> {
    const body = await call("GET", `/containers/${encodeURIComponent(id)}/logs?stdout=true&stderr=true&tail=${lines}`);
    // Without a TTY the stream is multiplexed: each frame has an 8-byte header whose last
    // four bytes are the big-endian payload length.
    const parts: string[] = [];
    let offset = 0;
    while (offset + 8 <= body.length) {
        const length = body.readUInt32BE(offset + 4);
        parts.push(body.subarray(offset + 8, offset + 8 + length).toString("utf8"));
        offset += 8 + length;
    }
    return parts.join("");
}

/** One regular file of an archive for putArchive. */
export interface ArchiveFile {
    /** Path relative to the extraction directory. */
    readonly name: string;
    readonly content: Buffer;
    readonly mode: number;
}

/**
 * Builds an uncompressed POSIX ustar archive of regular files owned by root, the format that
 * the archive endpoint accepts. Docker creates missing parent directories on extraction.
 */
export function tarArchive(files: readonly ArchiveFile[]): Buffer {
    const blocks: Buffer[] = [];
    for (const file of files) {
        if (Buffer.byteLength(file.name) > 100) {
            throw new Error(`archive entry name is longer than the 100 bytes that a ustar header holds: ${file.name}`);
        }
        const header = Buffer.alloc(512);
        const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0") + "\0";
        header.write(file.name, 0, 100, "utf8");
        header.write(octal(file.mode, 8), 100, 8, "ascii");
        header.write(octal(0, 8), 108, 8, "ascii");
        header.write(octal(0, 8), 116, 8, "ascii");
        header.write(octal(file.content.length, 12), 124, 12, "ascii");
        header.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12, "ascii");
        // The checksum is computed with its own field filled with spaces.
        header.fill(" ", 148, 156);
        header.write("0", 156, 1, "ascii");
        header.write("ustar\0", 257, 6, "ascii");
        header.write("00", 263, 2, "ascii");
        let checksum = 0;
        for (const byte of header) {
            checksum += byte;
        }
        header.write(checksum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");

        blocks.push(header, file.content);
        const padding = (512 - (file.content.length % 512)) % 512;
        blocks.push(Buffer.alloc(padding));
    }
    // Two zero blocks end the archive.
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
}
