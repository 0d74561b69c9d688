// Runs index.ts for a stack under Pulumi's mock engine and records every registered resource.
// The Pulumi CLI is not needed: the program's real code runs, and no provider is contacted.
import * as crypto from "crypto";
import * as path from "path";

import * as pulumi from "@pulumi/pulumi";

import { mockTlsState, type TlsMode } from "./mockTls";
import type { StackInput } from "./stackFiles";

/** A resource as the program registered it. */
export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly parent: string;
    readonly custom: boolean;
    readonly provider: string;
    /** URNs from `dependsOn` and from the inputs. */
    readonly dependencies: readonly string[];
    readonly deleteBeforeReplace: boolean;
    /** Inputs with secrets unwrapped to their values. */
    readonly inputs: Record<string, unknown>;
    /** Dotted paths of the inputs that were secret, such as `envs` or `uploads.2.content`. */
    readonly secretPaths: readonly string[];
}

export interface Evaluation {
    readonly resources: readonly RecordedResource[];
    /** Stack outputs with secrets unwrapped. */
    readonly outputs: Record<string, unknown>;
    /** Stack outputs that were secret. */
    readonly secretOutputs: readonly string[];
}

/** The program threw; `resources` lists what it had registered before. */
export class EvaluationError extends Error {
    constructor(readonly cause: Error, readonly resources: readonly RecordedResource[]) {
        super(cause.message);
        this.name = "EvaluationError";
    }
}

export interface EvaluateOptions {
    /** `fake`: fixed placeholder PEMs, the same on every run. `openssl`: real keys and certificates. */
    readonly tls?: TlsMode;
    /** Path of the program. Default: index.ts at the repository root. */
    readonly program?: string;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Replaces secret wrappers by their values and collects the paths where they were. */
function unwrapSecrets(value: unknown, at: string, secretPaths: string[]): unknown {
    if (Array.isArray(value)) {
        return value.map((item, index) => unwrapSecrets(item, at ? `${at}.${index}` : String(index), secretPaths));
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) {
            secretPaths.push(at);
            return unwrapSecrets(record.value, at, []);
        }
        return Object.fromEntries(Object.entries(record).map(([key, item]) =>
            [key, unwrapSecrets(item, at ? `${at}.${key}` : key, secretPaths)]));
    }
    return value;
}

/** Computes the output values that the mocks add to a resource's inputs, for the code that reads them. */
function computedState(type: string, name: string, inputs: Record<string, unknown>, tls: TlsMode): Record<string, unknown> {
    const digest = crypto.createHash("sha256").update(`${type}/${name}`).digest("hex");
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            // Deterministic per resource name, so that two evaluations register the same inputs.
            return { result: crypto.createHash("sha256").update(`password/${name}`).digest("base64url").slice(0, Number(inputs.length ?? 32)) };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${digest}`, repoDigest: `${String(inputs.name)}@sha256:${digest}` };
        case "docker:index/network:Network":
            return { name: inputs.name ?? name };
        default:
            return type.startsWith("tls:") ? mockTlsState(type, name, inputs, tls) : {};
    }
}

/**
 * Evaluates the program for one stack. Each call starts a fresh mock engine; calls must not
 * overlap, because the Pulumi runtime keeps its settings in process-wide state.
 */
export async function evaluateProgram(stack: StackInput, options: EvaluateOptions = {}): Promise<Evaluation> {
    const tls = options.tls ?? "fake";
    const program = options.program ?? path.resolve(__dirname, "..", "index.ts");

    pulumi.runtime.setAllConfig(stack.config, [...stack.secretKeys]);
    await pulumi.runtime.setMocks({
        newResource: (args) => {
            const inputs = unwrapSecrets(args.inputs, "", []) as Record<string, unknown>;
            return { id: `${args.name}-id`, state: { ...inputs, ...computedState(args.type, args.name, inputs, tls) } };
        },
        call: (args) => args.inputs,
    }, stack.project, stack.stack, false);

    const recorded: RecordedResource[] = [];
    const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request, callback) => {
        const secretPaths: string[] = [];
        // The raw struct keeps each secret where it is; the SDK's deserializer would lift a
        // secret array element to the whole array.
        const rawInputs = (request.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
        const inputs = unwrapSecrets(rawInputs, "", secretPaths) as Record<string, unknown>;
        const propertyDependencies = [...request.getPropertydependenciesMap().entries()]
            .flatMap(([, deps]) => deps.getUrnsList());
        recorded.push({
            type: request.getType(),
            name: request.getName(),
            urn: monitor.newUrn(request.getParent(), request.getType(), request.getName()),
            parent: request.getParent(),
            custom: request.getCustom(),
            provider: request.getProvider(),
            dependencies: [...new Set([...request.getDependenciesList(), ...propertyDependencies])].sort(),
            deleteBeforeReplace: request.getDeletebeforereplace(),
            inputs,
            secretPaths: secretPaths.sort(),
        });
        return register(request, callback);
    };

    delete require.cache[require.resolve(program)];
    let exported: Record<string, unknown>;
    try {
        exported = require(program) as Record<string, unknown>;
    } catch (err) {
        await settle(recorded);
        throw new EvaluationError(err as Error, recorded);
    }

    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [key, value] of Object.entries(exported)) {
        const output: pulumi.Output<unknown> = pulumi.output(value as pulumi.Input<unknown>);
        if (await pulumi.isSecret(output)) {
            secretOutputs.push(key);
        }
        outputs[key] = await new Promise((resolve) => output.apply(resolve));
    }
    await settle(recorded);
    return { resources: recorded, outputs, secretOutputs };
}

/** Waits until no resource has been registered for a while: the program has finished. */
async function settle(recorded: readonly unknown[]): Promise<void> {
    let quietRounds = 0;
    let count = -1;
    while (quietRounds < 5) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        quietRounds = recorded.length === count ? quietRounds + 1 : 0;
        count = recorded.length;
    }
}

// The parts of the mock monitor and its request messages that the recorder uses.
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProvider(): string;
    getObject(): { toJavaScript(): unknown } | undefined;
    getDependenciesList(): string[];
    getPropertydependenciesMap(): Map<string, { getUrnsList(): string[] }>;
    getDeletebeforereplace(): boolean;
}
interface MockMonitor {
    registerResource(request: RegisterRequest, callback: (err: unknown, response: unknown) => void): unknown;
    newUrn(parent: string, type: string, name: string): string;
}
