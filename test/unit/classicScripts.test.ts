import * as assert from "assert";

import {
    JITSI_REPOSITORY,
    PROSODY_REPOSITORY,
    renderClassicHostScripts,
    type ClassicHostOptions,
    type ClassicHostScript,
    type ClassicSecret,
} from "../../components/render/classicScripts";
import { renderDockerHostScripts } from "../../components/render/hostScripts";
import { makeCertificate } from "../support/certificates";
import { describeScriptChecks } from "../support/scriptChecks";

const OPTIONS: ClassicHostOptions = {
    domain: "meet.example.org",
    sshPort: 22,
    jvbPort: 10000,
    firewall: true,
    certificatePath: "/etc/ssl/jitsi-meet/meet.example.org.crt",
    privateKeyPath: "/etc/ssl/jitsi-meet/meet.example.org.key",
};

/** Option sets whose scripts the shellcheck test covers. */
const OPTION_SETS: readonly ClassicHostOptions[] = [
    OPTIONS,
    {
        domain: "video.conference-2.example.net",
        sshPort: 2222,
        jvbPort: 10443,
        firewall: false,
        certificatePath: "/srv/tls/certs/fullchain.pem",
        privateKeyPath: "/srv/tls/private/privkey.pem",
    },
];

const EXPECTED_SECRETS: Readonly<Record<string, readonly ClassicSecret[]>> = {
    "classic-packages": [],
    "sysctl": [],
    "firewall": [],
    "apt-repositories": [],
    "certificate": ["certificatePem", "privateKeyPem"],
    "preseed": ["jicofoAuthPassword", "jvbSecret"],
    "jitsi-meet": [],
};

function step(scripts: readonly ClassicHostScript[], name: string): ClassicHostScript {
    const script = scripts.find((candidate) => candidate.name === name);
    assert.ok(script, `no step ${name} in ${scripts.map((candidate) => candidate.name).join(", ")}`);
    return script;
}

/** Returns the index of the line of `script` that starts with `prefix`, or fails. */
function lineIndex(script: string, prefix: string): number {
    const index = script.split("\n").findIndex((line) => line.startsWith(prefix));
    assert.ok(index >= 0, `no line starting with ${JSON.stringify(prefix)}`);
    return index;
}

function allScripts(): { label: string; source: string }[] {
    const scripts: { label: string; source: string }[] = [];
    OPTION_SETS.forEach((options, index) => {
        for (const script of renderClassicHostScripts(options)) {
            scripts.push({ label: `${script.name} create, option set ${index + 1}`, source: script.create });
            scripts.push({ label: `${script.name} delete, option set ${index + 1}`, source: script.delete });
        }
    });
    return scripts;
}

