// Runs the rendered hosts-file scripts with this machine's bash against files in a temporary
// directory, never against /etc/hosts. The bind-mount case runs in a container, in
// dockerHost.test.ts.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { renderHostsScript, type HostsBlockOptions } from "../../components/render/hostsFile";

const BLOCK_ID = "jitsi-meet hosts-test";
const COMMENT = "# Managed by the jitsi-meet Pulumi program; edits between these markers are overwritten.";

type Entries = HostsBlockOptions["entries"];

const FIRST_ENTRIES: Entries = [{ address: "192.0.2.10", names: ["meet.example.org"] }];
const UPDATED_ENTRIES: Entries = [
    { address: "192.0.2.20", names: ["meet.example.org", "auth.meet.example.org"] },
    { address: "2001:db8::20", names: ["meet.example.org"] },
];

interface RunResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs `script` as the program does: `bash -c SCRIPT`. */
function runScript(script: string): RunResult {
    const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function runScriptAsync(script: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-c", script]);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
        child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

function scriptsFor(file: string, entries: Entries = FIRST_ENTRIES, blockId = BLOCK_ID) {
    return renderHostsScript({ file, blockId, entries });
}

/** Returns the block as the script must write it, without the terminator of its end marker line. */
function expectedBlock(entries: Entries, eol: string, blockId = BLOCK_ID): string {
    const lines = [
        `# BEGIN ${blockId}`,
        COMMENT,
        ...entries.map((entry) => `${entry.address} ${entry.names.join(" ")}`),
        `# END ${blockId}`,
    ];
    return lines.join(eol);
}

/** Returns the file after adding a block to `original`, which contains no block. */
function expectedAfterAdd(original: string, entries: Entries): string {
    const eol = /^[^\n]*\r\n/.test(original) ? "\r\n" : "\n";
    const block = expectedBlock(entries, eol);
    if (original === "" || original.endsWith("\n")) {
        return original + block + eol;
    }
    return original + eol + block;
}

function read(file: string): string {
    return fs.readFileSync(file, "latin1");
}

function write(file: string, content: string): void {
    fs.writeFileSync(file, content, "latin1");
}

describe("hosts file block", () => {
    let directory: string;
    let file: string;

    beforeEach(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), "jitsi-hosts-"));
        file = path.join(directory, "hosts");
    });

    afterEach(() => {
        fs.rmSync(directory, { recursive: true, force: true });
    });

    const cases: { title: string; original: string }[] = [
        {
            title: "Debian default file",
            original: "127.0.0.1\tlocalhost\n127.0.1.1\tdebian.example\tdebian\n\n" +
                "# The following lines are desirable for IPv6 capable hosts\n" +
                "::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n",
        },
        { title: "file without trailing newline", original: "127.0.0.1 localhost\n::1 localhost" },
        { title: "single line without newline", original: "127.0.0.1 localhost" },
        { title: "CRLF file", original: "127.0.0.1 localhost\r\n# comment\r\n\r\n::1 localhost\r\n" },
        { title: "CRLF file without trailing newline", original: "127.0.0.1 localhost\r\n::1 localhost" },
        { title: "empty file", original: "" },
        { title: "file of one newline", original: "\n" },
        { title: "tabs and trailing blanks", original: "10.0.0.1\t\tgateway   \n  # indented comment\t\n\t\n" },
        { title: "non-ASCII comment", original: "# h\xf4te caf\xe9 (latin-1)\n127.0.0.1 localhost\n# \xc3\xa9t\xc3\xa9 (UTF-8)\n" },
        { title: "other managed blocks", original: "127.0.0.1 localhost\n# BEGIN other\n10.1.1.1 other.example\n# END other\n" },
    ];

    for (const { title, original } of cases) {
        it(`adds, updates and removes in ${title}`, () => {
            write(file, original);
            const first = scriptsFor(file, FIRST_ENTRIES);
            const updated = scriptsFor(file, UPDATED_ENTRIES);

            const add = runScript(first.create);
            assert.strictEqual(add.status, 0, add.stderr);
            assert.match(add.stdout, /added the block/);
            assert.strictEqual(read(file), expectedAfterAdd(original, FIRST_ENTRIES));

            const again = runScript(first.create);
            assert.strictEqual(again.status, 0, again.stderr);
            assert.match(again.stdout, /hosts: nothing changed\n$/);
            assert.strictEqual(read(file), expectedAfterAdd(original, FIRST_ENTRIES));

            const update = runScript(updated.create);
            assert.strictEqual(update.status, 0, update.stderr);
            assert.match(update.stdout, /updated the block/);
            assert.strictEqual(read(file), expectedAfterAdd(original, UPDATED_ENTRIES));

            const remove = runScript(updated.delete);
            assert.strictEqual(remove.status, 0, remove.stderr);
            assert.match(remove.stdout, /removed the block/);
            assert.strictEqual(read(file), original);

            const removeAgain = runScript(updated.delete);
            assert.strictEqual(removeAgain.status, 0, removeAgain.stderr);
            assert.match(removeAgain.stdout, /hosts: nothing changed\n$/);
            assert.strictEqual(read(file), original);
        });
    }

    it("warns about a name mapped outside", () => {
        const original = "127.0.0.1 localhost\n10.0.0.1\tMEET.example.org  # old address\n";
        write(file, original);
        const add = runScript(scriptsFor(file).create);
        assert.strictEqual(add.status, 0, add.stderr);
        assert.match(add.stderr, /warning: .* line 2 also maps MEET\.example\.org outside the managed block/);
        assert.ok(add.stderr.includes("10.0.0.1\tMEET.example.org  # old address"), add.stderr);
        assert.strictEqual(read(file), expectedAfterAdd(original, FIRST_ENTRIES));
    });

    it("ignores names in comments", () => {
        write(file, "# 10.0.0.1 meet.example.org\n127.0.0.1 localhost # meet.example.org\n");
        const add = runScript(scriptsFor(file).create);
        assert.strictEqual(add.status, 0, add.stderr);
        assert.strictEqual(add.stderr, "");
    });

    it("replaces a stale block in place", () => {
        const before = "127.0.0.1 localhost\n";
        const after = "# trailing comment\n::1 localhost\n";
        write(file, before + expectedBlock([{ address: "10.9.9.9", names: ["old.example.org"] }], "\n") + "\n" + after);

        const add = runScript(scriptsFor(file).create);
        assert.strictEqual(add.status, 0, add.stderr);
        assert.match(add.stdout, /updated the block/);
        assert.strictEqual(read(file), before + expectedBlock(FIRST_ENTRIES, "\n") + "\n" + after);

        const remove = runScript(scriptsFor(file).delete);
        assert.strictEqual(remove.status, 0, remove.stderr);
        assert.strictEqual(read(file), before + after);
    });

    it("merges duplicate blocks into one", () => {
        const stale = expectedBlock([{ address: "10.9.9.9", names: ["old.example.org"] }], "\n") + "\n";
        write(file, "a 1\n" + stale + "b 2\n" + stale + "c 3\n");
        const add = runScript(scriptsFor(file).create);
        assert.strictEqual(add.status, 0, add.stderr);
        assert.strictEqual(read(file), "a 1\n" + expectedBlock(FIRST_ENTRIES, "\n") + "\nb 2\nc 3\n");
    });

    it("keeps blocks of other stacks", () => {
        const original = "127.0.0.1 localhost\n";
        write(file, original);
        const dev = scriptsFor(file, FIRST_ENTRIES, "jitsi-meet dev");
        const prod = scriptsFor(file, UPDATED_ENTRIES, "jitsi-meet prod");
        assert.strictEqual(runScript(dev.create).status, 0);
        assert.strictEqual(runScript(prod.create).status, 0);
        assert.strictEqual(runScript(dev.delete).status, 0);
        assert.strictEqual(read(file), original + expectedBlock(UPDATED_ENTRIES, "\n", "jitsi-meet prod") + "\n");
    });

    it("edits the target of a symbolic link", () => {
        const target = path.join(directory, "real-hosts");
        const original = "127.0.0.1 localhost\n";
        write(target, original);
        fs.symlinkSync("real-hosts", file);

        const add = runScript(scriptsFor(file).create);
        assert.strictEqual(add.status, 0, add.stderr);
        assert.ok(fs.lstatSync(file).isSymbolicLink(), "the link was replaced");
        assert.strictEqual(fs.readlinkSync(file), "real-hosts");
        assert.strictEqual(read(target), expectedAfterAdd(original, FIRST_ENTRIES));

        const remove = runScript(scriptsFor(file).delete);
        assert.strictEqual(remove.status, 0, remove.stderr);
        assert.ok(fs.lstatSync(file).isSymbolicLink(), "the link was replaced");
        assert.strictEqual(read(target), original);
    });

    it("keeps mode and owner", function () {
        if (process.getuid?.() !== 0) {
            this.skip();
        }
        write(file, "127.0.0.1 localhost\n");
        fs.chmodSync(file, 0o640);
        fs.chownSync(file, 1234, 5678);
        const add = runScript(scriptsFor(file).create);
        assert.strictEqual(add.status, 0, add.stderr);
        const stat = fs.statSync(file);
        assert.strictEqual(stat.mode & 0o7777, 0o640);
        assert.strictEqual(stat.uid, 1234);
        assert.strictEqual(stat.gid, 5678);
    });

    it("replaces the file by rename", () => {
        write(file, "127.0.0.1 localhost\n");
        const inodeBefore = fs.statSync(file).ino;
        const add = runScript(scriptsFor(file).create);
        assert.strictEqual(add.status, 0, add.stderr);
        assert.notStrictEqual(fs.statSync(file).ino, inodeBefore);
    });

    it("leaves only the lock file beside it", () => {
        write(file, "127.0.0.1 localhost\n");
        assert.strictEqual(runScript(scriptsFor(file).create).status, 0);
        assert.strictEqual(runScript(scriptsFor(file).delete).status, 0);
        assert.deepStrictEqual(fs.readdirSync(directory).sort(), [".hosts.lock", "hosts"]);
    });

    const brokenFiles: { title: string; content: string; mentions: string }[] = [
        { title: "begin marker without end", content: `a 1\n# BEGIN ${BLOCK_ID}\n10.0.0.1 x\n`, mentions: `no '# END ${BLOCK_ID}' line` },
        { title: "end marker without begin", content: `a 1\n# END ${BLOCK_ID}\n`, mentions: "without a begin marker" },
        { title: "nested begin markers", content: `# BEGIN ${BLOCK_ID}\n# BEGIN ${BLOCK_ID}\n# END ${BLOCK_ID}\n`, mentions: "repeats" },
        { title: "NUL byte", content: "127.0.0.1 local\0host\n", mentions: "NUL" },
    ];
    for (const { title, content, mentions } of brokenFiles) {
        it(`rejects a file with ${title}`, () => {
            write(file, content);
            for (const script of [scriptsFor(file).create, scriptsFor(file).delete]) {
                const result = runScript(script);
                assert.strictEqual(result.status, 1);
                assert.ok(result.stderr.includes("step hosts"), result.stderr);
                assert.ok(result.stderr.includes(mentions), result.stderr);
                assert.strictEqual(read(file), content);
            }
        });
    }

    it("rejects a missing file", () => {
        const result = runScript(scriptsFor(file).create);
        assert.strictEqual(result.status, 1);
        assert.match(result.stderr, /step hosts \(create\) failed: .*hosts does not exist/);
        assert.ok(!fs.existsSync(file));
    });

    it("serialises 20 parallel runs", async () => {
        const original = "127.0.0.1 localhost\n::1 localhost\n";
        write(file, original);
        const ids = Array.from({ length: 20 }, (_, index) => `jitsi-meet parallel-${index}`);
        const entriesOf = (index: number): Entries => [{ address: `192.0.2.${index + 1}`, names: [`host${index}.example.org`] }];

        const adds = await Promise.all(ids.map((id, index) => runScriptAsync(scriptsFor(file, entriesOf(index), id).create)));
        for (const [index, result] of adds.entries()) {
            assert.strictEqual(result.status, 0, `add ${index}: ${result.stderr}`);
        }
        const content = read(file);
        assert.ok(content.startsWith(original), "the original lines changed");
        for (const [index, id] of ids.entries()) {
            const block = expectedBlock(entriesOf(index), "\n", id) + "\n";
            assert.strictEqual(content.split(block).length - 1, 1, `block ${id} is not present exactly once`);
        }
        assert.strictEqual(content.length, original.length +
            ids.reduce((sum, id, index) => sum + expectedBlock(entriesOf(index), "\n", id).length + 1, 0));

        const removes = await Promise.all(ids.map((id, index) => runScriptAsync(scriptsFor(file, entriesOf(index), id).delete)));
        for (const [index, result] of removes.entries()) {
            assert.strictEqual(result.status, 0, `remove ${index}: ${result.stderr}`);
        }
        assert.strictEqual(read(file), original);
    });
});
