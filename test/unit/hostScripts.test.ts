import * as assert from "assert";
import { spawnSync } from "child_process";

import {
    ACME_WEBROOT_MODE,
    ACME_WEBROOT_OWNER,
    bashConstant,
    DOCKER_GROUP,
    renderDockerHostScripts,
    renderScript,
    shellQuote,
    SYSCTL_FILE,
    type DockerHostOptions,
    type HostScript,
} from "../../components/render/hostScripts";
import { hostsBlockMarkers, renderHostsScript, type HostsBlockOptions } from "../../components/render/hostsFile";
import { ACME_WEBROOT_SUBDIR, configSubdirs } from "../../components/render/layout";
import { describeScriptChecks } from "../support/scriptChecks";

const DEFAULT_OPTIONS: DockerHostOptions = {
    sshPort: 22,
    httpPort: 80,
    httpsPort: 443,
    jvbPort: 10000,
    configDir: "/opt/jitsi-meet",
    firewall: true,
};

const HOSTS_OPTIONS: HostsBlockOptions = {
    file: "/etc/hosts",
    blockId: "jitsi-meet dev",
    entries: [{ address: "192.0.2.10", names: ["meet.example.org"] }],
};

/** Option sets whose scripts the shellcheck test covers. */
const DOCKER_OPTION_SETS: readonly DockerHostOptions[] = [
    DEFAULT_OPTIONS,
    { ...DEFAULT_OPTIONS, firewall: false },
    { sshPort: 2222, httpPort: 8080, httpsPort: 8443, jvbPort: 10443, configDir: "/srv/data/jitsi-meet/", firewall: true },
    { ...DEFAULT_OPTIONS, configDir: "/jitsi" },
    { ...DEFAULT_OPTIONS, sshUser: "debian" },
    { ...DEFAULT_OPTIONS, firewall: false, sshUser: "_deploy-1" },
];

const HOSTS_OPTION_SETS: readonly HostsBlockOptions[] = [
    HOSTS_OPTIONS,
    {
        file: "/srv/etc/hosts.local",
        blockId: "jitsi-meet organization/project/prod",
        entries: [
            { address: "2001:db8::10", names: ["meet.example.org", "auth.meet.example.org"] },
            { address: "198.51.100.7", names: ["Meet-Backup.example.org"] },
        ],
    },
];

function allScripts(): { label: string; source: string }[] {
    const scripts: { label: string; script: HostScript }[] = [
        ...DOCKER_OPTION_SETS.flatMap((options) =>
            renderDockerHostScripts(options).map((script) => ({ label: JSON.stringify(options), script }))),
        ...HOSTS_OPTION_SETS.map((options) => ({ label: JSON.stringify(options), script: renderHostsScript(options) })),
    ];
    return scripts.flatMap(({ label, script }) => [
        { label: `${script.name} create for ${label}`, source: script.create },
        { label: `${script.name} delete for ${label}`, source: script.delete },
    ]);
}

/** Runs `source` with bash as `bash -c` does and returns its exit status and output. */
function runBash(source: string): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync("bash", ["-c", source], { encoding: "utf8" });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Returns the value of the `readonly NAME=...` assignment of `script`, evaluated by bash. A
 * multi-line value runs up to the next assignment or blank line.
 */
function constantValue(script: string, name: string): string[] {
    const lines = script.split("\n");
    const start = lines.findIndex((candidate) => candidate.startsWith(`readonly ${name}=`));
    assert.ok(start >= 0, `no readonly ${name} in the script`);
    let end = start + 1;
    while (end < lines.length && lines[end] !== "" && !lines[end].startsWith("readonly ")) {
        end++;
    }
    const assignment = lines.slice(start, end).join("\n");
    const result = runBash(`${assignment}\nprintf '%s\\n' "\${${name}[@]}"`);
    assert.strictEqual(result.status, 0, result.stderr);
    return result.stdout.split("\n").slice(0, -1);
}

