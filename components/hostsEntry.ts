// One managed block in a hosts file, on the host or on the machine that runs Pulumi.
import * as pulumi from "@pulumi/pulumi";

import { hostCommand, type HostConnection } from "./hostCommand";
import { renderHostsScript, type HostScript } from "./render/hostsFile";

export interface HostsEntryArgs {
    /** Machine of the hosts file: the local machine or a remote host over SSH. */
    readonly connection: HostConnection;
    /** Path of the hosts file. Default: /etc/hosts. */
    readonly file?: string;
    /** Text in the begin and end marker lines that identifies this block; include the stack name. */
    readonly blockId: string;
    /** Address and the names that map to it. */
    readonly entries: readonly { readonly address: string; readonly names: readonly string[] }[];
}

/** A marked block in a hosts file; every line outside the block is left as it was. */
export class HostsEntry extends pulumi.ComponentResource {
    /** The rendered add/update and remove scripts. */
    public readonly script: HostScript;

    constructor(name: string, args: HostsEntryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("jitsi:host:HostsEntry", name, {}, opts);

        this.script = renderHostsScript({ file: args.file ?? "/etc/hosts", blockId: args.blockId, entries: args.entries });
        hostCommand(`${name}-block`, {
            connection: args.connection,
            create: this.script.create,
            delete: this.script.delete,
        }, { parent: this });
        this.registerOutputs({});
    }
}
