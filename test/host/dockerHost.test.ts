// Runs the rendered Docker-mode host setup in fresh Debian 12 and Debian 13 containers, each
// script as `bash -c SCRIPT` as root, as the program runs it on a host. The containers get
// NET_ADMIN so that ufw really changes netfilter rules in their own network namespace, and reach
// the Debian mirror through a bridge network that the suite creates and removes.
//
// Needs root, test/e2e/engine.sh (starts dockerd) and test/e2e/images.sh (builds the images).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { renderDockerHostScripts, SYSCTL_FILE, type DockerHostOptions, type HostScript } from "../../components/render/hostScripts";
import { renderHostsScript } from "../../components/render/hostsFile";
import { ACME_WEBROOT_SUBDIR, configSubdirs } from "../../components/render/layout";
import { mustRun, run, type RunResult } from "../support/processes";
import { RELEASES, useDebianSuite } from "./debianSuite";

const OPTIONS: DockerHostOptions = {
    sshPort: 22,
    httpPort: 80,
    httpsPort: 443,
    jvbPort: 10000,
    configDir: "/opt/jitsi-meet",
    firewall: true,
    sshUser: "deploy",
};

const STATE_DIR = "/var/lib/jitsi-meet-host";
// Seconds that the stand-in for unattended-upgrades holds the dpkg lock.
const LOCK_HOLD_SECONDS = 10;

