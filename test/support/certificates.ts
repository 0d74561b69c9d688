// Test certificates and SSH keys, made with the openssl and ssh-keygen CLIs.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface TestCertificate {
    readonly certificatePem: string;
    readonly keyPem: string;
}

/** Makes a self-signed ECDSA P-256 certificate for `names`, valid for `days` from now. */
export function makeCertificate(options: { names: readonly string[]; days?: number }): TestCertificate {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-cert-"));
    try {
        execFileSync("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
            "-subj", `/CN=${options.names[0]}`, "-days", String(options.days ?? 30),
            "-addext", `subjectAltName=${options.names.map((name) => `DNS:${name}`).join(",")}`,
        ], { stdio: ["ignore", "ignore", "pipe"] });
        return {
            certificatePem: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"),
            keyPem: fs.readFileSync(path.join(dir, "key.pem"), "utf8"),
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Makes an ed25519 SSH private key in OpenSSH format, protected by `passphrase` when it is not empty. */
export function makeSshKey(passphrase = ""): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-ssh-"));
    try {
        const keyPath = path.join(dir, "id_ed25519");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "test", "-f", keyPath], { stdio: ["ignore", "ignore", "pipe"] });
        return fs.readFileSync(keyPath, "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