describe("classic host scripts", () => {
    const scripts = renderClassicHostScripts(OPTIONS);

    it("runs the steps in order", () => {
        assert.deepStrictEqual(scripts.map((script) => script.name),
            ["classic-packages", "sysctl", "firewall", "apt-repositories", "certificate", "preseed", "jitsi-meet"]);
    });

    it("leaves out the firewall when disabled", () => {
        assert.deepStrictEqual(renderClassicHostScripts({ ...OPTIONS, firewall: false }).map((script) => script.name),
            ["classic-packages", "sysctl", "apt-repositories", "certificate", "preseed", "jitsi-meet"]);
    });

    it("lists the secrets each step reads", () => {
        for (const script of scripts) {
            assert.deepStrictEqual(script.stdinSecrets, EXPECTED_SECRETS[script.name], script.name);
        }
    });

    it("reads the secrets in stdinSecrets order", () => {
        for (const script of scripts) {
            const reads = [...script.create.matchAll(/^read_secret_line ([A-Za-z]+)$/gm)].map((match) => match[1]);
            assert.deepStrictEqual(reads, script.stdinSecrets, script.name);
            assert.doesNotMatch(script.delete, /^read_secret_line /m, `${script.name} delete reads standard input`);
        }
    });

    it("shares sysctl and firewall with docker mode", () => {
        const docker = renderDockerHostScripts({
            sshPort: OPTIONS.sshPort, httpPort: 80, httpsPort: 443, jvbPort: OPTIONS.jvbPort,
            configDir: "/opt/jitsi-meet", firewall: true,
        });
        for (const name of ["sysctl", "firewall"]) {
            const dockerScript = docker.find((candidate) => candidate.name === name);
            assert.ok(dockerScript);
            assert.strictEqual(step(scripts, name).create, dockerScript.create, `${name} create`);
            assert.strictEqual(step(scripts, name).delete, dockerScript.delete, `${name} delete`);
        }
    });

    it("installs the base packages", () => {
        const create = step(scripts, "classic-packages").create;
        assert.match(create, /^readonly REQUIRED_PACKAGES=\('ca-certificates' 'curl' 'debconf-utils' 'gnupg' 'openssl' 'procps' 'ufw'\)$/m);
        const withoutFirewall = step(renderClassicHostScripts({ ...OPTIONS, firewall: false }), "classic-packages").create;
        assert.match(withoutFirewall, /^readonly REQUIRED_PACKAGES=\('ca-certificates' 'curl' 'debconf-utils' 'gnupg' 'openssl' 'procps'\)$/m);
    });

    it("records packages per step", () => {
        for (const [name, file] of [["classic-packages", "classic-packages.installed"], ["jitsi-meet", "jitsi-meet.installed"]]) {
            const script = step(scripts, name);
            const line = `readonly STATE_FILE='/var/lib/jitsi-meet-host/${file}'`;
            assert.ok(script.create.split("\n").includes(line), `${name} create`);
            assert.ok(script.delete.split("\n").includes(line), `${name} delete`);
            assert.ok(script.delete.split("\n").includes(`readonly STEP='${name}'`), `${name} delete`);
            assert.match(script.delete, new RegExp(`^# Jitsi Meet host setup, step "${name}", delete script\\.`, "m"));
            assert.doesNotMatch(script.delete, /\/packages\.installed'/);
        }
    });

    it("never runs apt-key", () => {
        for (const script of scripts) {
            assert.doesNotMatch(script.create, /apt-key/, `${script.name} create`);
            assert.doesNotMatch(script.delete, /apt-key/, `${script.name} delete`);
        }
    });

    it("points signed-by at the keyrings", () => {
        const create = step(scripts, "apt-repositories").create;
        const sourcesLines = [...create.matchAll(/"(deb \[signed-by=[^"]*)"$/gm)].map((match) => match[1]);
        assert.deepStrictEqual(sourcesLines, [
            "deb [signed-by=/usr/share/keyrings/jitsi-keyring.gpg] https://download.jitsi.org stable/",
            "deb [signed-by=/usr/share/keyrings/prosody-debian-packages.key] http://packages.prosody.im/debian ${codename} main",
        ]);
        for (const repository of [JITSI_REPOSITORY, PROSODY_REPOSITORY]) {
            assert.match(repository.keyring, /^\/usr\/share\/keyrings\/[a-z-]+\.(gpg|key)$/);
            assert.match(repository.sourcesFile, /^\/etc\/apt\/sources\.list\.d\/[a-z-]+\.list$/);
            assert.ok(create.includes(`add_repository '${repository.sourcesFile}' '${repository.keyring}' '${repository.keyUrl}' `));
        }
    });

    it("reads the codename at run time", () => {
        const create = step(scripts, "apt-repositories").create;
        assert.match(create, /^codename="\$\(sed -n 's\/\^VERSION_CODENAME=\/\/p' \/etc\/os-release/m);
        assert.match(create, /packages\.prosody\.im\/debian \$\{codename\} main"$/m);
        assert.doesNotMatch(create, /packages\.prosody\.im\/debian (bookworm|trixie)/);
    });

    it("writes sources before downloading keys", () => {
        const create = step(scripts, "apt-repositories").create;
        assert.ok(lineIndex(create, "        write_file \"$path\" 0644") < lineIndex(create, "    install_keyring \"${keyrings[index]}\""));
    });

    it("bounds the key downloads", () => {
        const create = step(scripts, "apt-repositories").create;
        assert.match(create, /curl --fail [^\n]*--proto =https/);
        assert.match(create, /--connect-timeout 15 --max-time "\$KEY_DOWNLOAD_MAX_SECONDS"/);
        assert.match(create, /--retry "\$\(\(KEY_DOWNLOAD_ATTEMPTS - 1\)\)"/);
        assert.match(create, /gpg --batch --yes --dearmor --output/);
    });

    it("installs nginx before jitsi-meet", () => {
        const create = step(scripts, "jitsi-meet").create;
        assert.ok(lineIndex(create, "install_missing_packages -- nginx") < lineIndex(create, "install_missing_packages -- jitsi-meet"));
        assert.doesNotMatch(create, /nginx-light/);
    });

    it("preseeds the debconf answers", () => {
        const create = step(scripts, "preseed").create;
        const selections = [...create.matchAll(/^add_selection (.*)$/gm)].map((match) => match[1]);
        assert.deepStrictEqual(selections, [
            "'jitsi-videobridge2' 'jitsi-videobridge/jvb-hostname' string 'meet.example.org'",
            "'jitsi-meet-prosody' 'jitsi-videobridge/jvb-hostname' string 'meet.example.org'",
            "'jitsi-meet-web-config' 'jitsi-meet/cert-choice' select 'I want to use my own certificate'",
            "'jitsi-meet-web-config' 'jitsi-meet/cert-path-key' string '/etc/ssl/jitsi-meet/meet.example.org.key'",
            "'jitsi-meet-web-config' 'jitsi-meet/cert-path-crt' string '/etc/ssl/jitsi-meet/meet.example.org.crt'",
            "'jicofo' 'jicofo/jicofo-authpassword' password \"${secret_values[jicofoAuthPassword]}\"",
            "'jitsi-meet-prosody' 'jicofo/jicofo-authpassword' password \"${secret_values[jicofoAuthPassword]}\"",
            "'jitsi-videobridge2' 'jitsi-videobridge/jvbsecret' password \"${secret_values[jvbSecret]}\"",
            "'jitsi-meet-prosody' 'jitsi-videobridge/jvbsecret' password \"${secret_values[jvbSecret]}\"",
        ]);
    });

    it("never preseeds jitsi-meet/jvb-hostname", () => {
        for (const script of scripts) {
            assert.doesNotMatch(script.create, /jitsi-meet\/jvb-hostname/, `${script.name} create`);
            assert.doesNotMatch(script.delete, /jitsi-meet\/jvb-hostname/, `${script.name} delete`);
        }
    });

    it("pipes the answers to debconf-set-selections", () => {
        const create = step(scripts, "preseed").create;
        const calls = create.split("\n").filter((line) => line.includes("debconf-set-selections") && !line.includes("fail \""));
        assert.deepStrictEqual(calls, ["    done | debconf-set-selections"]);
    });

    it("purges only the recorded answers", () => {
        const remove = step(scripts, "preseed").delete;
        assert.match(remove, /printf 'UNREGISTER %s\\n' "\$question" \| debconf-communicate "\$owner"/);
        assert.doesNotMatch(remove, /PURGE/);
    });

    it("keeps secrets out of temporary files", () => {
        // Here-strings and here-documents may go through a temporary file, so the steps that
        // hold secrets use none.
        for (const name of ["certificate", "preseed"]) {
            const create = step(scripts, name).create;
            assert.doesNotMatch(create, /<<</, `${name} uses a here-string`);
            assert.doesNotMatch(create, /<<-?\s*['"]?[A-Z_]+/, `${name} uses a here-document`);
        }
    });

    it("writes the key with mode 0640", () => {
        const create = step(scripts, "certificate").create;
        assert.match(create, /^readonly CERTIFICATE_PATH='\/etc\/ssl\/jitsi-meet\/meet\.example\.org\.crt'$/m);
        assert.match(create, /^readonly CERTIFICATE_MODE='644'$/m);
        assert.match(create, /^readonly PRIVATE_KEY_PATH='\/etc\/ssl\/jitsi-meet\/meet\.example\.org\.key'$/m);
        assert.match(create, /^readonly PRIVATE_KEY_MODE='640'$/m);
        assert.match(create, /^ {4}chown root:root "\$pending_file"$/m);
    });

    it("contains no secret values", () => {
        const certificate = makeCertificate({ names: [OPTIONS.domain] });
        const secretLines = [...certificate.certificatePem.split("\n"), ...certificate.keyPem.split("\n")]
            .filter((line) => line.length > 0 && !line.startsWith("-----"));
        for (const script of scripts) {
            for (const source of [script.create, script.delete]) {
                assert.doesNotMatch(source, /-----BEGIN [A-Z ]*PRIVATE KEY-----\n/, script.name);
                for (const line of secretLines) {
                    assert.ok(!source.includes(line), `${script.name} contains a line of the test certificate or key`);
                }
            }
        }
        // The options carry no secret, so the secrets cannot reach the script text.
        const optionKeys = Object.keys(OPTIONS).sort();
        assert.deepStrictEqual(optionKeys, ["certificatePath", "domain", "firewall", "jvbPort", "privateKeyPath", "sshPort"]);
    });

    it("renders the same text twice", () => {
        assert.deepStrictEqual(renderClassicHostScripts(OPTIONS), scripts);
    });

    for (const [label, options, message] of [
        ["upper-case domain", { ...OPTIONS, domain: "Meet.example.org" }, /invalid domain "Meet\.example\.org"/],
        ["single-label domain", { ...OPTIONS, domain: "localhost" }, /invalid domain "localhost"/],
        ["relative certificate path", { ...OPTIONS, certificatePath: "tls/cert.pem" }, /invalid certificatePath "tls\/cert\.pem"/],
        ["key path with a space", { ...OPTIONS, privateKeyPath: "/etc/ssl/my key.pem" }, /invalid privateKeyPath/],
        ["key path with ..", { ...OPTIONS, privateKeyPath: "/etc/ssl/../key.pem" }, /invalid privateKeyPath/],
        ["key path ending in /", { ...OPTIONS, privateKeyPath: "/etc/ssl/private/" }, /invalid privateKeyPath/],
        ["same certificate and key path", { ...OPTIONS, privateKeyPath: OPTIONS.certificatePath }, /need separate files/],
        ["jvbPort 0", { ...OPTIONS, jvbPort: 0 }, /invalid jvbPort 0/],
        ["sshPort 65536", { ...OPTIONS, sshPort: 65536 }, /invalid sshPort 65536/],
    ] as const) {
        it(`rejects ${label}`, () => {
            assert.throws(() => renderClassicHostScripts(options), message);
        });
    }
});

describeScriptChecks("shellcheck on classic scripts", allScripts());