describe("host setup scripts", () => {
    it("lists steps in run order", () => {
        const names = renderDockerHostScripts(DEFAULT_OPTIONS).map((script) => script.name);
        assert.deepStrictEqual(names, ["packages", "sysctl", "firewall", "directories"]);
    });

    it("adds docker-access for a non-root user", () => {
        const scripts = renderDockerHostScripts({ ...DEFAULT_OPTIONS, sshUser: "debian" });
        assert.deepStrictEqual(scripts.map((script) => script.name),
            ["packages", "docker-access", "sysctl", "firewall", "directories"]);
        const access = scripts[1];
        assert.deepStrictEqual(constantValue(access.create, "USER_NAME"), ["debian"]);
        assert.deepStrictEqual(constantValue(access.create, "GROUP"), [DOCKER_GROUP]);
        assert.deepStrictEqual(constantValue(access.delete, "GROUP"), [DOCKER_GROUP]);
        assert.doesNotMatch(access.delete, /^readonly USER_NAME=/m, "delete must remove the recorded users, not the current one");
    });

    for (const sshUser of [undefined, "root"]) {
        it(`omits docker-access for ${sshUser ?? "no user"}`, () => {
            const names = renderDockerHostScripts({ ...DEFAULT_OPTIONS, sshUser }).map((script) => script.name);
            assert.deepStrictEqual(names, ["packages", "sysctl", "firewall", "directories"]);
        });
    }

    it("omits the firewall when disabled", () => {
        const scripts = renderDockerHostScripts({ ...DEFAULT_OPTIONS, firewall: false });
        assert.deepStrictEqual(scripts.map((script) => script.name), ["packages", "sysctl", "directories"]);
        const packages = constantValue(scripts[0].create, "REQUIRED_PACKAGES");
        assert.ok(!packages.includes("ufw"), `ufw is installed although the firewall is off: ${packages.join(" ")}`);
    });

    it("installs docker.io and ufw", () => {
        const packages = constantValue(renderDockerHostScripts(DEFAULT_OPTIONS)[0].create, "REQUIRED_PACKAGES");
        assert.ok(packages.includes("docker.io"));
        assert.ok(packages.includes("ufw"));
        assert.ok(packages.includes("procps"), "the sysctl step runs sysctl from procps");
    });

    it("keeps another Docker engine", () => {
        const create = renderDockerHostScripts(DEFAULT_OPTIONS)[0].create;
        const engines = constantValue(create, "OTHER_ENGINE_PACKAGES");
        assert.ok(engines.includes("docker-ce"), `docker-ce is not an engine package: ${engines.join(" ")}`);
        assert.ok(!engines.includes("docker.io"));
        assert.match(create, /^ {4}run_apt_get --update install -y --no-install-recommends --no-remove /m,
            "the installation must never remove a package");
    });

    it("starts every script in strict mode", () => {
        for (const { label, source } of allScripts()) {
            const lines = source.split("\n");
            assert.strictEqual(lines[0], "#!/usr/bin/env bash", label);
            assert.ok(lines.includes("set -euo pipefail"), `${label}: no set -euo pipefail`);
            assert.ok(source.includes("' ERR\n"), `${label}: no ERR trap`);
            assert.ok(source.endsWith("\nreport_summary\n"), `${label}: does not end with the summary`);
        }
    });

    it("renders the same bytes twice", () => {
        const first = allScripts();
        const second = allScripts();
        assert.deepStrictEqual(second, first);
    });

    it("allows SSH first, then web and media", () => {
        const firewall = renderDockerHostScripts({ ...DEFAULT_OPTIONS, sshPort: 2222, jvbPort: 10443 })[2];
        assert.strictEqual(firewall.name, "firewall");
        assert.deepStrictEqual(constantValue(firewall.create, "RULES"),
            ["ssh 2222/tcp", "http 80/tcp", "https 443/tcp", "jvb 10443/udp"]);
    });

    it("lists the config directories parents first", () => {
        const directories = renderDockerHostScripts({ ...DEFAULT_OPTIONS, configDir: "/srv/data/jitsi/" })[3];
        assert.deepStrictEqual(constantValue(directories.create, "PARENT_DIRECTORIES"), ["/srv", "/srv/data"]);
        const owned = constantValue(directories.create, "OWNED_DIRECTORIES");
        assert.strictEqual(owned[0], "/srv/data/jitsi");
        for (const subdir of configSubdirs()) {
            assert.ok(owned.includes(`/srv/data/jitsi/${subdir}`), `missing ${subdir} in ${owned.join(" ")}`);
        }
        for (const [index, directory] of owned.entries()) {
            const parent = directory.slice(0, directory.lastIndexOf("/"));
            if (index > 0) {
                assert.ok(owned.includes(parent), `the parent of ${directory} is not listed`);
                assert.ok(owned.indexOf(parent) < index, `${directory} precedes its parent`);
            }
        }
        assert.deepStrictEqual(constantValue(directories.create, "OWNER"), ["1000:1000"]);
    });

    it("creates the ACME webroot for root", () => {
        const directories = renderDockerHostScripts({ ...DEFAULT_OPTIONS, configDir: "/srv/data/jitsi/" })[3];
        assert.strictEqual(ACME_WEBROOT_SUBDIR, "proxy/acme-challenge");
        assert.deepStrictEqual(constantValue(directories.create, "WEBROOT_DIRECTORY"), ["/srv/data/jitsi/proxy/acme-challenge"]);
        assert.deepStrictEqual(constantValue(directories.create, "WEBROOT_PARENT_DIRECTORIES"), ["/srv/data/jitsi/proxy"]);
        assert.deepStrictEqual(constantValue(directories.create, "WEBROOT_OWNER"), [ACME_WEBROOT_OWNER]);
        assert.deepStrictEqual(constantValue(directories.create, "WEBROOT_MODE"), [ACME_WEBROOT_MODE]);
        assert.strictEqual(ACME_WEBROOT_OWNER, "0:0");
        assert.strictEqual(ACME_WEBROOT_MODE, "755");
        const owned = constantValue(directories.create, "OWNED_DIRECTORIES");
        assert.ok(!owned.some((directory) => directory.includes("/proxy")), `the webroot is owned by uid 1000: ${owned.join(" ")}`);
    });

    it("names the sysctl file and values", () => {
        const sysctl = renderDockerHostScripts(DEFAULT_OPTIONS)[1];
        assert.deepStrictEqual(constantValue(sysctl.create, "CONFIG_FILE"), [SYSCTL_FILE]);
        const content = constantValue(sysctl.create, "CONFIG_CONTENT").join("\n");
        assert.match(content, /^net\.core\.rmem_max=10485760$/m);
        assert.match(content, /^net\.core\.netdev_max_backlog=100000$/m);
    });

    const invalidOptions: { title: string; options: DockerHostOptions; mentions: string }[] = [
        { title: "relative configDir", options: { ...DEFAULT_OPTIONS, configDir: "jitsi" }, mentions: "configDir" },
        { title: "root configDir", options: { ...DEFAULT_OPTIONS, configDir: "/" }, mentions: "configDir" },
        { title: "configDir with ..", options: { ...DEFAULT_OPTIONS, configDir: "/opt/../etc" }, mentions: "configDir" },
        { title: "configDir with a space", options: { ...DEFAULT_OPTIONS, configDir: "/opt/jitsi meet" }, mentions: "configDir" },
        { title: "configDir with a quote", options: { ...DEFAULT_OPTIONS, configDir: "/opt/it's" }, mentions: "configDir" },
        { title: "port zero", options: { ...DEFAULT_OPTIONS, httpPort: 0 }, mentions: "httpPort" },
        { title: "fractional port", options: { ...DEFAULT_OPTIONS, jvbPort: 10000.5 }, mentions: "jvbPort" },
        { title: "empty sshUser", options: { ...DEFAULT_OPTIONS, sshUser: "" }, mentions: "invalid sshUser" },
        { title: "sshUser with a space", options: { ...DEFAULT_OPTIONS, sshUser: "deploy user" }, mentions: "invalid sshUser" },
        { title: "sshUser with a quote", options: { ...DEFAULT_OPTIONS, sshUser: "o'brien" }, mentions: "invalid sshUser" },
        { title: "sshUser starting with -", options: { ...DEFAULT_OPTIONS, sshUser: "-deploy" }, mentions: "invalid sshUser" },
        { title: "sshUser in upper case", options: { ...DEFAULT_OPTIONS, sshUser: "Debian" }, mentions: "invalid sshUser" },
        { title: "sshUser of 33 characters", options: { ...DEFAULT_OPTIONS, sshUser: "a".repeat(33) }, mentions: "invalid sshUser" },
    ];
    for (const { title, options, mentions } of invalidOptions) {
        it(`rejects ${title}`, () => {
            assert.throws(() => renderDockerHostScripts(options), (error: Error) => error.message.includes(mentions));
        });
    }
});

