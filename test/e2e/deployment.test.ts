// End-to-end tests of the dev stack. The containers that the program declares run on the local
// Docker engine with the stand-in images of test/e2e/standins. Clients on the host then use the
// published ports on 127.0.0.1 as a browser or a Jitsi component would.
// Run them with `bash test/e2e/run.sh`, which starts the engine and builds the images first.
import * as assert from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as dgram from "dgram";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { promisify } from "util";

import { PROXY_PATHS } from "../../components/render/nginx";
import { evaluateProgram, type Evaluation } from "../../tools/evaluate";
import { stackWith } from "../support/program";
import { BoshHttpError, boshLogin } from "./bosh";
import { eventually, handshake, http2Get, LOOPBACK, request, tcpConnects } from "./clients";
import { declaredDeployment, type DeclaredContainer, standinImage, STANDIN_IMAGES, TestDeployment } from "./deployment";
import * as docker from "./dockerEngine";
import { websocketLogin } from "./xmppWebsocket";

const run = promisify(execFile);

/** Client options that allow TLS 1.1, which OpenSSL 3 refuses at its default security level. */
const TLS11_CLIENT = { minVersion: "TLSv1.1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" } as const;

/** Bound on every wait for a container to change state. */
const STATE_TIMEOUT_MS = 120_000;

/** Unique per run; run.sh exports it so that its exit trap can find what this run created. */
function runId(): string {
    const id = process.env.JITSI_E2E_RUN_ID ?? crypto.randomBytes(4).toString("hex");
    assert.match(id, /^[a-z0-9][a-z0-9-]{0,31}$/, `JITSI_E2E_RUN_ID=${id} must be 1 to 32 lowercase letters, digits or dashes`);
    return id;
}

