import * as assert from "assert";

import { type Evaluation, EvaluationError, type RecordedResource } from "../../tools/evaluate";
import { CONTAINER, environmentOf, evaluate, findResource, resourcesOfType, stackWith } from "../support/program";

const XMPP_KEYS = [
    "XMPP_DOMAIN", "XMPP_AUTH_DOMAIN", "XMPP_MUC_DOMAIN", "XMPP_INTERNAL_MUC_DOMAIN",
    "XMPP_GUEST_DOMAIN", "XMPP_HIDDEN_DOMAIN", "XMPP_SERVER", "XMPP_BOSH_URL_BASE",
];
const SERVICES = ["prosody", "jicofo", "jvb", "web"];

function container(evaluation: Evaluation, service: string): RecordedResource {
    return findResource(evaluation, CONTAINER, `-${service}`);
}

function proxyContainer(evaluation: Evaluation): RecordedResource {
    return findResource(evaluation, CONTAINER, "-proxy-container");
}

function upload(resource: RecordedResource, file: string): string {
    const uploads = resource.inputs.uploads as { file: string; content: string }[];
    const found = uploads.find((u) => u.file === file);
    assert.ok(found, `${resource.name} uploads no ${file}`);
    return found.content;
}

/** Comparable view of an evaluation: what the engine would diff. */
function registered(evaluation: Evaluation): string {
    return JSON.stringify(evaluation.resources
        .map((r) => ({ type: r.type, name: r.name, parent: r.parent, inputs: r.inputs, dependencies: r.dependencies }))
        .sort((a, b) => `${a.type}/${a.name}`.localeCompare(`${b.type}/${b.name}`)), null, 1);
}

