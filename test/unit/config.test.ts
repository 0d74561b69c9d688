import * as assert from "assert";

import { ConfigError, parseConfig, type RawConfig } from "../../components/config";
import { makeCertificate, makeSshKey } from "../support/certificates";

const LOCAL: RawConfig = { domain: "meet.example.org", advertiseIps: '["198.51.100.7"]' };
const REMOTE: RawConfig = {
    domain: "meet.example.org",
    hostAddress: "203.0.113.10",
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
};

/** Returns the problems that parseConfig reports for `raw`, or fails when it accepts it. */
function problemsOf(raw: RawConfig, now?: Date): { key: string; message: string }[] {
    try {
        parseConfig(raw, "jitsi-meet", now);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        return [...err.problems];
    }
    assert.fail(`configuration was accepted: ${JSON.stringify(raw)}`);
}

describe("config validation", () => {
    const good = makeCertificate({ names: ["meet.example.org"] });
    const other = makeCertificate({ names: ["other.example.org"] });

    const cases: { title: string; raw: RawConfig; key: string; mentions: string; now?: Date }[] = [
        { title: "missing domain", raw: { advertiseIps: '["198.51.100.7"]' }, key: "domain", mentions: "missing" },
        { title: "domain with a scheme", raw: { ...LOCAL, domain: "https://meet.example.org" }, key: "domain", mentions: "scheme" },
        { title: "domain with a trailing dot", raw: { ...LOCAL, domain: "meet.example.org." }, key: "domain", mentions: "trailing" },
        { title: "domain with a trailing slash", raw: { ...LOCAL, domain: "meet.example.org/" }, key: "domain", mentions: "trailing" },
        { title: "domain in upper case", raw: { ...LOCAL, domain: "Meet.Example.org" }, key: "domain", mentions: "lower case" },
        { title: "domain that is an IP", raw: { ...LOCAL, domain: "198.51.100.7" }, key: "domain", mentions: "IP address" },
        { title: "domain with one label", raw: { ...LOCAL, domain: "localhost" }, key: "domain", mentions: "two labels" },
        { title: "invalid advertised IP", raw: { ...LOCAL, advertiseIps: '["300.1.2.3"]' }, key: "advertiseIps", mentions: "300.1.2.3" },
        { title: "advertised IP not a list", raw: { ...LOCAL, advertiseIps: "198.51.100.7" }, key: "advertiseIps", mentions: "list" },
        { title: "container address advertised", raw: { ...LOCAL, advertiseIps: '["172.28.0.5"]' }, key: "advertiseIps", mentions: "container address" },
        { title: "default bridge address advertised", raw: { ...LOCAL, advertiseIps: '["172.17.0.2"]' }, key: "advertiseIps", mentions: "172.17.0.0/16" },
        { title: "no advertised address", raw: { domain: "meet.example.org" }, key: "advertiseIps", mentions: "missing" },
        { title: "invalid hosts address", raw: { ...LOCAL, hostsAddress: "localhost" }, key: "hostsAddress", mentions: "IPv4 or IPv6" },
        { title: "port out of range", raw: { ...LOCAL, httpsPort: "70000" }, key: "httpsPort", mentions: "1 to 65535" },
        { title: "port not a number", raw: { ...LOCAL, httpPort: "eighty" }, key: "httpPort", mentions: "whole number" },
        { title: "colliding HTTP and HTTPS ports", raw: { ...LOCAL, httpPort: "8443", httpsPort: "8443" }, key: "httpsPort", mentions: "same as httpPort" },
        { title: "HTTPS port on the SSH port", raw: { ...REMOTE, httpsPort: "22" }, key: "httpsPort", mentions: "sshPort" },
        { title: "unknown TLS mode", raw: { ...LOCAL, tlsMode: "letsencrypt" }, key: "tlsMode", mentions: "selfSigned, provided" },
        { title: "provided TLS without certificate", raw: { ...LOCAL, tlsMode: "provided", tlsPrivateKey: good.keyPem }, key: "tlsCertificate", mentions: "missing" },
        { title: "provided TLS without key", raw: { ...LOCAL, tlsMode: "provided", tlsCertificate: good.certificatePem }, key: "tlsPrivateKey", mentions: "missing" },
        { title: "provided TLS with another key", raw: { ...LOCAL, tlsMode: "provided", tlsCertificate: good.certificatePem, tlsPrivateKey: other.keyPem }, key: "tlsPrivateKey", mentions: "does not match" },
        { title: "provided TLS for another name", raw: { ...LOCAL, tlsMode: "provided", tlsCertificate: other.certificatePem, tlsPrivateKey: other.keyPem }, key: "tlsCertificate", mentions: "do not cover" },
        { title: "provided TLS expired", raw: { ...LOCAL, tlsMode: "provided", tlsCertificate: good.certificatePem, tlsPrivateKey: good.keyPem }, key: "tlsCertificate", mentions: "expired", now: new Date(Date.now() + 400 * 24 * 3600 * 1000) },
        { title: "provided TLS not a PEM", raw: { ...LOCAL, tlsMode: "provided", tlsCertificate: "not a pem", tlsPrivateKey: good.keyPem }, key: "tlsCertificate", mentions: "PEM" },
        { title: "remote host without SSH key", raw: { ...LOCAL, hostAddress: "203.0.113.10" }, key: "sshPrivateKey", mentions: "missing" },
        { title: "SSH setting without remote host", raw: { ...LOCAL, sshUser: "debian" }, key: "sshUser", mentions: "hostAddress is unset" },
        { title: "image tag latest", raw: { ...LOCAL, imageTag: "latest" }, key: "imageTag", mentions: "pin a release" },
        { title: "image tag stable", raw: { ...LOCAL, imageTag: "stable" }, key: "imageTag", mentions: "pin a release" },
        { title: "nginx image without tag", raw: { ...LOCAL, nginxImage: "nginx" }, key: "nginxImage", mentions: "pinned tag" },
        { title: "nginx image latest", raw: { ...LOCAL, nginxImage: "nginx:latest" }, key: "nginxImage", mentions: "moves over time" },
        { title: "unknown time zone", raw: { ...LOCAL, timeZone: "Mars/Olympus" }, key: "timeZone", mentions: "IANA" },
        { title: "relative config directory", raw: { ...LOCAL, configDir: "jitsi" }, key: "configDir", mentions: "absolute path" },
        { title: "unknown install mode", raw: { ...LOCAL, installMode: "snap" }, key: "installMode", mentions: "docker" },
        { title: "unknown key", raw: { ...LOCAL, domian: "meet.example.org" }, key: "domian", mentions: "unknown key" },
        { title: "renewal not before expiry", raw: { ...LOCAL, tlsValidityDays: "30", tlsEarlyRenewalDays: "30" }, key: "tlsEarlyRenewalDays", mentions: "not less than" },
        { title: "workstation hosts without address", raw: { ...LOCAL, hostsOnWorkstation: "true" }, key: "hostsOnWorkstation", mentions: "hostsAddress" },
        { title: "classic mode with HTTPS port", raw: { ...LOCAL, installMode: "classic", httpsPort: "8443" }, key: "httpsPort", mentions: "installMode docker" },
        { title: "classic mode with image tag", raw: { ...LOCAL, installMode: "classic", imageTag: "stable-10000" }, key: "imageTag", mentions: "installMode docker" },
        { title: "classic mode with advertised IPs", raw: { ...LOCAL, installMode: "classic" }, key: "advertiseIps", mentions: "jitsi-videobridge2" },
        { title: "publish address not an IP", raw: { ...LOCAL, publishAddress: "localhost" }, key: "publishAddress", mentions: "IPv4 or IPv6" },
        { title: "classic mode with publish address", raw: { domain: "meet.example.org", installMode: "classic", publishAddress: "127.0.0.1" }, key: "publishAddress", mentions: "installMode docker" },
        { title: "boolean not true or false", raw: { ...LOCAL, firewall: "yes" }, key: "firewall", mentions: "true or false" },
    ];

    for (const testCase of cases) {
        it(`rejects ${testCase.title}`, () => {
            const problems = problemsOf(testCase.raw, testCase.now);
            const problem = problems.find((p) => p.key === testCase.key);
            assert.ok(problem, `no problem names ${testCase.key}; got ${JSON.stringify(problems)}`);
            assert.ok(problem.message.includes(testCase.mentions),
                `message for ${testCase.key} does not mention "${testCase.mentions}": ${problem.message}`);
        });
    }

    it("reports every problem in one error", () => {
        const problems = problemsOf({ domain: "HTTPS://X", httpPort: "0", imageTag: "latest", advertiseIps: '["x"]' });
        const keys = problems.map((p) => p.key).sort();
        assert.deepStrictEqual(keys, ["advertiseIps", "domain", "httpPort", "imageTag"]);
    });

    it("error message names key, value and fix", () => {
        let message = "";
        try {
            parseConfig({ ...LOCAL, imageTag: "latest" });
        } catch (err) {
            message = (err as Error).message;
        }
        assert.match(message, /jitsi-meet:imageTag/);
        assert.match(message, /"latest"/);
        assert.match(message, /stable-11146/);
    });

    it("never prints a secret value", () => {
        // A private key where the certificate belongs, and a certificate where the key belongs.
        let message = "";
        try {
            parseConfig({ ...LOCAL, tlsMode: "provided", tlsCertificate: good.keyPem, tlsPrivateKey: good.certificatePem });
        } catch (err) {
            message = (err as Error).message;
        }
        assert.match(message, /jitsi-meet:tlsCertificate: invalid value \(secret, not shown\)/);
        assert.match(message, /jitsi-meet:tlsPrivateKey: invalid value \(secret, not shown\)/);
        assert.ok(!message.includes(good.keyPem.split("\n")[1]), "the private key appears in the error");
        assert.ok(!message.includes(good.certificatePem.split("\n")[1]), "the certificate appears in the error");
    });

    it("hides any value stored as a secret", () => {
        let message = "";
        try {
            parseConfig({ ...LOCAL, domain: "Secret.Example.org" }, "jitsi-meet", new Date(), ["domain"]);
        } catch (err) {
            message = (err as Error).message;
        }
        assert.match(message, /jitsi-meet:domain: invalid value \(secret, not shown\)/);
        assert.ok(!message.toLowerCase().includes("secret.example.org"), "the secret domain appears in the error");
    });

    it("applies defaults for a minimal local stack", () => {
        const config = parseConfig(LOCAL);
        assert.strictEqual(config.host, undefined);
        assert.strictEqual(config.httpsPort, 443);
        assert.strictEqual(config.imageTag, "stable-11146");
        assert.strictEqual(config.tls.mode, "selfSigned");
    });

    it("advertises a remote host's IP by default", () => {
        const config = parseConfig(REMOTE);
        assert.deepStrictEqual(config.advertiseIps, ["203.0.113.10"]);
        assert.strictEqual(config.host?.user, "root");
    });

    it("rejects a passphrase-protected SSH key", () => {
        const problems = problemsOf({ ...REMOTE, sshPrivateKey: makeSshKey("correct horse") });
        assert.strictEqual(problems.length, 1, JSON.stringify(problems));
        assert.strictEqual(problems[0].key, "sshPrivateKey");
        assert.match(problems[0].message, /protected by a passphrase/);
    });

    it("accepts an SSH key without passphrase", () => {
        const config = parseConfig({ ...REMOTE, sshPrivateKey: makeSshKey() });
        assert.match(config.host?.privateKey ?? "", /BEGIN OPENSSH PRIVATE KEY/);
    });

    it("needs no advertised IPs in classic mode", () => {
        const config = parseConfig({ domain: "meet.example.org", installMode: "classic" });
        assert.strictEqual(config.installMode, "classic");
        assert.deepStrictEqual(config.advertiseIps, []);
    });

    it("accepts a matching provided certificate", () => {
        const config = parseConfig({ ...LOCAL, tlsMode: "provided", tlsCertificate: good.certificatePem, tlsPrivateKey: good.keyPem });
        assert.strictEqual(config.tls.mode, "provided");
    });
});
