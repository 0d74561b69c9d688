// Checks a user-supplied certificate and key before anything is deployed with them.
import * as crypto from "crypto";

import type { ConfigProblem } from "./config";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks that the leaf certificate parses, matches the private key, names `domain` in its SAN
 * and is valid now. `now` is a parameter so that tests can pin the clock.
 */
export function checkProvidedCertificate(
    certificatePem: string,
    privateKeyPem: string,
    domain: string,
    now: Date = new Date(),
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const blocks = certificatePem.match(PEM_CERTIFICATE) ?? [];

    let leaf: crypto.X509Certificate | undefined;
    try {
        leaf = new crypto.X509Certificate(blocks[0] ?? certificatePem);
    } catch (err) {
        problems.push({ key: "tlsCertificate", message: `the first certificate could not be parsed (${(err as Error).message}); expected a PEM chain with the leaf certificate first` });
    }

    let key: crypto.KeyObject | undefined;
    try {
        key = crypto.createPrivateKey(privateKeyPem);
    } catch (err) {
        problems.push({ key: "tlsPrivateKey", message: `the private key could not be parsed (${(err as Error).message}); expected an unencrypted PEM private key` });
    }

    if (leaf === undefined) {
        return problems;
    }
    if (key !== undefined && !leaf.checkPrivateKey(key)) {
        problems.push({ key: "tlsPrivateKey", message: `does not match the certificate for ${leaf.subject.replace(/\n/g, ", ")}; supply the key that the certificate was issued for` });
    }
    if (leaf.checkHost(domain, { subject: "never" }) === undefined) {
        problems.push({ key: "tlsCertificate", message: `its subject alternative names (${leaf.subjectAltName ?? "none"}) do not cover the domain ${domain}; supply a certificate issued for ${domain}` });
    }
    const notAfter = new Date(leaf.validTo);
    const notBefore = new Date(leaf.validFrom);
    if (notAfter.getTime() <= now.getTime()) {
        problems.push({ key: "tlsCertificate", message: `expired on ${notAfter.toISOString()}; renew it, or use tlsMode selfSigned` });
    } else if (notBefore.getTime() > now.getTime()) {
        problems.push({ key: "tlsCertificate", message: `is not valid before ${notBefore.toISOString()}; check the host clock or supply a current certificate` });
    }
    return problems;
}
