import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { makeSshKey } from "../support/certificates";
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
        return { status: result.status, stdout: result.stdout.split(out).join("OUT"), stderr: result.stderr, files };
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
            "containers/jitsi-meet-proxy.json",
            "providers/jitsi-docker.json",
        ]) {
            assert.ok(first.files.has(file), `plan did not write ${file}; wrote ${[...first.files.keys()].join(", ")}`);
        }
    });

    it("masks passwords and the private key", () => {
        assert.match(first.files.get("containers/jitsi-meet-prosody.env") ?? "", /^JICOFO_AUTH_PASSWORD=\[secret\]$/m);
        assert.strictEqual(first.files.get("containers/jitsi-meet-proxy/etc/nginx/tls/privkey.pem"), "[secret]\n");
    });

    it("shows published ports and images", () => {
        const proxy = JSON.parse(first.files.get("containers/jitsi-meet-proxy.json") ?? "{}") as { image: string; ports: unknown[] };
        assert.strictEqual(proxy.image, "docker.io/library/nginx:1.28.0");
        assert.deepStrictEqual(proxy.ports, [
            { external: 80, internal: 80, ip: "127.0.0.1", protocol: "tcp" },
            { external: 443, internal: 443, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        const prosody = JSON.parse(first.files.get("containers/jitsi-meet-prosody.json") ?? "{}") as { image: string; ports: unknown[] };
        assert.strictEqual(prosody.image, "ghcr.io/jitsi/prosody:stable-11146");
        assert.deepStrictEqual(prosody.ports, []);
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

    it("keeps a folder it did not write", () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-user-"));
        try {
            fs.writeFileSync(path.join(out, "notes.txt"), "mine\n");
            const result = spawnSync("npm", ["run", "--silent", "plan", "--", "dev", "--out", out], { cwd: REPOSITORY, encoding: "utf8" });
            assert.notStrictEqual(result.status, 0);
            assert.match(result.stderr, /is not empty and does not contain a plan/);
            assert.strictEqual(fs.readFileSync(path.join(out, "notes.txt"), "utf8"), "mine\n");
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });

    it("takes a secret the stack file lacks", () => {
        const stackFile = path.join(REPOSITORY, "Pulumi.plantest.yaml");
        const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-key-"));
        try {
            fs.writeFileSync(stackFile, "config:\n  jitsi-meet:domain: meet.example.org\n  jitsi-meet:hostAddress: 203.0.113.10\n");
            const keyFile = path.join(keyDir, "id_ed25519");
            fs.writeFileSync(keyFile, makeSshKey());
            const run = runPlan("plantest", ["--secret", `sshPrivateKey=${keyFile}`]);
            assert.strictEqual(run.status, 0, run.stderr);
            const connection = run.files.get("host/jitsi-host-packages.connection.json") ?? "";
            assert.match(connection, /"privateKey": "\[secret\]"/);
            assert.match(connection, /"host": "203\.0\.113\.10"/);
            for (const [file, content] of run.files) {
                assert.ok(!content.includes("OPENSSH PRIVATE KEY"), `${file} shows the SSH key`);
            }
        } finally {
            fs.rmSync(stackFile, { force: true });
            fs.rmSync(keyDir, { recursive: true, force: true });
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