describe("hosts script renderer", () => {
    it("names the step hosts", () => {
        assert.strictEqual(renderHostsScript(HOSTS_OPTIONS).name, "hosts");
    });

    it("puts the block id in both markers", () => {
        const script = renderHostsScript(HOSTS_OPTIONS);
        assert.deepStrictEqual(constantValue(script.create, "BEGIN_MARKER"), ["# BEGIN jitsi-meet dev"]);
        assert.deepStrictEqual(constantValue(script.create, "END_MARKER"), ["# END jitsi-meet dev"]);
        assert.deepStrictEqual(hostsBlockMarkers("jitsi-meet dev"), { begin: "# BEGIN jitsi-meet dev", end: "# END jitsi-meet dev" });
    });

    it("renders one line per address", () => {
        const script = renderHostsScript(HOSTS_OPTION_SETS[1]);
        const lines = constantValue(script.create, "BLOCK_LINES");
        assert.strictEqual(lines[1], "2001:db8::10 meet.example.org auth.meet.example.org");
        assert.strictEqual(lines[2], "198.51.100.7 Meet-Backup.example.org");
    });

    it("compares names in lower case", () => {
        const script = renderHostsScript(HOSTS_OPTION_SETS[1]);
        assert.deepStrictEqual(constantValue(script.create, "MANAGED_NAMES"),
            ["meet.example.org", "auth.meet.example.org", "meet-backup.example.org"]);
    });

    const invalidOptions: { title: string; options: HostsBlockOptions; mentions: string }[] = [
        { title: "relative file", options: { ...HOSTS_OPTIONS, file: "hosts" }, mentions: "invalid file" },
        { title: "block id with a newline", options: { ...HOSTS_OPTIONS, blockId: "jitsi\nmeet" }, mentions: "invalid blockId" },
        { title: "block id with a trailing blank", options: { ...HOSTS_OPTIONS, blockId: "jitsi " }, mentions: "invalid blockId" },
        { title: "empty block id", options: { ...HOSTS_OPTIONS, blockId: "" }, mentions: "invalid blockId" },
        { title: "no entries", options: { ...HOSTS_OPTIONS, entries: [] }, mentions: "entries is empty" },
        { title: "invalid address", options: { ...HOSTS_OPTIONS, entries: [{ address: "192.0.2", names: ["a.example"] }] }, mentions: "invalid address" },
        { title: "entry without names", options: { ...HOSTS_OPTIONS, entries: [{ address: "192.0.2.1", names: [] }] }, mentions: "no names" },
        { title: "name with a space", options: { ...HOSTS_OPTIONS, entries: [{ address: "192.0.2.1", names: ["a b"] }] }, mentions: "invalid host name" },
        { title: "name with a quote", options: { ...HOSTS_OPTIONS, entries: [{ address: "192.0.2.1", names: ["a'b"] }] }, mentions: "invalid host name" },
    ];
    for (const { title, options, mentions } of invalidOptions) {
        it(`rejects ${title}`, () => {
            assert.throws(() => renderHostsScript(options), (error: Error) => error.message.includes(mentions));
        });
    }
});

