// Evaluates the program under the mock engine and finds resources in the result.
import * as assert from "assert";
import * as path from "path";

import { evaluateProgram, type EvaluateOptions, type Evaluation, type RecordedResource } from "../../tools/evaluate";
import { loadStack, type StackInput } from "../../tools/stackFiles";

export const REPOSITORY = path.resolve(__dirname, "..", "..");

/** Loads a stack file and overrides or removes keys (short names; `undefined` removes). */
export function stackWith(stack: string, overrides: Record<string, string | undefined> = {}, secretKeys: string[] = []): StackInput {
    const input = loadStack(REPOSITORY, stack);
    const config = { ...input.config };
    for (const [key, value] of Object.entries(overrides)) {
        const fullKey = `${input.project}:${key}`;
        if (value === undefined) {
            delete config[fullKey];
        } else {
            config[fullKey] = value;
        }
    }
    return { ...input, config, secretKeys: [...input.secretKeys, ...secretKeys.map((key) => `${input.project}:${key}`)] };
}

export function evaluate(input: StackInput, options?: EvaluateOptions): Promise<Evaluation> {
    return evaluateProgram(input, options);
}

/** Returns the single resource of `type` whose name ends with `suffix`. */
export function findResource(evaluation: Evaluation, type: string, suffix: string): RecordedResource {
    const matches = evaluation.resources.filter((r) => r.type === type && r.name.endsWith(suffix));
    assert.strictEqual(matches.length, 1, `expected one ${type} named *${suffix}, found ${matches.map((r) => r.name).join(", ") || "none"}`);
    return matches[0];
}

export function resourcesOfType(evaluation: Evaluation, type: string): RecordedResource[] {
    return evaluation.resources.filter((r) => r.type === type);
}

/** Environment of a container as a map. */
export function environmentOf(container: RecordedResource): Record<string, string> {
    const envs = Array.isArray(container.inputs.envs) ? container.inputs.envs.map(String) : [];
    return Object.fromEntries(envs.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

export const CONTAINER = "docker:index/container:Container";
