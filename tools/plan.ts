// `npm run plan -- <stack> [--out DIR] [--secret KEY=FILE ...]`
// Evaluates index.ts for a stack under the mock engine, prints the resource tree and writes every
// rendered file into a folder, so that a reviewer can diff a change without the Pulumi CLI.
import * as fs from "fs";
import * as path from "path";

import { scriptOfRootCommand } from "../components/hostCommand";
import { evaluateProgram, type Evaluation, type RecordedResource } from "./evaluate";
import { loadStack } from "./stackFiles";

const REPOSITORY = path.resolve(__dirname, "..");
const MASK = "[secret]";

interface PlanArguments {
    stack: string;
    out: string;
    secrets: Record<string, string>;
}

function parseArguments(argv: readonly string[]): PlanArguments {
    const usage = "usage: npm run plan -- <stack> [--out DIR] [--secret KEY=FILE ...]";
    let stack: string | undefined;
    let out: string | undefined;
    const secrets: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--out") {
            out = argv[++i];
        } else if (arg === "--secret") {
            const [key, file] = (argv[++i] ?? "").split("=", 2);
            if (!key || !file) {
                throw new Error(`--secret expects KEY=FILE, such as --secret sshPrivateKey=$HOME/.ssh/id_ed25519\n${usage}`);
            }
            secrets[key] = readSecretFile(key, file);
        } else if (!arg.startsWith("-") && stack === undefined) {
            stack = arg;
        } else {
            throw new Error(`unexpected argument ${JSON.stringify(arg)}\n${usage}`);
        }
    }
    if (stack === undefined) {
        throw new Error(`missing stack name\n${usage}`);
    }
    return { stack, out: out ?? path.join(path.relative(process.cwd(), REPOSITORY), "plan", stack), secrets };
}

/**
 * Reads a secret from a file. A one-line file loses the final newline that `echo value > file`
 * adds. A multi-line file such as a PEM key stays as it is, because OpenSSH needs the newline
 * after a key's last line.
 */
function readSecretFile(key: string, file: string): string {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new Error(`--secret ${key}: cannot read ${file} (${(err as Error).message}); pass a readable file`);
    }
    return /^[^\n]*\n$/.test(text) ? text.slice(0, -1) : text;
}

// A plan folder contains this file, so that --out never deletes a folder that the plan did not write.
const PLAN_MARKER = ".jitsi-meet-plan";

/** Empties `out` for a new plan, or throws when it contains anything that a plan did not write. */
function prepareOutputFolder(out: string): void {
    if (fs.existsSync(out)) {
        if (!fs.statSync(out).isDirectory()) {
            throw new Error(`--out ${out} is not a folder; choose a new or empty folder`);
        }
        const entries = fs.readdirSync(out);
        if (entries.length > 0 && !entries.includes(PLAN_MARKER)) {
            throw new Error(`--out ${out} is not empty and does not contain a plan; choose a new or empty folder, ` +
                "so that no file of yours is deleted");
        }
        fs.rmSync(out, { recursive: true, force: true });
    }
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, PLAN_MARKER), "Written by npm run plan; the next plan into this folder replaces it.\n");
}

/** Short name of a type token: `docker:index/container:Container` becomes `docker:Container`. */
function shortType(type: string): string {
    const [pkg, module, kind] = type.split(":");
    return module.startsWith("index/") ? `${pkg}:${kind}` : type;
}

/** Prints resources as a tree by parent, children sorted by type and name so the output is stable. */
export function resourceTree(resources: readonly RecordedResource[]): string {
    const byParent = new Map<string, RecordedResource[]>();
    for (const resource of resources) {
        const siblings = byParent.get(resource.parent) ?? [];
        siblings.push(resource);
        byParent.set(resource.parent, siblings);
    }
    const lines: string[] = [];
    const walk = (parent: string, depth: number) => {
        const children = [...(byParent.get(parent) ?? [])]
            .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
        for (const child of children) {
            lines.push(`${"  ".repeat(depth)}${shortType(child.type)}  ${child.name}`);
            walk(child.urn, depth + 1);
        }
    };
    const roots = resources.filter((r) => !resources.some((other) => other.urn === r.parent)).map((r) => r.parent);
    for (const root of [...new Set(roots)].sort()) {
        walk(root, 0);
    }
    return lines.join("\n") + "\n";
}

/** Returns a copy of `inputs` with the values at the secret paths replaced by a mask. */
function masked(inputs: Record<string, unknown>, secretPaths: readonly string[]): Record<string, unknown> {
    const visit = (value: unknown, at: string): unknown => {
        if (secretPaths.includes(at)) {
            return MASK;
        }
        if (Array.isArray(value)) {
            return value.map((item, index) => visit(item, at ? `${at}.${index}` : String(index)));
        }
        if (value !== null && typeof value === "object") {
            return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, visit(item, at ? `${at}.${key}` : key)]));
        }
        return value;
    };
    return visit(inputs, "") as Record<string, unknown>;
}