function environment(container: DeclaredContainer): Record<string, string> {
    return Object.fromEntries(container.envs.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

function required(values: Record<string, string>, name: string): string {
    const value = values[name];
    assert.ok(value !== undefined, `${name} is not declared`);
    assert.notStrictEqual(value, "", `${name} is declared empty`);
    return value;
}

describe("dev stack on Docker", function () {
    let evaluation: Evaluation;
    let deployment: TestDeployment;
    let domain: string;
    let ca: string;
    let failures = 0;
    let started = false;

    /** Returns the declared container whose image the stand-in `standin` replaces (prosody, jvb, nginx, ...). */
    function containerFor(standin: keyof typeof STANDIN_IMAGES): DeclaredContainer {
        const matches = deployment.declared.containers.filter((c) => standinImage(c.imageReference) === STANDIN_IMAGES[standin]);
        assert.strictEqual(matches.length, 1, `expected one declared container for ${standin}, found ${matches.length}`);
        return matches[0];
    }

    function publishedPort(container: DeclaredContainer, internal: number): number {
        const port = container.ports.find((p) => p.internal === internal && p.protocol === "tcp");
        assert.ok(port !== undefined, `${container.name} does not publish ${internal}/tcp`);
        return port.external;
    }

    function httpsPort(): number {
        return publishedPort(containerFor("nginx"), 443);
    }

    function httpsUrl(pathAndQuery: string): string {
        const port = httpsPort();
        return `https://${domain}${port === 443 ? "" : `:${port}`}${pathAndQuery}`;
    }

    function xmppAccounts() {
        const env = environment(containerFor("prosody"));
        return {
            authDomain: required(env, "XMPP_AUTH_DOMAIN"),
            focusPassword: required(env, "JICOFO_AUTH_PASSWORD"),
            jvbUser: required(env, "JVB_AUTH_USER"),
            jvbPassword: required(env, "JVB_AUTH_PASSWORD"),
        };
    }

    /** Returns the `valid=` time of the resolver in the declared nginx.conf, in seconds. */
    function resolverValiditySeconds(): number {
        const config = containerFor("nginx").uploads.find((u) => u.file === PROXY_PATHS.config);
        assert.ok(config !== undefined, `the proxy has no upload at ${PROXY_PATHS.config}`);
        const match = /^\s*resolver\s[^;]*\bvalid=([0-9]+)s\b/m.exec(config.content.toString("utf8"));
        assert.ok(match !== null, "the declared nginx.conf has no resolver with valid=Ns");
        return Number(match[1]);
    }

    async function waitForHealth(container: DeclaredContainer): Promise<string> {
        const id = deployment.containerId(container.name);
        let status = "none";
        await eventually(STATE_TIMEOUT_MS, 1000, async () => {
            const state = await docker.inspectContainer(id);
            status = state.State.Health?.Status ?? "none";
            // "unhealthy" means that `retries` probes in a row failed, so the test reports it
            // instead of waiting for a recovery.
            if (status !== "healthy" && status !== "unhealthy") {
                throw new Error(`${container.name} health is ${status}`);
            }
        }).catch(() => undefined);
        return status;
    }

    before(async function () {
        evaluation = await evaluateProgram(stackWith("dev"), { tls: "openssl" });
        domain = new URL(String(evaluation.outputs.url)).hostname;
        ca = String(evaluation.outputs.caCertificatePem);
        assert.match(ca, /-----BEGIN CERTIFICATE-----/, "the dev stack exports no CA certificate");

        deployment = new TestDeployment(declaredDeployment(evaluation), runId());
        await deployment.start();
        started = true;
    });

    afterEach(function () {
        if (this.currentTest?.state === "failed") {
            failures++;
        }
    });

    after(async function () {
        if (deployment === undefined) {
            return;
        }
        if (failures > 0 || !started) {
            const reason = started ? `${failures} failed test(s)` : "a failed start";
            process.stderr.write(`\nContainer logs after ${reason}:\n${await deployment.logs(40)}\n`);
        }
        await deployment.remove();
    });

    describe("containers", function () {
        for (const standin of ["prosody", "jicofo", "jvb"] as const) {
            it(`${standin} becomes healthy`, async function () {
                const container = containerFor(standin);
                assert.ok(container.healthcheck !== undefined, `${container.name} declares no healthcheck`);
                assert.strictEqual(await waitForHealth(container), "healthy");
            });
        }

        // Neither declares a healthcheck.
        for (const [service, standin] of [["web", "web"], ["proxy", "nginx"]] as const) {
            it(`${service} keeps running`, async function () {
                const state = await docker.inspectContainer(deployment.containerId(containerFor(standin).name));
                assert.strictEqual(state.State.Status, "running");
            });
        }
    });

    describe("HTTP on the published port 80", function () {
        function httpUrl(pathAndQuery: string): string {
            const port = publishedPort(containerFor("nginx"), 80);
            return `http://${domain}${port === 80 ? "" : `:${port}`}${pathAndQuery}`;
        }

        it("redirects to HTTPS with the same path", async function () {
            const response = await request(httpUrl("/any/path?x=1"), domain);
            assert.strictEqual(response.status, 301);
            assert.strictEqual(response.headers.location, httpsUrl("/any/path?x=1"));
        });

        it("serves an ACME challenge from the webroot", async function () {
            const proxy = containerFor("nginx");
            const webroot = proxy.volumes.find((v) => v.containerPath === PROXY_PATHS.acmeWebroot);
            assert.ok(webroot !== undefined, `${proxy.name} mounts nothing at ${PROXY_PATHS.acmeWebroot}`);
            // An ACME client in webroot mode writes the token under .well-known/acme-challenge.
            const token = crypto.randomBytes(16).toString("base64url");
            const content = `${token}.${crypto.randomBytes(16).toString("base64url")}`;
            const directory = path.join(deployment.hostPath(webroot.hostPath), ".well-known", "acme-challenge");
            fs.mkdirSync(directory, { recursive: true, mode: 0o755 });
            fs.writeFileSync(path.join(directory, token), content, { mode: 0o644 });

            const response = await request(httpUrl(`/.well-known/acme-challenge/${token}`), domain);
            assert.strictEqual(response.status, 200);
            assert.strictEqual(response.body, content);
        });

        it("returns 404 for an unknown ACME token", async function () {
            const response = await request(httpUrl("/.well-known/acme-challenge/no-such-token"), domain);
            assert.strictEqual(response.status, 404);
        });
    });

    describe("TLS on the published port 443", function () {
        it("accepts TLS 1.2 with the CA output trusted", async function () {
            const result = await handshake(httpsPort(), domain, { ca, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
            assert.strictEqual(result.protocol, "TLSv1.2");
        });

        it("accepts TLS 1.3 with the CA output trusted", async function () {
            const result = await handshake(httpsPort(), domain, { ca, minVersion: "TLSv1.3", maxVersion: "TLSv1.3" });
            assert.strictEqual(result.protocol, "TLSv1.3");
        });

        it("fails verification without the CA output", async function () {
            // No `ca`: only Node's built-in CA list is trusted. The proxy sends the server
            // certificate without the private CA, so OpenSSL finds no issuer for the leaf.
            await assert.rejects(handshake(httpsPort(), domain, {}), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
        });

        it("test client negotiates TLS 1.1 with a loopback server", async function () {
            // Control for the next test: the same client options do complete a TLS 1.1 handshake,
            // so a rejection there comes from the proxy, not from this client.
            const proxy = containerFor("nginx");
            const server = tls.createServer({
                cert: proxy.uploads.find((u) => u.file === PROXY_PATHS.certificate)?.content,
                key: proxy.uploads.find((u) => u.file === PROXY_PATHS.privateKey)?.content,
                ...TLS11_CLIENT,
            }, (socket) => socket.end());
            await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
            try {
                const address = server.address();
                assert.ok(address !== null, "the loopback TLS server has no address");
                assert.ok(typeof address === "object", `the loopback TLS server listens on a pipe: ${address}`);
                const result = await handshake(address.port, domain, { ca, ...TLS11_CLIENT });
                assert.strictEqual(result.protocol, "TLSv1.1");
            } finally {
                server.close();
            }
        });

        it("rejects TLS 1.1 with a protocol_version alert", async function () {
            // ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION is the alert received from the server; a client
            // that refused on its own would raise ERR_SSL_UNSUPPORTED_PROTOCOL or similar.
            await assert.rejects(handshake(httpsPort(), domain, { ca, ...TLS11_CLIENT }), { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" });
        });

        it("negotiates HTTP/2 via ALPN", async function () {
            const result = await handshake(httpsPort(), domain, { ca, ALPNProtocols: ["h2", "http/1.1"] });
            assert.strictEqual(result.alpnProtocol, "h2");
        });

        it("serves a room over HTTP/2", async function () {
            const response = await http2Get(httpsPort(), domain, "/SomeRoom", ca);
            assert.strictEqual(response.status, 200);
        });

        it("sends the HSTS header", async function () {
            const response = await request(httpsUrl("/"), domain, { ca });
            assert.match(String(response.headers["strict-transport-security"]), /^max-age=[0-9]+/);
        });

        it("presents a certificate for the domain only", async function () {
            const result = await handshake(httpsPort(), domain, { ca });
            assert.strictEqual(result.certificate.subjectaltname, `DNS:${domain}`);
        });
    });

    describe("XMPP through the proxy", function () {
        it("focus logs in over the websocket", async function () {
            const accounts = xmppAccounts();
            const session = await websocketLogin({
                url: `wss://${domain}${httpsPort() === 443 ? "" : `:${httpsPort()}`}/xmpp-websocket`,
                domain,
                ca,
                xmppHost: accounts.authDomain,
                username: "focus",
                password: accounts.focusPassword,
            });
            assert.strictEqual(session.jid.split("/")[0], `focus@${accounts.authDomain}`);
            assert.strictEqual(session.pingReplyType, "result");
        });

        it("websocket login rejects a wrong password", async function () {
            const accounts = xmppAccounts();
            await assert.rejects(websocketLogin({
                url: `wss://${domain}${httpsPort() === 443 ? "" : `:${httpsPort()}`}/xmpp-websocket`,
                domain,
                ca,
                xmppHost: accounts.authDomain,
                username: "focus",
                password: `${accounts.focusPassword}-wrong`,
            }), { condition: "not-authorized" });
        });

        it("focus logs in over BOSH", async function () {
            const accounts = xmppAccounts();
            const jid = await boshLogin({
                url: httpsUrl("/http-bind"), domain, ca, xmppHost: accounts.authDomain,
                username: "focus", password: accounts.focusPassword,
            });
            assert.strictEqual(jid.split("/")[0], `focus@${accounts.authDomain}`);
        });

        it("jvb logs in over BOSH", async function () {
            const accounts = xmppAccounts();
            const jid = await boshLogin({
                url: httpsUrl("/http-bind"), domain, ca, xmppHost: accounts.authDomain,
                username: accounts.jvbUser, password: accounts.jvbPassword,
            });
            assert.strictEqual(jid.split("/")[0], `${accounts.jvbUser}@${accounts.authDomain}`);
        });

        it("BOSH login rejects a wrong password", async function () {
            const accounts = xmppAccounts();
            await assert.rejects(boshLogin({
                url: httpsUrl("/http-bind"), domain, ca, xmppHost: accounts.authDomain,
                username: accounts.jvbUser, password: `${accounts.jvbPassword}-wrong`,
            }), /not-authorized/);
        });
    });

    describe("web routes", function () {
        it("/SomeRoom reaches the web container", async function () {
            const response = await request(httpsUrl("/SomeRoom"), domain, { ca });
            assert.strictEqual(response.status, 200);
            assert.strictEqual(response.headers["x-jitsi-standin"], "web");
            assert.ok(response.body.includes("jitsi-e2e-standin:web"), `no stand-in marker in: ${response.body.slice(0, 200)}`);
        });

        it("web sees the domain and https from the proxy", async function () {
            const response = await request(httpsUrl("/SomeRoom"), domain, { ca });
            assert.ok(response.body.includes(`<p id="host">${domain}</p>`), `web did not receive Host ${domain}: ${response.body}`);
            assert.ok(response.body.includes("<p id=\"forwarded-proto\">https</p>"), `web did not receive X-Forwarded-Proto https: ${response.body}`);
        });

        it("/config.js reaches the web container", async function () {
            const response = await request(httpsUrl("/config.js"), domain, { ca });
            assert.strictEqual(response.status, 200);
            assert.strictEqual(response.headers["x-jitsi-standin"], "web");
            assert.match(String(response.headers["content-type"]), /^application\/javascript/);
            assert.ok(response.body.startsWith("// jitsi-e2e-standin:web\n"), `no stand-in marker in: ${response.body.slice(0, 200)}`);
        });
    });

    describe("published ports", function () {
        async function dockerPort(container: DeclaredContainer): Promise<string[]> {
            const { stdout } = await run("docker", ["port", deployment.containerId(container.name)]);
            return stdout.split("\n").filter((line) => line.trim() !== "").sort();
        }

        for (const standin of ["prosody", "jicofo", "web"] as const) {
            it(`${standin} publishes no port`, async function () {
                assert.deepStrictEqual(await dockerPort(containerFor(standin)), []);
            });
        }

        it("jvb publishes only its media port on loopback", async function () {
            const port = containerFor("jvb").ports[0];
            assert.deepStrictEqual(await dockerPort(containerFor("jvb")), [`${port.internal}/udp -> ${LOOPBACK}:${port.external}`]);
        });

        it("proxy publishes only HTTP and HTTPS on loopback", async function () {
            assert.deepStrictEqual(await dockerPort(containerFor("nginx")), [
                `443/tcp -> ${LOOPBACK}:${httpsPort()}`,
                `80/tcp -> ${LOOPBACK}:${publishedPort(containerFor("nginx"), 80)}`,
            ]);
        });

        it("jvb media port echoes UDP from the host", async function () {
            const port = containerFor("jvb").ports[0];
            const socket = dgram.createSocket("udp4");
            try {
                const reply = await eventually(10_000, 500, () => new Promise<string>((resolve, reject) => {
                    const timer = setTimeout(() => reject(new Error(`no UDP echo from ${LOOPBACK}:${port.external}`)), 1000);
                    socket.once("message", (message) => {
                        clearTimeout(timer);
                        resolve(message.toString("utf8"));
                    });
                    socket.send("e2e-probe", port.external, LOOPBACK);
                }));
                assert.strictEqual(reply, "e2e-probe");
            } finally {
                socket.close();
            }
        });

        const internalPorts = [
            { standin: "prosody", alias: "xmpp.meet.jitsi", port: 5222 },
            { standin: "prosody", alias: "xmpp.meet.jitsi", port: 5280 },
            { standin: "jicofo", alias: "jicofo.meet.jitsi", port: 8888 },
            { standin: "jvb", alias: "jvb.meet.jitsi", port: 8080 },
        ] as const;
        for (const { standin, alias, port } of internalPorts) {
            it(`${standin} port ${port} is reachable on the network`, async function () {
                // Control for the next test: the port is open inside the Docker network.
                assert.ok(containerFor(standin).networks.some((n) => n.aliases.includes(alias)), `${standin} has no alias ${alias}`);
                const proxyId = deployment.containerId(containerFor("nginx").name);
                await run("docker", ["exec", proxyId, "bash", "-c", `exec 3<>/dev/tcp/${alias}/${port}`]);
            });

            it(`${standin} port ${port} is not reachable from the host`, async function () {
                assert.strictEqual(await tcpConnects(port), false);
            });
        }
    });

    // Stops prosody, so it runs last.
    describe("prosody outage", function () {
        let proxyBefore: docker.ContainerState;

        before(async function () {
            proxyBefore = await docker.inspectContainer(deployment.containerId(containerFor("nginx").name));
            await docker.stopContainer(deployment.containerId(containerFor("prosody").name), 10);
            // nginx keeps prosody's address for the resolver's valid= time. A request in that
            // window connects to the stopped container's address and gets 504 after
            // proxy_connect_timeout, so the tests check the outage once the window has passed.
            await new Promise((resolve) => setTimeout(resolve, (resolverValiditySeconds() + 1) * 1000));
        });

        it("proxy returns 502 or 503 on /http-bind", async function () {
            const accounts = xmppAccounts();
            const error = await boshLogin({
                url: httpsUrl("/http-bind"), domain, ca, xmppHost: accounts.authDomain,
                username: "focus", password: accounts.focusPassword,
            }).then(() => undefined, (err: Error) => err);
            assert.ok(error instanceof BoshHttpError, `expected an HTTP error status, got ${error?.message ?? "a successful login"}`);
            assert.ok([502, 503].includes(error.status), `expected 502 or 503, got ${error.status}`);
        });

        it("proxy keeps running", async function () {
            const state = await docker.inspectContainer(deployment.containerId(containerFor("nginx").name));
            assert.strictEqual(state.State.Running, true);
        });

        describe("after prosody starts again", function () {
            before(async function () {
                await docker.startContainer(deployment.containerId(containerFor("prosody").name));
            });

            it("BOSH login works again", async function () {
                const accounts = xmppAccounts();
                const jid = await eventually(STATE_TIMEOUT_MS, 2000, () => boshLogin({
                    url: httpsUrl("/http-bind"), domain, ca, xmppHost: accounts.authDomain,
                    username: "focus", password: accounts.focusPassword,
                }));
                assert.strictEqual(jid.split("/")[0], `focus@${accounts.authDomain}`);
            });

            it("proxy was not restarted", async function () {
                const state = await docker.inspectContainer(deployment.containerId(containerFor("nginx").name));
                assert.strictEqual(state.State.StartedAt, proxyBefore.State.StartedAt);
                assert.strictEqual(state.RestartCount, proxyBefore.RestartCount);
            });
        });
    });
});
