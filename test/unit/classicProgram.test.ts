import * as assert from "assert";

import type { Evaluation } from "../../tools/evaluate";
import { evaluate, findResource, resourcesOfType, stackWith } from "../support/program";

/** Decodes the base64 lines that a classic step reads from standard input. */
function stdinValues(evaluation: Evaluation, step: string): string[] {
    const command = findResource(evaluation, "command:local:Command", `-host-${step}`);
    const stdin = String(command.inputs.stdin ?? "");
    return stdin.split("\n").filter((line) => line !== "").map((line) => Buffer.from(line, "base64").toString("utf8"));
}

describe("program in classic mode", () => {
    let classic: Evaluation;
    before(async () => {
        classic = await evaluate(stackWith("dev", { installMode: "classic", advertiseIps: undefined, publishAddress: undefined }));
    });

    it("declares no containers", () => {
        assert.deepStrictEqual(classic.resources.filter((r) => r.type.startsWith("docker:") || r.type === "pulumi:providers:docker"), []);
        assert.strictEqual(resourcesOfType(classic, "jitsi:containers:JitsiContainers").length, 0);
        assert.strictEqual(resourcesOfType(classic, "jitsi:proxy:NginxProxy").length, 0);
    });

    it("runs the classic steps in order", () => {
        const steps = resourcesOfType(classic, "command:local:Command")
            .filter((r) => r.parent.endsWith("::jitsi-host"))
            .map((r) => r.name.replace("jitsi-host-", ""));
        for (const step of ["apt-repositories", "certificate", "preseed", "jitsi-meet"]) {
            assert.ok(steps.includes(step), `no ${step} step; steps are ${steps.join(", ")}`);
        }
        const byName = (step: string) => findResource(classic, "command:local:Command", `-host-${step}`);
        assert.ok(byName("jitsi-meet").dependencies.includes(byName("preseed").urn), "jitsi-meet does not wait for the preseed");
    });

    it("passes secrets only on stdin", () => {
        const preseed = findResource(classic, "command:local:Command", "-host-preseed");
        assert.ok(preseed.secretPaths.includes("stdin"), "preseed stdin is not secret");
        const [jicofo, jvb] = stdinValues(classic, "preseed");
        assert.ok(jicofo.length >= 22, "jicofo password shorter than 128 bits");
        assert.ok(jvb.length >= 22, "jvb secret shorter than 128 bits");
        assert.notStrictEqual(jicofo, jvb);
        for (const command of resourcesOfType(classic, "command:local:Command")) {
            assert.ok(!String(command.inputs.create).includes(jicofo), `${command.name} has the jicofo password in its script`);
            assert.ok(!String(command.inputs.create).includes(jvb), `${command.name} has the jvb secret in its script`);
        }
    });

    it("uploads the TLS material", () => {
        const certificate = findResource(classic, "command:local:Command", "-host-certificate");
        assert.ok(certificate.secretPaths.includes("stdin"), "certificate stdin is not secret");
        const [certificatePem, privateKeyPem] = stdinValues(classic, "certificate");
        assert.match(certificatePem, /BEGIN CERTIFICATE/);
        assert.match(privateKeyPem, /PRIVATE KEY/);
    });

    it("exports no advertised addresses", () => {
        assert.deepStrictEqual(classic.outputs.advertisedIps, []);
    });

    it("exports the host's DNS record", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        const remote = await evaluate(stackWith("prod", { installMode: "classic", advertiseIps: undefined, sshPrivateKey: key }, ["sshPrivateKey"]));
        assert.deepStrictEqual(remote.outputs.dnsRecords, [{ name: "meet.example.org", type: "A", value: "203.0.113.10" }]);
    });

    it("keeps the hosts entry", () => {
        assert.strictEqual(resourcesOfType(classic, "jitsi:host:HostsEntry").length, 1);
    });
});
