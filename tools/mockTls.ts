// Output values for @pulumi/tls resources under the mock engine.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** `fake`: fixed placeholder PEMs. `openssl`: real keys and certificates made with the openssl CLI. */
export type TlsMode = "fake" | "openssl";

function fakePem(label: string, name: string): string {
    const body = crypto.createHash("sha256").update(`${label}/${name}`).digest("base64");
    return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

interface Subject {
    commonName?: string;
    organization?: string;
}

function subjectArgument(subject: Subject | undefined): string {
    const parts = [];
    if (subject?.commonName) {
        parts.push(`/CN=${subject.commonName}`);
    }
    if (subject?.organization) {
        parts.push(`/O=${subject.organization}`);
    }
    return parts.join("") || "/";
}

// Names of the tls provider's allowedUses mapped to openssl extension values.
const KEY_USAGE: Record<string, string> = {
    cert_signing: "keyCertSign",
    crl_signing: "cRLSign",
    digital_signature: "digitalSignature",
    key_encipherment: "keyEncipherment",
};
const EXTENDED_KEY_USAGE: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };

function usageExtensions(allowedUses: unknown): string[] {
    const uses = Array.isArray(allowedUses) ? allowedUses.map(String) : [];
    const lines = [];
    const keyUsage = uses.filter((use) => KEY_USAGE[use]).map((use) => KEY_USAGE[use]);
    const extended = uses.filter((use) => EXTENDED_KEY_USAGE[use]).map((use) => EXTENDED_KEY_USAGE[use]);
    if (keyUsage.length > 0) {
        lines.push(`keyUsage=critical,${keyUsage.join(",")}`);
    }
    if (extended.length > 0) {
        lines.push(`extendedKeyUsage=${extended.join(",")}`);
    }
    return lines;
}

function withTempDir<T>(work: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mock-tls-"));
    try {
        return work(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function openssl(args: string[], dir: string): string {
    return execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function days(hours: unknown): string {
    return String(Math.max(1, Math.ceil(Number(hours) / 24)));
}

function realState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
    return withTempDir((dir) => {
        const write = (file: string, content: unknown) => fs.writeFileSync(path.join(dir, file), String(content));
        switch (type) {
            case "tls:index/privateKey:PrivateKey": {
                const keyArgs = inputs.algorithm === "RSA"
                    ? ["-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${Number(inputs.rsaBits ?? 2048)}`]
                    : ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
                const privateKeyPem = openssl(["genpkey", ...keyArgs], dir);
                write("key.pem", privateKeyPem);
                return { privateKeyPem, publicKeyPem: openssl(["pkey", "-in", "key.pem", "-pubout"], dir) };
            }
            case "tls:index/selfSignedCert:SelfSignedCert": {
                write("key.pem", inputs.privateKeyPem);
                const extensions = [
                    ...(inputs.isCaCertificate ? ["basicConstraints=critical,CA:TRUE"] : []),
                    ...usageExtensions(inputs.allowedUses),
                ].flatMap((line) => ["-addext", line]);
                const certPem = openssl(["req", "-x509", "-new", "-key", "key.pem", "-subj", subjectArgument(inputs.subject as Subject),
                    "-days", days(inputs.validityPeriodHours), ...extensions], dir);
                return { certPem };
            }
            case "tls:index/certRequest:CertRequest": {
                write("key.pem", inputs.privateKeyPem);
                const names = Array.isArray(inputs.dnsNames) ? inputs.dnsNames.map((name) => `DNS:${String(name)}`) : [];
                const san = names.length > 0 ? ["-addext", `subjectAltName=${names.join(",")}`] : [];
                return { certRequestPem: openssl(["req", "-new", "-key", "key.pem", "-subj", subjectArgument(inputs.subject as Subject), ...san], dir) };
            }
            case "tls:index/locallySignedCert:LocallySignedCert": {
                write("csr.pem", inputs.certRequestPem);
                write("ca.pem", inputs.caCertPem);
                write("ca-key.pem", inputs.caPrivateKeyPem);
                write("ext.cnf", [...usageExtensions(inputs.allowedUses), "basicConstraints=CA:FALSE"].join("\n") + "\n");
                const certPem = openssl(["x509", "-req", "-in", "csr.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                    "-days", days(inputs.validityPeriodHours), "-copy_extensions", "copyall", "-extfile", "ext.cnf"], dir);
                return { certPem };
            }
            default:
                return {};
        }
    });
}

/** Returns the computed outputs of a tls resource. */
export function mockTlsState(type: string, name: string, inputs: Record<string, unknown>, mode: TlsMode): Record<string, unknown> {
    if (mode === "openssl") {
        return realState(type, inputs);
    }
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: fakePem("PRIVATE KEY", name), publicKeyPem: fakePem("PUBLIC KEY", name) };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: fakePem("CERTIFICATE", name) };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: fakePem("CERTIFICATE REQUEST", name) };
        default:
            return {};
    }
}