describe("Debian host containers", () => {
    const suite = useDebianSuite("jitsi-host-test");
    let hostsDirectory = "";

    before(function () {
        hostsDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "jitsi-host-test-"));
    });

    after(function () {
        if (hostsDirectory !== "") {
            fs.rmSync(hostsDirectory, { recursive: true, force: true });
        }
    });

    for (const release of RELEASES) {
        describe(`docker host setup on ${release.title}`, () => {
            const scripts = renderDockerHostScripts(OPTIONS);
            const container = `jitsi-host-test-${release.image.split("/")[1]}-${process.pid}`;
            let mountedHostsFile = "";
            let packagesBefore = "";
            let snapshotAfterCreate = "";

            function step(name: string): HostScript {
                const script = scripts.find((candidate) => candidate.name === name);
                assert.ok(script, `no step ${name}`);
                return script;
            }

            /** Runs a script in the container as the program runs it on a host. */
            function runInContainer(script: string, prefix: readonly string[] = []): RunResult {
                return run("docker", ["exec", container, ...prefix, "bash", "-c", script]);
            }

            function mustRunInContainer(script: string): string {
                const result = runInContainer(script);
                assert.strictEqual(result.status, 0, `exit status ${result.status}:\n${result.stdout}\n${result.stderr}`);
                return result.stdout;
            }

            /** Returns the docker-access step rendered for SSH user `user`. */
            function dockerAccessFor(user: string): HostScript {
                const script = renderDockerHostScripts({ ...OPTIONS, sshUser: user }).find((candidate) => candidate.name === "docker-access");
                assert.ok(script, `no docker-access step for ${user}`);
                return script;
            }

            function groupsOf(user: string): string[] {
                return mustRunInContainer(`id -nG ${user}`).trim().split(" ");
            }

            /**
             * Builds and installs an empty package `name` that conflicts with docker.io, as the
             * packages of Docker's repository do, without a package registry.
             */
            function installStandInPackage(name: string): void {
                mustRunInContainer([
                    "set -euo pipefail",
                    `root="$(mktemp -d)"`,
                    `mkdir "$root/DEBIAN"`,
                    `printf '%s\n' 'Package: ${name}' 'Version: 99.0-test' 'Architecture: all' 'Maintainer: Jitsi host tests <root@localhost>' ` +
                        `'Conflicts: docker.io' 'Description: stand-in for ${name} from Docker repository' >"$root/DEBIAN/control"`,
                    `dpkg-deb --build --root-owner-group "$root" /tmp/${name}.deb >/dev/null`,
                    `dpkg -i /tmp/${name}.deb >/dev/null`,
                    `rm -rf "$root" /tmp/${name}.deb`,
                ].join("\n"));
            }

            function isInstalled(name: string): boolean {
                return runInContainer(`dpkg-query -W -f='\${db:Status-Abbrev}' ${name} 2>/dev/null | grep -qx 'ii '`).status === 0;
            }

            function installedPackages(): string {
                return mustRunInContainer(
                    "dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package} ${Version}\\n' | awk '$1 == \"ii\"' | sort");
            }

            /** Returns everything that the scripts may change, so that two snapshots show whether a run changed anything. */
            function snapshot(): string {
                return mustRunInContainer([
                    "set -euo pipefail",
                    "dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package} ${Version}\\n' | sort",
                    `for f in ${SYSCTL_FILE} /etc/default/ufw /etc/ufw/ufw.conf /etc/ufw/user.rules /etc/ufw/user6.rules ${STATE_DIR}/*; do`,
                    "    if [ -f \"$f\" ]; then sha256sum \"$f\"; fi",
                    "done",
                    `find ${OPTIONS.configDir} ${STATE_DIR} -printf '%p %U:%G %m %T@\\n' 2>/dev/null | sort || true`,
                    "getent group docker || true",
                    "iptables -S 2>/dev/null || true",
                    "ip6tables -S 2>/dev/null || true",
                    "if command -v ufw >/dev/null; then ufw status verbose; fi",
                ].join("\n"));
            }

            before(function () {
                const image = suite.images.get(release.image);
                assert.ok(image, `no image built for ${release.image}`);
                mountedHostsFile = path.join(hostsDirectory, `${release.image.split("/")[1]}-hosts`);
                fs.writeFileSync(mountedHostsFile, "127.0.0.1 localhost\n");
                run("docker", ["rm", "-f", container]);
                mustRun("docker", [
                    "run", "--detach", "--pull", "never", "--name", container, "--network", suite.network,
                    "--cap-add", "NET_ADMIN",
                    "--mount", `type=bind,source=${mountedHostsFile},target=/srv/hosts`,
                    image, "sleep", "infinity",
                ]);
                mustRunInContainer(`useradd ${OPTIONS.sshUser}`);
            });

            after(function () {
                run("docker", ["rm", "-f", container]);
            });

            it("packages waits for a held dpkg lock", () => {
                packagesBefore = installedPackages();
                // A process that holds the dpkg frontend lock with fcntl, as unattended-upgrades does.
                // The struct flock layout (short, short, padding, off_t, off_t, pid_t) is that of 64-bit Linux.
                mustRun("docker", ["exec", "--detach", container, "perl", "-MFcntl", "-e",
                    "open(my $f, '>>', '/var/lib/dpkg/lock-frontend') or die $!; " +
                    "my $lock = pack('s s x4 q q i x4', F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLKW, $lock) or die $!; " +
                    `open(my $ready, '>', '/tmp/lock-held'); close($ready); sleep ${LOCK_HOLD_SECONDS};`]);
                mustRunInContainer("for i in $(seq 50); do [ -e /tmp/lock-held ] && exit 0; sleep 0.1; done; exit 1");

                const started = Date.now();
                const result = runInContainer(step("packages").create);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.match(result.stdout, /packages: waiting up to 300 s for the apt\/dpkg lock, held by [0-9]+ \(perl\)/);
                assert.ok(Date.now() - started >= (LOCK_HOLD_SECONDS - 2) * 1000, "packages did not wait for the lock");
                assert.match(result.stdout, /packages: installed [0-9]+ package\(s\) for docker\.io apparmor ufw:/);
                assert.match(result.stdout, /systemd is not running/);
            });

            it("packages installs docker.io and ufw", () => {
                const installed = installedPackages();
                for (const name of ["docker.io", "ufw", "apparmor", "containerd", "runc"]) {
                    assert.match(installed, new RegExp(`^ii +${name.replace(".", "\\.")} `, "m"), `${name} is not installed`);
                }
            });

            it("packages records only what it installed", () => {
                const recorded = mustRunInContainer(`cat ${STATE_DIR}/packages.installed`).split("\n").filter(Boolean);
                assert.ok(recorded.includes("docker.io"));
                assert.ok(recorded.includes("ufw"));
                assert.ok(!recorded.includes("ca-certificates"), "ca-certificates was installed before");
                assert.ok(!recorded.includes("procps"), "procps was installed before");
                assert.ok(!recorded.includes("bash"), "bash was installed before");
            });

            it("docker-access adds the SSH user", () => {
                assert.ok(!groupsOf("deploy").includes("docker"), "deploy is a member of docker before the step");
                const first = runInContainer(step("docker-access").create);
                assert.strictEqual(first.status, 0, first.stderr);
                assert.match(first.stdout, /docker-access: added deploy to group docker/);
                assert.ok(groupsOf("deploy").includes("docker"), "deploy is not a member of docker");
                assert.strictEqual(mustRunInContainer(`cat ${STATE_DIR}/docker-access.state`), "added deploy\n");

                const groupAfterFirst = mustRunInContainer("getent group docker");
                const second = runInContainer(step("docker-access").create);
                assert.strictEqual(second.status, 0, second.stderr);
                assert.match(second.stdout, /docker-access: deploy is a member of group docker\ndocker-access: nothing changed\n$/);
                assert.strictEqual(mustRunInContainer("getent group docker"), groupAfterFirst);
            });

            it("docker-access follows a new SSH user", () => {
                mustRunInContainer("useradd other");
                const other = runInContainer(dockerAccessFor("other").create);
                assert.strictEqual(other.status, 0, other.stderr);
                assert.match(other.stdout, /removed deploy from group docker, which the create script had added/);
                assert.match(other.stdout, /added other to group docker/);
                assert.ok(!groupsOf("deploy").includes("docker"), "deploy is still a member of docker");
                assert.strictEqual(mustRunInContainer(`cat ${STATE_DIR}/docker-access.state`), "added other\n");

                const back = runInContainer(step("docker-access").create);
                assert.strictEqual(back.status, 0, back.stderr);
                assert.ok(!groupsOf("other").includes("docker"), "other is still a member of docker");
                assert.ok(groupsOf("deploy").includes("docker"), "deploy is not a member of docker");
                assert.strictEqual(mustRunInContainer(`cat ${STATE_DIR}/docker-access.state`), "added deploy\n");
                mustRunInContainer("userdel other");
            });

            it("sysctl writes its file", () => {
                const result = runInContainer(step("sysctl").create);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.strictEqual(mustRunInContainer(`cat ${SYSCTL_FILE}`),
                    "# Managed by the jitsi-meet Pulumi program (host setup step \"sysctl\"); it is replaced on each run.\n" +
                    "# Jitsi Videobridge receives all media on one UDP port: a larger socket receive buffer\n" +
                    "# and input queue keep bursts of packets from being dropped.\n" +
                    "net.core.rmem_max=10485760\n" +
                    "net.core.netdev_max_backlog=100000\n");
                assert.strictEqual(mustRunInContainer(`stat -c '%u:%g:%a' ${SYSCTL_FILE}`), "0:0:644\n");
            });

            it("sysctl reports a read-only kernel", () => {
                const result = runInContainer(step("sysctl").create);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.match(result.stdout, /sysctl: not applying the settings to the running kernel, because \/proc\/sys\/net\/core\/\S+ (is read-only|does not exist)/);
            });

            it("firewall enables ufw with SSH first", () => {
                const result = runInContainer(step("firewall").create);
                assert.strictEqual(result.status, 0, result.stderr);
                const status = mustRunInContainer("ufw status numbered");
                assert.match(status, /^Status: active$/m);
                const rules = status.split("\n").filter((line) => line.startsWith("[")).map((line) => line.replace(/^\[ *[0-9]+\] /, "").split(/ {2,}/)[0]);
                assert.deepStrictEqual(rules.slice(0, 4), ["22/tcp", "80/tcp", "443/tcp", "10000/udp"]);
                assert.match(mustRunInContainer("ufw status verbose"), /Default: deny \(incoming\)/);
                assert.match(mustRunInContainer("iptables -S ufw-user-input"), /-p tcp .*--dport 22 -j ACCEPT/);
            });

            it("directories creates them with owners", () => {
                const result = runInContainer(step("directories").create);
                assert.strictEqual(result.status, 0, result.stderr);
                for (const directory of [OPTIONS.configDir, ...configSubdirs().map((subdir) => `${OPTIONS.configDir}/${subdir}`)]) {
                    assert.strictEqual(mustRunInContainer(`stat -c '%u:%g:%a' ${directory}`), "1000:1000:750\n", directory);
                }
                for (const directory of [`${OPTIONS.configDir}/proxy`, `${OPTIONS.configDir}/${ACME_WEBROOT_SUBDIR}`]) {
                    assert.strictEqual(mustRunInContainer(`stat -c '%u:%g:%a' ${directory}`), "0:0:755\n", directory);
                }
                const recorded = mustRunInContainer(`cat ${STATE_DIR}/directories.state`).split("\n");
                assert.ok(recorded.includes(`created ${OPTIONS.configDir}/proxy`));
                assert.ok(recorded.includes(`created ${OPTIONS.configDir}/${ACME_WEBROOT_SUBDIR}`));
            });

            it("second run changes nothing", () => {
                snapshotAfterCreate = snapshot();
                for (const script of scripts) {
                    const result = runInContainer(script.create);
                    assert.strictEqual(result.status, 0, `${script.name}: ${result.stderr}`);
                    assert.match(result.stdout, new RegExp(`\\n?${script.name}: nothing changed\\n$`), `${script.name} output:\n${result.stdout}`);
                }
                assert.strictEqual(snapshot(), snapshotAfterCreate);
            });

            it("firewall fails without NET_ADMIN", () => {
                const result = runInContainer(step("firewall").create, ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin"]);
                assert.strictEqual(result.status, 1);
                assert.match(result.stderr, /step firewall \(create\) failed: ufw cannot change the firewall here/);
                assert.match(result.stderr, /NET_ADMIN/);
                assert.strictEqual(snapshot(), snapshotAfterCreate);
            });

            it("failure names the step and a check", () => {
                mustRunInContainer("mv /etc/sysctl.d /etc/sysctl.d.moved && rm -f /etc/sysctl.d.moved/90-jitsi-videobridge.conf");
                try {
                    const result = runInContainer(step("sysctl").create);
                    assert.notStrictEqual(result.status, 0);
                    assert.match(result.stderr, /step sysctl \(create\) failed with exit status [0-9]+ at line [0-9]+ of its script\. Check that \/etc\/sysctl\.d exists/);
                } finally {
                    mustRunInContainer("mv /etc/sysctl.d.moved /etc/sysctl.d");
                    mustRunInContainer(step("sysctl").create);
                }
            });

            it("directories delete keeps user files", () => {
                mustRunInContainer(`echo data > ${OPTIONS.configDir}/jvb/user-file`);
                mustRunInContainer(`echo token > ${OPTIONS.configDir}/${ACME_WEBROOT_SUBDIR}/challenge`);
                const result = runInContainer(step("directories").delete);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.strictEqual(mustRunInContainer(`cat ${OPTIONS.configDir}/jvb/user-file`), "data\n");
                assert.strictEqual(mustRunInContainer(`cat ${OPTIONS.configDir}/${ACME_WEBROOT_SUBDIR}/challenge`), "token\n");
                assert.strictEqual(mustRunInContainer(`ls -A ${OPTIONS.configDir}`), "jvb\nproxy\n");
                assert.strictEqual(mustRunInContainer(`cat ${STATE_DIR}/directories.state`),
                    `created ${OPTIONS.configDir}\ncreated ${OPTIONS.configDir}/jvb\n` +
                    `created ${OPTIONS.configDir}/proxy\ncreated ${OPTIONS.configDir}/${ACME_WEBROOT_SUBDIR}\n`);
            });

            it("directories delete removes them once empty", () => {
                mustRunInContainer(`rm ${OPTIONS.configDir}/jvb/user-file ${OPTIONS.configDir}/${ACME_WEBROOT_SUBDIR}/challenge`);
                const result = runInContainer(step("directories").delete);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.strictEqual(runInContainer(`test -e ${OPTIONS.configDir}`).status, 1, "the config directory still exists");
                assert.strictEqual(runInContainer(`test -e ${STATE_DIR}/directories.state`).status, 1);
                assert.strictEqual(runInContainer("test -d /opt").status, 0, "/opt existed before and must stay");
            });

            it("directories keeps an existing webroot", () => {
                const webroot = `${OPTIONS.configDir}/${ACME_WEBROOT_SUBDIR}`;
                mustRunInContainer(`install -d -m 0700 ${OPTIONS.configDir}/proxy ${webroot} && echo token > ${webroot}/challenge`);
                const create = runInContainer(step("directories").create);
                assert.strictEqual(create.status, 0, create.stderr);
                assert.match(create.stdout, new RegExp(`set owner 0:0 and mode 755 on ${webroot} \\(was 0:0:700\\)`));
                assert.strictEqual(mustRunInContainer(`stat -c '%u:%g:%a' ${webroot}`), "0:0:755\n");
                assert.strictEqual(mustRunInContainer(`stat -c '%u:%g:%a' ${OPTIONS.configDir}/proxy`), "0:0:700\n",
                    "create changed a webroot parent that it did not make");
                assert.match(mustRunInContainer(`cat ${STATE_DIR}/directories.state`), new RegExp(`^changed ${webroot} 0:0:700 0:0:755$`, "m"));

                const again = runInContainer(step("directories").create);
                assert.match(again.stdout, /directories: nothing changed\n$/);

                const remove = runInContainer(step("directories").delete);
                assert.strictEqual(remove.status, 0, remove.stderr);
                assert.match(remove.stdout, new RegExp(`restored owner and mode 0:0:700 on ${webroot}`));
                assert.strictEqual(mustRunInContainer(`stat -c '%u:%g:%a' ${webroot}`), "0:0:700\n");
                assert.strictEqual(mustRunInContainer(`cat ${webroot}/challenge`), "token\n");

                mustRunInContainer(`rm -r ${OPTIONS.configDir}`);
                const cleanup = runInContainer(step("directories").delete);
                assert.strictEqual(cleanup.status, 0, cleanup.stderr);
                assert.strictEqual(runInContainer(`test -e ${STATE_DIR}/directories.state`).status, 1);
            });

            it("firewall delete disables ufw", () => {
                const result = runInContainer(step("firewall").delete);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.match(mustRunInContainer("ufw status"), /^Status: inactive$/m);
                assert.match(mustRunInContainer("ufw show added"), /\(None\)/);
                assert.strictEqual(runInContainer(`test -e ${STATE_DIR}/firewall.state`).status, 1);
            });

            it("sysctl delete removes its file", () => {
                const result = runInContainer(step("sysctl").delete);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.strictEqual(runInContainer(`test -e ${SYSCTL_FILE}`).status, 1);
            });

            it("docker-access delete removes the membership", () => {
                const result = runInContainer(step("docker-access").delete);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.match(result.stdout, /docker-access: removed deploy from group docker/);
                assert.ok(!groupsOf("deploy").includes("docker"), "deploy is still a member of docker");
                assert.strictEqual(runInContainer(`test -e ${STATE_DIR}/docker-access.state`).status, 1);
            });

            it("docker-access keeps an earlier member", () => {
                mustRunInContainer("useradd --groups docker member");
                const access = dockerAccessFor("member");
                const create = runInContainer(access.create);
                assert.strictEqual(create.status, 0, create.stderr);
                assert.match(create.stdout, /docker-access: member is a member of group docker\ndocker-access: nothing changed\n$/);
                assert.strictEqual(runInContainer(`test -e ${STATE_DIR}/docker-access.state`).status, 1, "create recorded an earlier member");

                const remove = runInContainer(access.delete);
                assert.strictEqual(remove.status, 0, remove.stderr);
                assert.ok(groupsOf("member").includes("docker"), "delete removed a membership that create did not add");
                mustRunInContainer("userdel member");
            });

            it("packages delete restores the package list", () => {
                const result = runInContainer(step("packages").delete);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.match(result.stdout, /packages: removed [0-9]+ package\(s\) that the create script installed/);
                assert.strictEqual(installedPackages(), packagesBefore);
                assert.strictEqual(runInContainer(`test -e ${STATE_DIR}`).status, 1, `${STATE_DIR} still exists`);
            });

            it("second delete changes nothing", () => {
                for (const script of [...scripts].reverse()) {
                    const result = runInContainer(script.delete);
                    assert.strictEqual(result.status, 0, `${script.name}: ${result.stderr}`);
                    assert.match(result.stdout, new RegExp(`${script.name}: nothing changed\\n$`), `${script.name} output:\n${result.stdout}`);
                }
            });

            it("delete keeps an administrator's ufw", () => {
                // An administrator's firewall: ufw installed, active, with a rule of its own.
                mustRunInContainer("apt-get install -y -q --no-install-recommends ufw >/dev/null && ufw allow 2222/tcp && ufw --force enable");
                const packagesWithUfw = installedPackages();

                const install = runInContainer(step("packages").create);
                assert.strictEqual(install.status, 0, install.stderr);
                const recorded = mustRunInContainer(`cat ${STATE_DIR}/packages.installed`).split("\n");
                assert.ok(recorded.includes("docker.io"));
                assert.ok(!recorded.includes("ufw"), "ufw was installed before");

                const create = runInContainer(step("firewall").create);
                assert.strictEqual(create.status, 0, create.stderr);
                assert.match(create.stdout, /firewall: ufw is active/);

                const remove = runInContainer(step("firewall").delete);
                assert.strictEqual(remove.status, 0, remove.stderr);
                assert.match(remove.stdout, /keeping the allow rule for 22\/tcp \(SSH\), because ufw stays active/);
                assert.match(mustRunInContainer("ufw status"), /^Status: active$/m);
                const added = mustRunInContainer("ufw show added");
                assert.match(added, /^ufw allow 2222\/tcp$/m);
                assert.match(added, /^ufw allow 22\/tcp comment 'jitsi-meet ssh'$/m);
                assert.doesNotMatch(added, /80\/tcp|443\/tcp|10000\/udp/);

                const packages = runInContainer(step("packages").delete);
                assert.strictEqual(packages.status, 0, packages.stderr);
                assert.strictEqual(installedPackages(), packagesWithUfw, "packages delete removed the administrator's ufw");
            });

            it("packages keeps an installed docker-ce", () => {
                installStandInPackage("docker-ce");
                const packagesWithEngine = installedPackages();
                const create = runInContainer(step("packages").create);
                assert.strictEqual(create.status, 0, create.stderr);
                assert.match(create.stdout, /packages: a Docker engine is already installed \(package docker-ce\), so docker\.io is not installed/);
                assert.ok(!isInstalled("docker.io"), "docker.io was installed");
                assert.ok(isInstalled("docker-ce"), "docker-ce was removed");
                assert.ok(isInstalled("apparmor"), "apparmor was not installed");

                const again = runInContainer(step("packages").create);
                assert.strictEqual(again.status, 0, again.stderr);
                assert.match(again.stdout, /packages: nothing changed\n$/);

                const remove = runInContainer(step("packages").delete);
                assert.strictEqual(remove.status, 0, remove.stderr);
                assert.strictEqual(installedPackages(), packagesWithEngine, "packages delete changed packages it did not install");
                mustRunInContainer("dpkg -r docker-ce >/dev/null");
            });

            it("packages keeps a dockerd on PATH", () => {
                mustRunInContainer("printf '#!/bin/sh\\nexit 0\\n' >/usr/local/bin/dockerd && chmod 0755 /usr/local/bin/dockerd");
                try {
                    const create = runInContainer(step("packages").create);
                    assert.strictEqual(create.status, 0, create.stderr);
                    assert.match(create.stdout, /packages: a Docker engine is already installed \(\/usr\/local\/bin\/dockerd, which no package owns\)/);
                    assert.ok(!isInstalled("docker.io"), "docker.io was installed");
                    const remove = runInContainer(step("packages").delete);
                    assert.strictEqual(remove.status, 0, remove.stderr);
                } finally {
                    mustRunInContainer("rm -f /usr/local/bin/dockerd");
                }
            });

            it("packages rejects removing docker-ce-cli", () => {
                installStandInPackage("docker-ce-cli");
                const packagesWithCli = installedPackages();
                const create = runInContainer(step("packages").create);
                assert.strictEqual(create.status, 1, create.stdout);
                assert.match(create.stderr, /step packages \(create\) failed: installing docker\.io apparmor would make apt-get remove docker-ce-cli, and this step removes no package/);
                assert.strictEqual(installedPackages(), packagesWithCli);
                assert.strictEqual(runInContainer(`test -e ${STATE_DIR}/packages.installed`).status, 1);
                mustRunInContainer("dpkg -r docker-ce-cli >/dev/null");
            });

            it("hosts block on a bind-mounted file", () => {
                const hosts = renderHostsScript({
                    file: "/srv/hosts",
                    blockId: `jitsi-meet ${release.image}`,
                    entries: [{ address: "192.0.2.10", names: ["meet.example.org"] }],
                });
                const add = runInContainer(hosts.create);
                assert.strictEqual(add.status, 0, add.stderr);
                assert.match(add.stdout, /is a mount point/);
                assert.strictEqual(fs.readFileSync(mountedHostsFile, "utf8"),
                    `127.0.0.1 localhost\n# BEGIN jitsi-meet ${release.image}\n` +
                    "# Managed by the jitsi-meet Pulumi program; edits between these markers are overwritten.\n" +
                    `192.0.2.10 meet.example.org\n# END jitsi-meet ${release.image}\n`);

                const again = runInContainer(hosts.create);
                assert.match(again.stdout, /hosts: nothing changed\n$/);

                const remove = runInContainer(hosts.delete);
                assert.strictEqual(remove.status, 0, remove.stderr);
                assert.strictEqual(fs.readFileSync(mountedHostsFile, "utf8"), "127.0.0.1 localhost\n");
            });

            it("hosts block on a symbolic link", () => {
                mustRunInContainer("printf '127.0.0.1 localhost\\r\\n::1 localhost' > /srv/real-hosts && ln -s real-hosts /srv/link-hosts");
                const hosts = renderHostsScript({
                    file: "/srv/link-hosts",
                    blockId: "jitsi-meet link",
                    entries: [{ address: "2001:db8::1", names: ["meet.example.org"] }],
                });
                const add = runInContainer(hosts.create);
                assert.strictEqual(add.status, 0, add.stderr);
                assert.strictEqual(mustRunInContainer("readlink /srv/link-hosts"), "real-hosts\n");
                assert.strictEqual(mustRunInContainer("od -An -c /srv/real-hosts | tr -s ' ' | tr -d '\\n'").trim(),
                    mustRunInContainer("printf '127.0.0.1 localhost\\r\\n::1 localhost\\r\\n# BEGIN jitsi-meet link\\r\\n" +
                        "# Managed by the jitsi-meet Pulumi program; edits between these markers are overwritten.\\r\\n" +
                        "2001:db8::1 meet.example.org\\r\\n# END jitsi-meet link' | od -An -c | tr -s ' ' | tr -d '\\n'").trim());
                const remove = runInContainer(hosts.delete);
                assert.strictEqual(remove.status, 0, remove.stderr);
                assert.strictEqual(mustRunInContainer("sha256sum < /srv/real-hosts"),
                    mustRunInContainer("printf '127.0.0.1 localhost\\r\\n::1 localhost' | sha256sum"));
            });
        });
    }
});
