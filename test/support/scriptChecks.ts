// Static checks of rendered bash scripts: shellcheck and bash's own parser.
import * as assert from "assert";
import { spawnSync } from "child_process";

export interface LabeledScript {
    readonly label: string;
    readonly source: string;
}

/** Declares, for every script, a test that shellcheck reports nothing and one that `bash -n` parses it. */
export function describeScriptChecks(title: string, scripts: readonly LabeledScript[]): void {
    describe(title, () => {
        before(function () {
            const probe = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
            if (probe.error || probe.status !== 0) {
                throw new Error("shellcheck not found; install it with: apt-get install shellcheck");
            }
        });

        for (const { label, source } of scripts) {
            it(`passes ${label}`, () => {
                const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: source, encoding: "utf8" });
                assert.strictEqual(result.stdout + result.stderr, "", `shellcheck output for ${label}`);
                assert.strictEqual(result.status, 0);
            });
        }

        for (const { label, source } of scripts) {
            it(`parses ${label} with bash -n`, () => {
                const result = spawnSync("bash", ["-n"], { input: source, encoding: "utf8" });
                assert.strictEqual(result.stderr, "");
                assert.strictEqual(result.status, 0);
            });
        }
    });
}