describe("bash quoting", () => {
    const values = ["plain", "it's", "a b\tc", "$HOME `id` \\n", "'", "", "line one\nline two\n"];
    for (const value of values) {
        it(`keeps ${JSON.stringify(value)} intact`, () => {
            const result = runBash(`value=${shellQuote(value)}\nprintf '%s' "$value"`);
            assert.strictEqual(result.status, 0, result.stderr);
            assert.strictEqual(result.stdout, value);
        });
    }

    it("renders arrays element by element", () => {
        const result = runBash(`${bashConstant("ITEMS", ["a b", "c'd", ""])}\nprintf '<%s>' "\${ITEMS[@]}"`);
        assert.strictEqual(result.stdout, "<a b><c'd><>");
    });
});

describe("script failure report", () => {
    function failingScript(body: string): string {
        return renderScript({
            step: "demo",
            action: "create",
            failureHint: "Check the demo.",
            constants: [],
            body: [body],
        });
    }

    it("names the step and line of a failing command", () => {
        const script = failingScript("echo before\nfalse\necho after");
        const result = runBash(script);
        const line = script.split("\n").indexOf("false") + 1;
        assert.strictEqual(result.status, 1);
        assert.strictEqual(result.stdout, "before\n");
        assert.strictEqual(result.stderr,
            `jitsi-meet host setup: step demo (create) failed with exit status 1 at line ${line} of its script. Check the demo.\n`);
    });

    it("reports a failure inside a function once", () => {
        const result = runBash(failingScript("step() {\n    false\n}\nstep"));
        assert.strictEqual(result.status, 1);
        assert.strictEqual(result.stderr.split("\n").filter((line) => line.includes("failed")).length, 1, result.stderr);
    });

    it("reports a failing command substitution once", () => {
        const result = runBash(failingScript("value=\"$(echo partial; exit 3)\"\necho \"$value\""));
        assert.strictEqual(result.status, 3);
        assert.strictEqual(result.stdout, "");
        assert.strictEqual(result.stderr.split("\n").filter((line) => line.includes("failed")).length, 1, result.stderr);
    });

    it("prints nothing changed for a no-op", () => {
        const result = runBash(failingScript("true"));
        assert.strictEqual(result.status, 0);
        assert.strictEqual(result.stdout, "demo: nothing changed\n");
    });
});

describeScriptChecks("shellcheck on rendered scripts", allScripts());
