// Runs the rendered classic-mode host setup in fresh Debian 12 and Debian 13 containers, each
// script as `bash -c SCRIPT` as root with its secrets on standard input, as the program runs it
// on a host. The containers get NET_ADMIN so that ufw really changes netfilter rules in their
// own network namespace, and reach the Debian mirror through a bridge network that the suite
// creates and removes.
//
// download.jitsi.org and packages.prosody.im are not reachable from the test machine, so the
// setup runs until the apt-repositories step fails at the first key download. The tests check
// what the steps wrote up to there, that the failing steps name themselves, that second runs
// change nothing, and that the delete scripts restore the container's starting state.
//
// Needs root, test/e2e/engine.sh (starts dockerd) and test/e2e/images.sh (builds the images).
import * as assert from "assert";
import { randomBytes } from "crypto";
import { performance } from "perf_hooks";

import {
    JITSI_REPOSITORY,
    PROSODY_REPOSITORY,
    renderClassicHostScripts,
    type ClassicHostOptions,
    type ClassicHostScript,
    type ClassicSecret,
} from "../../components/render/classicScripts";
import { SYSCTL_FILE } from "../../components/render/hostScripts";
import { makeCertificate } from "../support/certificates";
import { mustRun, run, type RunResult } from "../support/processes";
import { RELEASES, useDebianSuite } from "./debianSuite";

const OPTIONS: ClassicHostOptions = {
    domain: "meet.example.org",
    sshPort: 22,
    jvbPort: 10000,
    firewall: true,
    certificatePath: "/etc/ssl/jitsi-meet/meet.example.org.crt",
    privateKeyPath: "/etc/ssl/jitsi-meet/meet.example.org.key",
};

const STATE_DIR = "/var/lib/jitsi-meet-host";
const SOURCES_HEADER =
    "# Written by the jitsi-meet Pulumi program (host setup step \"apt-repositories\"); its delete script removes this file.";

/** Steps that succeed here, in the order they run. */
const SUCCEEDING_STEPS = ["classic-packages", "sysctl", "firewall", "certificate", "preseed"] as const;
/** Hosts of the Jitsi and Prosody apt repositories, which the tests must never contact. */
const REPOSITORY_HOSTS = [...new Set([JITSI_REPOSITORY, PROSODY_REPOSITORY]
    .flatMap((repository) => [repository.keyUrl, repository.uri])
    .map((url) => new URL(url).hostname))];

const DELETE_ORDER = ["jitsi-meet", "preseed", "certificate", "apt-repositories", "firewall", "sysctl", "classic-packages"] as const;

/** debconf answers that the preseed step must store, as debconf-get-selections prints them. */
function expectedSelections(jicofoPassword: string, jvbSecret: string): string[] {
    return [
        `jitsi-videobridge2\tjitsi-videobridge/jvb-hostname\tstring\t${OPTIONS.domain}`,
        `jitsi-meet-prosody\tjitsi-videobridge/jvb-hostname\tstring\t${OPTIONS.domain}`,
        "jitsi-meet-web-config\tjitsi-meet/cert-choice\tselect\tI want to use my own certificate",
        `jitsi-meet-web-config\tjitsi-meet/cert-path-key\tstring\t${OPTIONS.privateKeyPath}`,
        `jitsi-meet-web-config\tjitsi-meet/cert-path-crt\tstring\t${OPTIONS.certificatePath}`,
        `jicofo\tjicofo/jicofo-authpassword\tpassword\t${jicofoPassword}`,
        `jitsi-meet-prosody\tjicofo/jicofo-authpassword\tpassword\t${jicofoPassword}`,
        `jitsi-videobridge2\tjitsi-videobridge/jvbsecret\tpassword\t${jvbSecret}`,
        `jitsi-meet-prosody\tjitsi-videobridge/jvbsecret\tpassword\t${jvbSecret}`,
    ];
}

function lastLine(text: string): string {
    const lines = text.trimEnd().split("\n");
    return lines[lines.length - 1];
}

/** Returns a password like the ones the program generates: 24 URL-safe base64 characters. */
function randomSecret(): string {
    return randomBytes(18).toString("base64url");
}