describe("program on the dev stack", () => {
    let dev: Evaluation;
    before(async () => {
        dev = await evaluate(stackWith("dev"));
    });

    it("declares each component once", () => {
        for (const type of [
            "jitsi:index:JitsiDeployment", "jitsi:host:DebianHost", "jitsi:tls:TlsMaterial",
            "jitsi:containers:JitsiContainers", "jitsi:proxy:NginxProxy", "jitsi:host:HostsEntry",
        ]) {
            assert.strictEqual(resourcesOfType(dev, type).length, 1, `expected one ${type}`);
        }
    });

    it("parents every child under a component", () => {
        const deployment = resourcesOfType(dev, "jitsi:index:JitsiDeployment")[0];
        const urns = new Set(dev.resources.map((r) => r.urn));
        for (const resource of dev.resources.filter((r) => r !== deployment)) {
            assert.ok(urns.has(resource.parent), `${resource.type} ${resource.name} has no parent in the program`);
        }
    });

    it("runs host scripts on the local machine", () => {
        assert.ok(resourcesOfType(dev, "command:local:Command").length >= 4);
        assert.strictEqual(resourcesOfType(dev, "command:remote:Command").length, 0);
    });

    it("reruns a changed script in place", () => {
        // The engine runs `update` when an input changes and nothing when none does. An update
        // that equals create reruns the new script without the old delete script.
        for (const command of resourcesOfType(dev, "command:local:Command")) {
            assert.strictEqual(command.inputs.update, command.inputs.create, `${command.name} update differs from create`);
            assert.strictEqual(command.inputs.triggers, undefined, `${command.name} has triggers that force reruns`);
        }
    });

    it("gives every container the same XMPP names", () => {
        const reference = environmentOf(container(dev, "prosody"));
        for (const service of SERVICES) {
            const environment = environmentOf(container(dev, service));
            for (const key of XMPP_KEYS) {
                assert.strictEqual(environment[key], reference[key], `${service} ${key}`);
            }
        }
        assert.strictEqual(reference.XMPP_DOMAIN, "meet.jitsi");
    });

    it("sets PUBLIC_URL without port or slash", () => {
        for (const service of SERVICES) {
            assert.strictEqual(environmentOf(container(dev, service)).PUBLIC_URL, "https://chat.jitsi.org", service);
        }
    });

    it("passes the passwords where needed", () => {
        const prosody = environmentOf(container(dev, "prosody"));
        const jicofo = environmentOf(container(dev, "jicofo"));
        const jvb = environmentOf(container(dev, "jvb"));
        assert.ok(prosody.JICOFO_AUTH_PASSWORD.length >= 22, "JICOFO_AUTH_PASSWORD shorter than 128 bits");
        assert.ok(prosody.JVB_AUTH_PASSWORD.length >= 22, "JVB_AUTH_PASSWORD shorter than 128 bits");
        assert.strictEqual(jicofo.JICOFO_AUTH_PASSWORD, prosody.JICOFO_AUTH_PASSWORD);
        assert.strictEqual(jvb.JVB_AUTH_PASSWORD, prosody.JVB_AUTH_PASSWORD);
        assert.notStrictEqual(prosody.JICOFO_AUTH_PASSWORD, prosody.JVB_AUTH_PASSWORD);
    });

    it("generates passwords of at least 128 bits", () => {
        for (const password of resourcesOfType(dev, "random:index/randomPassword:RandomPassword")) {
            assert.ok(Number(password.inputs.length) >= 22, `${password.name} length ${String(password.inputs.length)}`);
        }
        assert.strictEqual(resourcesOfType(dev, "random:index/randomPassword:RandomPassword").length, 2);
    });

    it("keeps container environments secret", () => {
        for (const service of ["prosody", "jicofo", "jvb"]) {
            assert.ok(container(dev, service).secretPaths.includes("envs"), `${service} envs are not secret`);
        }
    });

    it("keeps the TLS private key secret", () => {
        const proxy = proxyContainer(dev);
        const uploads = proxy.inputs.uploads as { file: string }[];
        const keyIndex = uploads.findIndex((u) => u.file === "/etc/nginx/tls/privkey.pem");
        assert.ok(proxy.secretPaths.some((p) => p === "uploads" || p.startsWith(`uploads.${keyIndex}`)), "private key upload is not secret");
    });

    it("configures web behind the proxy", () => {
        const web = environmentOf(container(dev, "web"));
        assert.strictEqual(web.DISABLE_HTTPS, "1");
        assert.strictEqual(web.ENABLE_HTTP_REDIRECT, "0");
        assert.strictEqual(web.ENABLE_LETSENCRYPT, "0");
    });

    it("advertises only configured addresses", () => {
        assert.strictEqual(environmentOf(container(dev, "jvb")).JVB_ADVERTISE_IPS, "127.0.0.1");
    });

    it("pins one tag for all images", () => {
        const images = resourcesOfType(dev, "docker:index/remoteImage:RemoteImage").map((r) => String(r.inputs.name));
        const jitsi = images.filter((name) => name.startsWith("ghcr.io/jitsi/"));
        assert.deepStrictEqual(jitsi.map((name) => name.split(":")[1]), ["stable-11146", "stable-11146", "stable-11146", "stable-11146"]);
        assert.ok(images.includes("docker.io/library/nginx:1.28.0"));
    });

    it("publishes only 80, 443 and 10000/udp", () => {
        const published: string[] = [];
        for (const resource of resourcesOfType(dev, CONTAINER)) {
            for (const port of (resource.inputs.ports ?? []) as { internal: number; external: number; protocol: string; ip?: string }[]) {
                published.push(`${resource.inputs.name as string} ${port.ip ?? "*"}:${port.external}/${port.protocol}->${port.internal}`);
            }
        }
        // The dev stack sets publishAddress to 127.0.0.1, so only the machine itself reaches it.
        assert.deepStrictEqual(published.sort(), [
            "jitsi-meet-jvb 127.0.0.1:10000/udp->10000",
            "jitsi-meet-proxy 127.0.0.1:443/tcp->443",
            "jitsi-meet-proxy 127.0.0.1:80/tcp->80",
        ]);
    });

    it("publishes on every address by default", async () => {
        const evaluation = await evaluate(stackWith("dev", { publishAddress: undefined }));
        for (const resource of resourcesOfType(evaluation, CONTAINER)) {
            for (const port of (resource.inputs.ports ?? []) as { ip?: string }[]) {
                assert.strictEqual(port.ip, undefined, `${resource.name} binds to ${String(port.ip)}`);
            }
        }
    });

    it("puts containers on one network with aliases", () => {
        const aliases: Record<string, string[]> = {};
        for (const service of SERVICES) {
            const networks = container(dev, service).inputs.networksAdvanced as { name: string; aliases: string[] }[];
            assert.strictEqual(networks.length, 1, service);
            assert.strictEqual(networks[0].name, "jitsi-meet", service);
            aliases[service] = networks[0].aliases;
        }
        assert.deepStrictEqual(aliases.prosody, ["xmpp.meet.jitsi"]);
        assert.strictEqual(environmentOf(container(dev, "web")).XMPP_SERVER, "xmpp.meet.jitsi");
    });

    it("restarts containers unless stopped", () => {
        for (const resource of resourcesOfType(dev, CONTAINER)) {
            assert.strictEqual(resource.inputs.restart, "unless-stopped", resource.name);
        }
    });

    it("wires the image healthchecks", () => {
        for (const service of ["prosody", "jicofo", "jvb"]) {
            const healthcheck = container(dev, service).inputs.healthcheck as { tests: string[] };
            assert.deepStrictEqual(healthcheck.tests, ["CMD", "/usr/local/bin/healthcheck.sh"], service);
        }
    });

    it("runs jitsi containers read-only", () => {
        for (const service of SERVICES) {
            const resource = container(dev, service);
            assert.strictEqual(resource.inputs.readOnly, true, service);
            assert.deepStrictEqual(Object.keys(resource.inputs.tmpfs as object).sort(), ["/run", "/tmp"], service);
        }
    });

    it("creates containers after host readiness", () => {
        const provider = findResource(dev, "pulumi:providers:docker", "-docker");
        const hostSteps = dev.resources.filter((r) => r.type === "command:local:Command" && r.parent.endsWith("jitsi-host"));
        assert.ok(hostSteps.length >= 3, `expected packages, sysctl and directories steps; found ${hostSteps.map((s) => s.name).join(", ")}`);
        for (const step of hostSteps) {
            assert.ok(provider.dependencies.includes(step.urn), `docker provider does not wait for ${step.name}`);
        }
        for (const resource of resourcesOfType(dev, CONTAINER)) {
            assert.ok(resource.provider.startsWith(provider.urn), `${resource.name} does not use the host's docker provider`);
        }
    });

    it("creates prosody before the others", () => {
        const prosody = container(dev, "prosody");
        for (const service of ["jicofo", "jvb", "web"]) {
            assert.ok(container(dev, service).dependencies.includes(prosody.urn), `${service} does not wait for prosody`);
        }
    });

    it("creates the proxy after the TLS material", () => {
        const proxy = proxyContainer(dev);
        const tlsMaterial = resourcesOfType(dev, "jitsi:tls:TlsMaterial")[0];
        const certificate = findResource(dev, "tls:index/locallySignedCert:LocallySignedCert", "-server");
        assert.ok(proxy.dependencies.includes(tlsMaterial.urn) || proxy.dependencies.includes(certificate.urn),
            "proxy does not depend on the TLS material");
        assert.ok(proxy.dependencies.includes(certificate.urn), "proxy does not depend on the server certificate");
    });

    it("uploads the rendered nginx.conf", () => {
        const config = upload(proxyContainer(dev), "/etc/nginx/nginx.conf");
        assert.match(config, /server_name chat\.jitsi\.org;/);
        assert.match(config, /location = \/http-bind \{/);
        assert.match(config, /location = \/xmpp-websocket \{/);
        assert.match(config, /proxy_pass http:\/\/\$web_upstream:8000;/);
    });

    it("issues the certificate for the domain", () => {
        const request = findResource(dev, "tls:index/certRequest:CertRequest", "-server-csr");
        assert.deepStrictEqual(request.inputs.dnsNames, ["chat.jitsi.org"]);
        const key = findResource(dev, "tls:index/privateKey:PrivateKey", "-server-key");
        assert.strictEqual(key.inputs.algorithm, "ECDSA");
        const certificate = findResource(dev, "tls:index/locallySignedCert:LocallySignedCert", "-server");
        assert.ok(Number(certificate.inputs.earlyRenewalHours) > 0, "no early renewal");
    });

    it("manages the hosts entry for the domain", () => {
        const block = findResource(dev, "command:local:Command", "-hosts-block");
        assert.match(String(block.inputs.create), /127\.0\.0\.1/);
        assert.match(String(block.inputs.create), /chat\.jitsi\.org/);
        assert.match(String(block.inputs.create), /\/etc\/hosts/);
    });

    it("exports url, CA and DNS records", () => {
        assert.strictEqual(dev.outputs.url, "https://chat.jitsi.org/");
        assert.match(String(dev.outputs.caCertificatePem), /BEGIN CERTIFICATE/);
        assert.deepStrictEqual(dev.outputs.advertisedIps, ["127.0.0.1"]);
        assert.deepStrictEqual(dev.outputs.dnsRecords, []);
    });

    it("registers identical inputs twice", async () => {
        const again = await evaluate(stackWith("dev"));
        assert.strictEqual(registered(again), registered(dev));
    });

    it("changes domain-bound inputs only", async () => {
        const changed = await evaluate(stackWith("dev", { domain: "meet.example.org" }));
        assert.notStrictEqual(upload(proxyContainer(changed), "/etc/nginx/nginx.conf"), upload(proxyContainer(dev), "/etc/nginx/nginx.conf"));
        assert.deepStrictEqual(findResource(changed, "tls:index/certRequest:CertRequest", "-server-csr").inputs.dnsNames, ["meet.example.org"]);
        assert.strictEqual(environmentOf(container(changed, "web")).PUBLIC_URL, "https://meet.example.org");

        const passwordsBefore = resourcesOfType(dev, "random:index/randomPassword:RandomPassword");
        const passwordsAfter = resourcesOfType(changed, "random:index/randomPassword:RandomPassword");
        assert.deepStrictEqual(passwordsAfter.map((p) => [p.name, p.inputs]), passwordsBefore.map((p) => [p.name, p.inputs]));
        assert.strictEqual(environmentOf(container(changed, "jvb")).JVB_AUTH_PASSWORD, environmentOf(container(dev, "jvb")).JVB_AUTH_PASSWORD);
    });
});

describe("program on other settings", () => {
    it("names a non-default HTTPS port in PUBLIC_URL", async () => {
        const evaluation = await evaluate(stackWith("dev", { httpsPort: "8443" }));
        assert.strictEqual(environmentOf(container(evaluation, "web")).PUBLIC_URL, "https://chat.jitsi.org:8443");
        assert.strictEqual(evaluation.outputs.url, "https://chat.jitsi.org:8443/");
    });

    it("reaches a remote host over SSH", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        const evaluation = await evaluate(stackWith("prod", { sshPrivateKey: key }, ["sshPrivateKey"]));
        const commands = resourcesOfType(evaluation, "command:remote:Command");
        assert.ok(commands.length >= 4, "no remote commands");
        for (const command of commands) {
            const connection = command.inputs.connection as { host: string; user: string; privateKey: string };
            assert.strictEqual(connection.host, "203.0.113.10");
            assert.strictEqual(connection.user, "debian");
            assert.ok(command.secretPaths.includes("connection.privateKey") || command.secretPaths.includes("connection"),
                `${command.name} does not keep the SSH key secret`);
        }
        const provider = findResource(evaluation, "pulumi:providers:docker", "-docker");
        assert.strictEqual(provider.inputs.host, "ssh://debian@203.0.113.10:22");
        assert.deepStrictEqual(evaluation.outputs.dnsRecords, [{ name: "meet.example.org", type: "A", value: "203.0.113.10" }]);
    });

    it("rejects an SSH key stored in plain text", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        await assert.rejects(evaluate(stackWith("prod", { sshPrivateKey: key })), /sshPrivateKey: is stored in plain text/);
    });

    it("registers nothing for bad config", async () => {
        const error = await evaluate(stackWith("dev", { imageTag: "latest" })).then(
            () => assert.fail("bad configuration was accepted"),
            (err: unknown) => err,
        );
        assert.ok(error instanceof EvaluationError, `expected EvaluationError, got ${String(error)}`);
        assert.match(error.message, /jitsi-meet:imageTag/);
        assert.strictEqual(error.resources.length, 0);
    });

    it("skips the CA output for provided TLS", async () => {
        const { makeCertificate } = await import("../support/certificates");
        const certificate = makeCertificate({ names: ["chat.jitsi.org"] });
        const evaluation = await evaluate(stackWith("dev", {
            tlsMode: "provided", tlsCertificate: certificate.certificatePem, tlsPrivateKey: certificate.keyPem,
        }, ["tlsCertificate", "tlsPrivateKey"]));
        assert.strictEqual(evaluation.outputs.caCertificatePem, undefined);
        assert.strictEqual(resourcesOfType(evaluation, "tls:index/privateKey:PrivateKey").length, 0);
        assert.strictEqual(upload(proxyContainer(evaluation), "/etc/nginx/tls/fullchain.pem"), certificate.certificatePem);
    });
});
