// Loads a stack's configuration from Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI does.
import * as fs from "fs";
import * as path from "path";

import * as yaml from "js-yaml";

/** Input of the mock engine for one stack. */
export interface StackInput {
    readonly project: string;
    readonly stack: string;
    /** Full keys (`project:key`) to string values, as the CLI passes them to the program. */
    readonly config: Record<string, string>;
    readonly secretKeys: readonly string[];
}

interface ProjectFile {
    name: string;
    config?: Record<string, { default?: unknown }>;
}

/** Converts a YAML value to the string the CLI passes: strings as they are, the rest as JSON. */
function configString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * Reads the project's defaults and the stack file. Encrypted values (`secure:`) cannot be
 * decrypted without the CLI, so `secrets` must supply them; a missing one is an error. `secrets`
 * may also set secret keys that the stack file does not name.
 */
export function loadStack(dir: string, stack: string, secrets: Readonly<Record<string, string>> = {}): StackInput {
    const project = yaml.load(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as ProjectFile;
    const stackPath = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackPath)) {
        throw new Error(`stack file ${stackPath} not found; create it with \`pulumi stack init ${stack}\` and \`pulumi config set\``);
    }
    const stackFile = (yaml.load(fs.readFileSync(stackPath, "utf8")) ?? {}) as { config?: Record<string, unknown> };

    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, schema] of Object.entries(project.config ?? {})) {
        if (schema.default !== undefined) {
            config[`${project.name}:${key}`] = configString(schema.default);
        }
    }
    for (const [fullKey, value] of Object.entries(stackFile.config ?? {})) {
        const key = fullKey.includes(":") ? fullKey : `${project.name}:${fullKey}`;
        const isSecure = value !== null && typeof value === "object" && "secure" in (value as object);
        if (isSecure) {
            const shortKey = key.slice(key.indexOf(":") + 1);
            const supplied = secrets[shortKey];
            if (supplied === undefined) {
                throw new Error(`${key} is encrypted in ${stackPath}; the mock engine cannot decrypt it, so pass its value (for example \`--secret ${shortKey}=FILE\`)`);
            }
            config[key] = supplied;
            secretKeys.push(key);
        } else {
            config[key] = configString(value);
        }
    }
    // A secret passed on the command line counts as set, whether or not the stack file names it.
    for (const [shortKey, value] of Object.entries(secrets)) {
        const key = `${project.name}:${shortKey}`;
        config[key] = value;
        if (!secretKeys.includes(key)) {
            secretKeys.push(key);
        }
    }
    return { project: project.name, stack, config, secretKeys };
}