const durations: { release: string; run: string; seconds: number }[] = [];

describe("classic host setup containers", () => {
    const suite = useDebianSuite("jitsi-classic-test");

    after(function () {
        if (durations.length > 0) {
            console.log("\n    Script durations (seconds):");
            for (const entry of durations) {
                console.log(`      ${entry.release.padEnd(10)} ${entry.run.padEnd(40)} ${entry.seconds.toFixed(1).padStart(6)}`);
            }
        }
    });

    for (const release of RELEASES) {
        describe(`classic host setup on ${release.title}`, () => {
            const scripts = renderClassicHostScripts(OPTIONS);
            const container = `jitsi-classic-test-${release.codename}-${process.pid}`;
            const certificate = makeCertificate({ names: [OPTIONS.domain] });
            const otherCertificate = makeCertificate({ names: [OPTIONS.domain] });
            const secrets: Record<ClassicSecret, string> = {
                certificatePem: certificate.certificatePem,
                privateKeyPem: certificate.keyPem,
                jicofoAuthPassword: randomSecret(),
                jvbSecret: randomSecret(),
            };
            /** Standard output and error of every script run, to check for leaked secrets. */
            const outputs: string[] = [];
            let initialPackages = "";
            let initialTrustedKeys = "";

            function step(name: string): ClassicHostScript {
                const script = scripts.find((candidate) => candidate.name === name);
                assert.ok(script, `no step ${name}`);
                return script;
            }

            function encodeSecrets(values: readonly string[]): string {
                return values.map((value) => `${Buffer.from(value, "utf8").toString("base64")}\n`).join("");
            }

            /** Runs a step's script in the container as the program does, with its secrets on standard input. */
            function runStep(name: string, action: "create" | "delete", label = "", input?: string): RunResult {
                const script = step(name);
                const stdin = input ?? (action === "create" ? encodeSecrets(script.stdinSecrets.map((secret) => secrets[secret])) : "");
                const started = performance.now();
                const result = run("docker", ["exec", "--interactive", container, "bash", "-c", script[action]], stdin);
                durations.push({
                    release: release.codename,
                    run: `${name} ${action}${label === "" ? "" : ` (${label})`}`,
                    seconds: (performance.now() - started) / 1000,
                });
                outputs.push(result.stdout, result.stderr);
                return result;
            }

            function mustRunStep(name: string, action: "create" | "delete", label = ""): string {
                const result = runStep(name, action, label);
                assert.strictEqual(result.status, 0, `${name} ${action} failed:\n${result.stdout}\n${result.stderr}`);
                return result.stdout;
            }

            /** Runs an inspection command in the container; its output is not a script output. */
            function inspect(command: string, input = ""): string {
                return mustRun("docker", ["exec", "--interactive", container, "bash", "-c", command], input);
            }

            function fileExists(file: string): boolean {
                return inspect(`if [ -e ${file} ]; then echo yes; else echo no; fi`).trim() === "yes";
            }

            function installedPackages(): string {
                return inspect("dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package} ${Version}\\n' | awk '$1 == \"ii\"' | sort");
            }

            /** Lists apt's global trusted keys, which apt-key would change. */
            function trustedKeys(): string {
                return inspect("find /etc/apt/trusted.gpg /etc/apt/trusted.gpg.d -printf '%p %s %T@\\n' 2>/dev/null | sort || true");
            }

            function jitsiSelections(): string[] {
                return inspect("debconf-get-selections | grep -E '^(jicofo|jitsi-)' || true").split("\n").filter(Boolean).sort();
            }

            /** Returns everything that the scripts may change, so that two snapshots show whether a run changed anything. */
            function snapshot(): string {
                return inspect([
                    "set -euo pipefail",
                    "dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package} ${Version}\\n' | sort",
                    `find /etc/apt/sources.list.d /usr/share/keyrings /etc/ssl/jitsi-meet ${SYSCTL_FILE} ${STATE_DIR} /etc/ufw \\`,
                    "    -printf '%p %U:%G %m %T@\\n' 2>/dev/null | sort || true",
                    `find /etc/apt/sources.list.d /etc/ssl/jitsi-meet ${STATE_DIR} /var/cache/debconf /etc/ufw -type f -exec sha256sum {} + 2>/dev/null | sort || true`,
                    "iptables -S 2>/dev/null || true",
                    "if command -v ufw >/dev/null; then ufw status verbose; fi",
                ].join("\n"));
            }

            before(function () {
                const image = suite.images.get(release.image);
                assert.ok(image, `no image built for ${release.image}`);
                run("docker", ["rm", "-f", container]);
                // The container reaches the Debian mirror, but the Jitsi and Prosody repository
                // hosts map to its own loopback, so the steps fail there without any traffic
                // (not even a DNS query) toward those hosts.
                mustRun("docker", [
                    "run", "--detach", "--pull", "never", "--name", container, "--network", suite.network,
                    ...REPOSITORY_HOSTS.flatMap((host) => ["--add-host", `${host}:127.0.0.1`]),
                    "--cap-add", "NET_ADMIN", image, "sleep", "infinity",
                ]);
                initialPackages = installedPackages();
                initialTrustedKeys = trustedKeys();
            });

            after(function () {
                run("docker", ["rm", "-f", container]);
            });

            it("classic-packages installs the tools", () => {
                const stdout = mustRunStep("classic-packages", "create");
                assert.match(stdout, /^classic-packages: installed [0-9]+ package\(s\) for [a-z -]+: /m);
                const tools = inspect("for tool in curl gpg debconf-get-selections debconf-communicate openssl sysctl ufw; do command -v \"$tool\" || echo \"missing $tool\"; done");
                assert.doesNotMatch(tools, /missing/);
                const recorded = inspect(`cat ${STATE_DIR}/classic-packages.installed`).split("\n").filter(Boolean);
                for (const name of ["curl", "debconf-utils", "gnupg", "ufw"]) {
                    assert.ok(recorded.includes(name), `${name} is not recorded`);
                }
                for (const name of ["ca-certificates", "procps", "bash"]) {
                    assert.ok(!recorded.includes(name), `${name} was installed before, but is recorded`);
                }
            });

            it("sysctl writes its file", () => {
                mustRunStep("sysctl", "create");
                assert.ok(fileExists(SYSCTL_FILE));
            });

            it("firewall enables ufw", () => {
                mustRunStep("firewall", "create");
                const status = inspect("ufw status");
                assert.match(status, /^Status: active$/m);
                for (const rule of ["22/tcp", "80/tcp", "443/tcp", "10000/udp"]) {
                    assert.match(status, new RegExp(`^${rule} +ALLOW `, "m"), `no rule for ${rule}`);
                }
            });

            it("apt-repositories fails at the key download", () => {
                const result = runStep("apt-repositories", "create");
                assert.strictEqual(result.status, 1, result.stdout + result.stderr);
                assert.match(result.stderr,
                    /^jitsi-meet host setup: step apt-repositories \(create\) failed: could not download the repository signing key https:\/\/download\.jitsi\.org\/jitsi-key\.gpg\.key: curl: \([0-9]+\) /m);
                assert.match(result.stderr, /Check that this host resolves and reaches download\.jitsi\.org over HTTPS/);
                assert.match(result.stdout, /^apt-repositories: wrote \/etc\/apt\/sources\.list\.d\/jitsi-stable\.list$/m);
                assert.match(result.stdout, /^apt-repositories: wrote \/etc\/apt\/sources\.list\.d\/prosody-debian-packages\.list$/m);
            });

            it("apt-repositories writes the sources files", () => {
                assert.strictEqual(inspect(`cat ${JITSI_REPOSITORY.sourcesFile}`),
                    `${SOURCES_HEADER}\ndeb [signed-by=/usr/share/keyrings/jitsi-keyring.gpg] https://download.jitsi.org stable/\n`);
                assert.strictEqual(inspect(`cat ${PROSODY_REPOSITORY.sourcesFile}`),
                    `${SOURCES_HEADER}\ndeb [signed-by=/usr/share/keyrings/prosody-debian-packages.key] http://packages.prosody.im/debian ${release.codename} main\n`);
                assert.strictEqual(inspect(`stat -c '%U:%G %a' ${JITSI_REPOSITORY.sourcesFile} ${PROSODY_REPOSITORY.sourcesFile}`),
                    "root:root 644\nroot:root 644\n");
                assert.strictEqual(inspect(`cat ${STATE_DIR}/apt-repositories.state`),
                    `file ${JITSI_REPOSITORY.sourcesFile}\nfile ${PROSODY_REPOSITORY.sourcesFile}\n`);
            });

            it("sources name keyrings under /usr/share/keyrings", () => {
                const content = inspect(`cat ${JITSI_REPOSITORY.sourcesFile} ${PROSODY_REPOSITORY.sourcesFile}`);
                const keyrings = [...content.matchAll(/\[signed-by=([^\]]+)\]/g)].map((match) => match[1]);
                assert.deepStrictEqual(keyrings, ["/usr/share/keyrings/jitsi-keyring.gpg", "/usr/share/keyrings/prosody-debian-packages.key"]);
                // The download failed, so no keyring exists, and apt's global trusted keys are unchanged.
                for (const keyring of keyrings) {
                    assert.ok(!fileExists(keyring), `${keyring} exists although the key download failed`);
                }
                assert.strictEqual(trustedKeys(), initialTrustedKeys);
                assert.strictEqual(inspect("find /tmp -mindepth 1 -maxdepth 1 -name 'tmp.*'"), "", "the temporary gpg home was left behind");
            });

            it("apt-repositories reruns without rewriting", () => {
                const before = snapshot();
                const result = runStep("apt-repositories", "create", "second run");
                assert.strictEqual(result.status, 1);
                assert.match(result.stdout, /^apt-repositories: \/etc\/apt\/sources\.list\.d\/jitsi-stable\.list is up to date$/m);
                assert.match(result.stdout, /^apt-repositories: \/etc\/apt\/sources\.list\.d\/prosody-debian-packages\.list is up to date$/m);
                assert.doesNotMatch(result.stdout, /wrote/);
                assert.match(result.stderr, /step apt-repositories \(create\) failed: could not download/);
                assert.strictEqual(snapshot(), before);
            });

            it("certificate rejects a truncated input", () => {
                const input = encodeSecrets([secrets.certificatePem]);
                const result = runStep("certificate", "create", "one secret line", input);
                assert.strictEqual(result.status, 1);
                assert.match(result.stderr,
                    /^jitsi-meet host setup: step certificate \(create\) failed: standard input ended before the line of privateKeyPem; expected one base64 line per secret, in this order: certificatePem privateKeyPem$/m);
                assert.ok(!fileExists("/etc/ssl/jitsi-meet"));
            });

            it("certificate rejects a mismatched key", () => {
                const input = encodeSecrets([secrets.certificatePem, otherCertificate.keyPem]);
                const result = runStep("certificate", "create", "mismatched key", input);
                assert.strictEqual(result.status, 1);
                assert.match(result.stderr, /step certificate \(create\) failed: privateKeyPem is not the key of certificatePem/);
                assert.ok(!fileExists("/etc/ssl/jitsi-meet"));
                assert.ok(!fileExists(`${STATE_DIR}/certificate.state`));
            });

            it("certificate writes the files", () => {
                mustRunStep("certificate", "create");
                assert.strictEqual(inspect(`cat ${OPTIONS.certificatePath}`), secrets.certificatePem);
                assert.strictEqual(inspect(`cat ${OPTIONS.privateKeyPath}`), secrets.privateKeyPem);
                assert.strictEqual(inspect(`stat -c '%U:%G %a' ${OPTIONS.certificatePath}`), "root:root 644\n");
                assert.strictEqual(inspect(`stat -c '%U:%G %a' ${OPTIONS.privateKeyPath}`), "root:root 640\n");
                assert.strictEqual(inspect("stat -c '%U:%G %a' /etc/ssl/jitsi-meet"), "root:root 755\n");
                assert.strictEqual(inspect("find /etc/ssl/jitsi-meet -mindepth 1 | sort"),
                    `${OPTIONS.certificatePath}\n${OPTIONS.privateKeyPath}\n`);
            });

            it("preseed stores the debconf answers", () => {
                mustRunStep("preseed", "create");
                const selections = jitsiSelections();
                for (const line of expectedSelections(secrets.jicofoAuthPassword, secrets.jvbSecret)) {
                    const [owner, question] = line.split("\t");
                    assert.ok(selections.includes(line), `debconf has no or another answer for ${question} of ${owner}`);
                }
                assert.strictEqual(selections.length, 9, selections.map((line) => line.split("\t").slice(0, 2).join(" ")).join("\n"));
            });

            it("preseed leaves jitsi-meet/jvb-hostname unset", () => {
                const all = inspect("debconf-get-selections");
                assert.doesNotMatch(all, /\tjitsi-meet\/jvb-hostname\t/);
            });

            it("jitsi-meet fails without the Jitsi repository", () => {
                const result = runStep("jitsi-meet", "create");
                assert.strictEqual(result.status, 1, result.stdout + result.stderr);
                assert.match(result.stderr,
                    /^jitsi-meet host setup: step jitsi-meet \(create\) failed: apt knows no jitsi-meet package to install, so apt-get update did not get the package list of https:\/\/download\.jitsi\.org stable\/; /m);
                // The step stops before it installs nginx.
                assert.doesNotMatch(installedPackages(), /^ii +nginx /m);
                assert.ok(!fileExists(`${STATE_DIR}/jitsi-meet.installed`));
            });

            for (const name of SUCCEEDING_STEPS) {
                it(`${name} second run changes nothing`, () => {
                    const before = snapshot();
                    const stdout = mustRunStep(name, "create", "second run");
                    assert.strictEqual(lastLine(stdout), `${name}: nothing changed`);
                    assert.strictEqual(snapshot(), before);
                });
            }

            it("secrets appear in no script output", () => {
                const keyLines = secrets.privateKeyPem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
                const values = [
                    secrets.jicofoAuthPassword,
                    secrets.jvbSecret,
                    ...keyLines,
                    ...(["certificatePem", "privateKeyPem", "jicofoAuthPassword", "jvbSecret"] as const)
                        .map((secret) => Buffer.from(secrets[secret], "utf8").toString("base64")),
                ];
                const captured = outputs.join("\n");
                values.forEach((value, index) => {
                    assert.ok(!captured.includes(value), `secret value ${index} appears in a script output`);
                });
                for (const script of scripts) {
                    values.forEach((value, index) => {
                        assert.ok(!script.create.includes(value), `secret value ${index} appears in ${script.name} create`);
                        assert.ok(!script.delete.includes(value), `secret value ${index} appears in ${script.name} delete`);
                    });
                }
            });

            it("delete scripts restore the starting state", () => {
                for (const name of DELETE_ORDER) {
                    mustRunStep(name, "delete");
                }
                assert.ok(!fileExists(STATE_DIR), `${STATE_DIR} remains`);
                for (const file of [JITSI_REPOSITORY.sourcesFile, PROSODY_REPOSITORY.sourcesFile, "/etc/ssl/jitsi-meet", SYSCTL_FILE]) {
                    assert.ok(!fileExists(file), `${file} remains`);
                }
                assert.strictEqual(installedPackages(), initialPackages);
            });

            it("delete removes the secrets from debconf", () => {
                // debconf-get-selections went with debconf-utils, so the check reads debconf's files.
                // grep takes the secrets from standard input, so they are on no command line.
                const matches = inspect("grep -rlF -f - /var/cache/debconf || true",
                    `${secrets.jicofoAuthPassword}\n${secrets.jvbSecret}\n`);
                assert.strictEqual(matches, "");
                assert.strictEqual(inspect("grep -c -E '^Name: (jicofo|jitsi-)' /var/cache/debconf/config.dat /var/cache/debconf/passwords.dat || true"),
                    "/var/cache/debconf/config.dat:0\n/var/cache/debconf/passwords.dat:0\n");
            });

            for (const name of DELETE_ORDER) {
                it(`${name} second delete changes nothing`, () => {
                    const stdout = mustRunStep(name, "delete", "second run");
                    assert.strictEqual(lastLine(stdout), `${name}: nothing changed`);
                });
            }
        });
    }
});
