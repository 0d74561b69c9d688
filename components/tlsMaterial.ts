// Keys and certificates for the proxy: a private CA and server certificate, or the user's own.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

import type { KeyAlgorithm, ProvidedTls, SelfSignedTls } from "./config";

export interface TlsMaterialArgs {
    /** Public domain; the server certificate's first subject alternative name. */
    readonly domain: string;
    /** Self-signed (private CA, the default) or provided settings, already validated. */
    readonly tls: SelfSignedTls | ProvidedTls;
}

// The CA outlives many server certificates so that users import it once. Ten years.
const CA_VALIDITY_HOURS = 10 * 365 * 24;
// Replace the CA 90 days before it expires, so there is time to distribute the new one.
const CA_EARLY_RENEWAL_HOURS = 90 * 24;

function keyArgs(algorithm: KeyAlgorithm): tls.PrivateKeyArgs {
    return algorithm === "ECDSA" ? { algorithm: "ECDSA", ecdsaCurve: "P256" } : { algorithm: "RSA", rsaBits: 3072 };
}

/** Server certificate and key for the proxy, with the CA certificate in self-signed mode. */
export class TlsMaterial extends pulumi.ComponentResource {
    /** PEM certificate chain that the proxy serves, leaf first. */
    public readonly certificatePem: pulumi.Output<string>;
    /** PEM private key of the server certificate. Secret. */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** PEM certificate of the private CA that clients import; undefined in provided mode. */
    public readonly caCertificatePem: pulumi.Output<string> | undefined;

    constructor(name: string, args: TlsMaterialArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jitsi:tls:TlsMaterial", name, {}, opts);

        if (args.tls.mode === "provided") {
            this.certificatePem = pulumi.secret(args.tls.certificatePem);
            this.privateKeyPem = pulumi.secret(args.tls.privateKeyPem);
            this.caCertificatePem = undefined;
            this.registerOutputs({ certificatePem: this.certificatePem, privateKeyPem: this.privateKeyPem });
            return;
        }

        const settings = args.tls;
        const caKey = new tls.PrivateKey(`${name}-ca-key`, keyArgs(settings.keyAlgorithm), { parent: this });
        const ca = new tls.SelfSignedCert(`${name}-ca`, {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            subject: { commonName: `${args.domain} private CA`, organization: "Jitsi Meet" },
            validityPeriodHours: CA_VALIDITY_HOURS,
            earlyRenewalHours: CA_EARLY_RENEWAL_HOURS,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        }, { parent: this });

        const serverKey = new tls.PrivateKey(`${name}-server-key`, keyArgs(settings.keyAlgorithm), { parent: this });
        const request = new tls.CertRequest(`${name}-server-csr`, {
            privateKeyPem: serverKey.privateKeyPem,
            subject: { commonName: args.domain },
            dnsNames: [args.domain, ...settings.extraNames],
        }, { parent: this });
        const server = new tls.LocallySignedCert(`${name}-server`, {
            certRequestPem: request.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: settings.validityHours,
            // Within this window before expiry, `pulumi up` replaces the certificate.
            earlyRenewalHours: settings.earlyRenewalHours,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
        }, { parent: this });

        this.certificatePem = server.certPem;
        this.privateKeyPem = pulumi.secret(serverKey.privateKeyPem);
        this.caCertificatePem = ca.certPem;
        this.registerOutputs({
            certificatePem: this.certificatePem,
            privateKeyPem: this.privateKeyPem,
            caCertificatePem: this.caCertificatePem,
        });
    }
}
