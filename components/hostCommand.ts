// Runs a rendered script on the host, over SSH or on the local machine, as root.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

import type { SshHost } from "./config";

/** Target of the host scripts: the machine that runs Pulumi, or a remote host over SSH. */
export type HostConnection =
    | { readonly kind: "local" }
    | { readonly kind: "remote"; readonly connection: command.types.input.remote.ConnectionArgs };

/** Builds the connection for `host`; the private key stays a secret. */
export function hostConnection(host: SshHost | undefined): HostConnection {
    if (host === undefined) {
        return { kind: "local" };
    }
    return {
        kind: "remote",
        connection: {
            host: host.address,
            port: host.port,
            user: host.user,
            privateKey: pulumi.secret(host.privateKey),
            hostKey: host.hostKey,
        },
    };
}

/**
 * Wraps a bash script into one command line that runs it as root: directly for root, through
 * `sudo -n` for any other user. Single quotes inside the script are escaped for `bash -c '...'`,
 * so the preview shows the script as it runs.
 */
export function asRootCommand(script: string): string {
    const quoted = `'${script.replace(/'/g, `'\\''`)}'`;
    return `as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }; as_root bash -c ${quoted}`;
}

const ROOT_COMMAND = /^as_root\(\) \{ .*? \}; as_root bash -c '([\s\S]*)'$/;

/** Recovers the script from a command line made by asRootCommand; undefined for any other line. */
export function scriptOfRootCommand(commandLine: string): string | undefined {
    const match = ROOT_COMMAND.exec(commandLine);
    return match ? match[1].replace(/'\\''/g, "'") : undefined;
}

export interface HostCommandArgs {
    readonly connection: HostConnection;
    readonly create: string;
    readonly delete: string;
    /** Secret input that the script reads from standard input. */
    readonly stdin?: pulumi.Input<string>;
}

/**
 * Creates the command resource for one script. A changed script runs again as an update, in
 * place, so that a new version never triggers the delete script of the old one.
 */
export function hostCommand(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const create = asRootCommand(args.create);
    const common = {
        create,
        update: create,
        delete: asRootCommand(args.delete),
        stdin: args.stdin,
        // Output of earlier runs would otherwise be passed back in the environment; the scripts never use it.
        addPreviousOutputInEnv: false,
    };
    if (args.connection.kind === "local") {
        return new command.local.Command(name, common, opts);
    }
    return new command.remote.Command(name, { ...common, connection: args.connection.connection }, opts);
}
