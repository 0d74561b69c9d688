// Runs commands for tests and reports failures with their output.
import * as assert from "assert";
import { spawnSync } from "child_process";

export interface RunResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a command to completion; a command that cannot start throws. */
export function run(command: string, args: readonly string[], input = ""): RunResult {
    const result = spawnSync(command, args, { encoding: "utf8", input, maxBuffer: 256 * 1024 * 1024 });
    if (result.error) {
        throw result.error;
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command that must succeed and returns its standard output. */
export function mustRun(command: string, args: readonly string[], input = ""): string {
    const result = run(command, args, input);
    assert.strictEqual(result.status, 0,
        `${command} ${args.join(" ")} failed with exit status ${result.status}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
}