function json(value: unknown): string {
    return JSON.stringify(value, null, 2) + "\n";
}

/** Environment lines with the values of secret variables masked. */
function maskedEnvironment(envs: unknown): string {
    const lines = Array.isArray(envs) ? envs.map(String) : [];
    return lines
        .map((line) => {
            const name = line.slice(0, line.indexOf("="));
            return /(_PASSWORD|_SECRET)$/.test(name) ? `${name}=${MASK}` : line;
        })
        .sort()
        .join("\n") + "\n";
}

/** Renders the files a reviewer reads, by path relative to the plan folder. */
export function renderedFiles(evaluation: Evaluation): Map<string, string> {
    const files = new Map<string, string>();
    files.set("resources.txt", resourceTree(evaluation.resources));

    for (const resource of evaluation.resources) {
        if (resource.type === "docker:index/container:Container") {
            const name = String(resource.inputs.name);
            // The image input is an image ID; the RemoteImage that the container depends on names it.
            const image = evaluation.resources.find((other) =>
                other.type === "docker:index/remoteImage:RemoteImage" && resource.dependencies.includes(other.urn));
            const { envs: _envs, uploads: _uploads, ...settings } = masked(resource.inputs, resource.secretPaths);
            files.set(`containers/${name}.json`, json({ ...settings, image: image?.inputs.name ?? settings.image }));
            if (resource.inputs.envs !== undefined) {
                files.set(`containers/${name}.env`, maskedEnvironment(resource.inputs.envs));
            }
            const uploads = Array.isArray(resource.inputs.uploads) ? resource.inputs.uploads as { file: string; content: string }[] : [];
            uploads.forEach((upload, index) => {
                const secret = resource.secretPaths.some((p) => p === "uploads" || p.startsWith(`uploads.${index}`));
                files.set(`containers/${name}${upload.file}`, secret ? `${MASK}\n` : upload.content);
            });
        }
        if (resource.type.startsWith("pulumi:providers:")) {
            files.set(`providers/${resource.name}.json`, json({ type: resource.type, ...masked(resource.inputs, resource.secretPaths) }));
        }
        if (resource.type === "command:remote:Command") {
            // @pulumi/command marks the whole connection secret; the plan shows where it connects
            // and masks only the credentials.
            const connection = resource.inputs.connection as Record<string, unknown>;
            const secretFields = resource.secretPaths.includes("connection")
                ? CONNECTION_CREDENTIALS.filter((field) => field in connection)
                : secretPathsUnder(resource.secretPaths, "connection");
            files.set(`host/${resource.name}.connection.json`, json(masked(connection, secretFields)));
        }
        if (resource.type === "command:local:Command" || resource.type === "command:remote:Command") {
            for (const phase of ["create", "delete"] as const) {
                const commandLine = String(resource.inputs[phase] ?? "");
                files.set(`host/${resource.name}.${phase}.sh`, scriptOfRootCommand(commandLine) ?? commandLine);
            }
        }
    }

    const outputs = Object.fromEntries(Object.entries(evaluation.outputs)
        .map(([key, value]) => [key, evaluation.secretOutputs.includes(key) ? MASK : value]));
    files.set("outputs.json", JSON.stringify(outputs, null, 2) + "\n");
    return files;
}

/** Fields of a command connection that hold credentials. */
const CONNECTION_CREDENTIALS = ["privateKey", "privateKeyPassword", "password", "proxy"];

/** Paths below `prefix`, relative to it: `connection.privateKey` becomes `privateKey`. */
function secretPathsUnder(secretPaths: readonly string[], prefix: string): string[] {
    return secretPaths.filter((p) => p.startsWith(`${prefix}.`)).map((p) => p.slice(prefix.length + 1));
}

async function main(): Promise<void> {
    const args = parseArguments(process.argv.slice(2));
    const evaluation = await evaluateProgram(loadStack(REPOSITORY, args.stack, args.secrets));
    const files = renderedFiles(evaluation);

    prepareOutputFolder(args.out);
    for (const [relative, content] of files) {
        const target = path.join(args.out, relative);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
    }
    process.stdout.write(files.get("resources.txt") ?? "");
    process.stdout.write(`\n${files.size} files written to ${args.out}\n`);
    if (evaluation.resources.some((resource) => resource.type.startsWith("tls:"))) {
        process.stdout.write("Generated TLS keys and certificates are placeholders in the plan; `pulumi up` creates the real ones.\n");
    }
}

if (require.main === module) {
    main().catch((err: Error) => {
        process.stderr.write(`plan failed: ${err.message}\n`);
        process.exit(1);
    });
}
