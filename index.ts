// Entry point: read the stack configuration, declare the deployment, export its outputs.
import * as pulumi from "@pulumi/pulumi";

import { JitsiDeployment } from "./components/jitsiDeployment";
import { readStackConfig } from "./components/stackConfig";

const config = readStackConfig();
const deployment = new JitsiDeployment("jitsi", { config, stack: pulumi.getStack() });

/** Address of the meeting service. */
export const url = deployment.url;
/** CA certificate to import into browsers; unset when tlsMode is provided. */
export const caCertificatePem = deployment.caCertificatePem;
/** Addresses that jvb advertises to clients. */
export const advertisedIps = deployment.advertisedIps;
/** Records that a real DNS zone needs for the domain. */
export const dnsRecords = deployment.dnsRecords;
