import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { REPOSITORY } from "../support/program";

interface PlanRun {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly files: Map<string, string>;
}

function listFiles(dir: string, prefix = ""): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => entry.isDirectory()
        ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
        : [`${prefix}${entry.name}`]);
}

/** Runs `npm run plan` as a user would, into a fresh folder. */
function runPlan(stack: string, extra: string[] = []): PlanRun {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    try {
        const result = spawnSync("npm", ["run", "--silent", "plan", "--", stack, "--out", out, ...extra], { cwd: REPOSITORY, encoding: "utf8" });
        const files = new Map(listFiles(out).sort().map((file) => [file, fs.readFileSync(path.join(out, file), "utf8")]));
        return { status: result.status, stdout: result.stdout.replace(out, "OUT"), stderr: result.stderr, files };
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
}

describe("npm run plan", () => {
    let first: PlanRun;
    before(() => {
        first = runPlan("dev");
    });

    it("succeeds on the dev stack", () => {
        assert.strictEqual(first.status, 0, first.stderr);
    });

    it("prints the resource tree", () => {
        assert.match(first.stdout, /^jitsi:index:JitsiDeployment {2}jitsi$/m);
        assert.match(first.stdout, /^ {4}docker:Container {2}jitsi-containers-prosody$/m);
        assert.match(first.stdout, /^ {4}command:local:Command {2}jitsi-host-packages$/m);
    });

    it("writes the rendered files", () => {
        for (const file of [
            "resources.txt",
            "outputs.json",
            "containers/jitsi-meet-proxy/etc/nginx/nginx.conf",
            "containers/jitsi-meet-prosody.env",
            "containers/jitsi-meet-web.env",
            "host/jitsi-host-packages.create.sh",
            "host/jitsi-host-packages.delete.sh",
            "host/jitsi-hosts-block.create.sh",
        ]) {
            assert.ok(first.files.has(file), `plan did not write ${file}; wrote ${[...first.files.keys()].join(", ")}`);
        }
    });

    it("masks passwords and the private key", () => {
        assert.match(first.files.get("containers/jitsi-meet-prosody.env") ?? "", /^JICOFO_AUTH_PASSWORD=\[secret\]$/m);
        assert.strictEqual(first.files.get("containers/jitsi-meet-proxy/etc/nginx/tls/privkey.pem"), "[secret]\n");
    });

    it("writes host scripts unwrapped", () => {
        const script = first.files.get("host/jitsi-host-packages.create.sh") ?? "";
        assert.match(script, /^#!\/usr\/bin\/env bash\n/);
    });

    it("gives identical output on a rerun", () => {
        const second = runPlan("dev");
        assert.strictEqual(second.stdout, first.stdout);
        assert.deepStrictEqual([...second.files.keys()], [...first.files.keys()]);
        for (const [file, content] of first.files) {
            assert.strictEqual(second.files.get(file), content, `${file} differs between runs`);
        }
    });

    it("names the key of an encrypted value", () => {
        const stackFile = path.join(REPOSITORY, "Pulumi.plantest.yaml");
        try {
            fs.writeFileSync(stackFile, "config:\n  jitsi-meet:domain: meet.example.org\n  jitsi-meet:hostAddress: 203.0.113.10\n  jitsi-meet:sshPrivateKey:\n    secure: v1:AAAA\n");
            const run = runPlan("plantest");
            assert.notStrictEqual(run.status, 0);
            assert.match(run.stderr, /jitsi-meet:sshPrivateKey is encrypted/);
            assert.match(run.stderr, /--secret sshPrivateKey=FILE/);
        } finally {
            fs.rmSync(stackFile, { force: true });
        }
    });
});
