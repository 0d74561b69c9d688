// Reads the stack's configuration from the Pulumi engine into a validated JitsiConfig.
import * as pulumi from "@pulumi/pulumi";

import { ConfigError, type ConfigProblem, type JitsiConfig, parseConfig, SECRET_KEYS } from "./config";

// `isConfigSecret` is exported by @pulumi/pulumi's runtime (3.248.0) but missing from its typings.
const runtimeWithSecrets = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret?: (key: string) => boolean };

/**
 * Reads every key in the project's namespace and validates them together. A secret key stored
 * in plain text is an error, because the stack file would then leak it.
 */
export function readStackConfig(): JitsiConfig {
    const namespace = pulumi.getProject();
    const raw: Record<string, string | undefined> = {};
    const prefix = `${namespace}:`;
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (fullKey.startsWith(prefix)) {
            raw[fullKey.slice(prefix.length)] = value;
        }
    }

    const plainSecrets: ConfigProblem[] = SECRET_KEYS
        .filter((key) => raw[key] !== undefined && runtimeWithSecrets.isConfigSecret?.(`${prefix}${key}`) === false)
        .map((key) => ({ key, message: `is stored in plain text; store it as a secret: \`pulumi config set --secret ${key} ...\`` }));

    let config: JitsiConfig | undefined;
    const problems: ConfigProblem[] = [];
    try {
        const storedAsSecret = Object.keys(raw).filter((key) => runtimeWithSecrets.isConfigSecret?.(`${prefix}${key}`) === true);
        config = parseConfig(raw, namespace, new Date(), storedAsSecret);
    } catch (err) {
        if (!(err instanceof ConfigError)) {
            throw err;
        }
        problems.push(...err.problems);
    }
    problems.push(...plainSecrets);
    if (config === undefined || problems.length > 0) {
        throw new ConfigError(problems, namespace);
    }
    return config;
}
