// Paths on the host and in the containers that several renderers and components must agree on.

/** Container uid that the Jitsi images run as; bind-mounted host directories must be writable by it. */
export const JITSI_UID = 1000;

/** A host directory under the config directory and where a container mounts it. */
export interface ConfigMount {
    readonly service: "prosody" | "jicofo" | "jvb" | "web";
    /** Path relative to the config directory on the host. */
    readonly hostSubdir: string;
    readonly containerPath: string;
}

/** Bind mounts of the Jitsi containers, following docker-jitsi-meet's compose file (stable-11146). */
export const CONFIG_MOUNTS: readonly ConfigMount[] = [
    { service: "prosody", hostSubdir: "prosody/config", containerPath: "/config" },
    { service: "prosody", hostSubdir: "prosody/prosody-plugins-custom", containerPath: "/prosody-plugins-custom" },
    { service: "prosody", hostSubdir: "storage/prosody", containerPath: "/var/lib/prosody" },
    { service: "jicofo", hostSubdir: "jicofo", containerPath: "/config" },
    { service: "jvb", hostSubdir: "jvb", containerPath: "/config" },
    { service: "web", hostSubdir: "web", containerPath: "/config" },
];

/** Host subdirectories that the host setup creates, owned by JITSI_UID. */
export function configSubdirs(): string[] {
    return [...new Set(CONFIG_MOUNTS.map((mount) => mount.hostSubdir))];
}

/** Host directory, relative to the config directory, that the ACME client writes HTTP-01 challenge files to. */
export const ACME_WEBROOT_SUBDIR = "proxy/acme-challenge";
