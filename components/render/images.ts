// Facts that depend on the docker-jitsi-meet release tag, checked against the project's
// docker-compose.yml at stable-11146 and the releases before it.

/** First release whose images listen on 8000, run as uid 1000 and have a read-only root filesystem. */
export const UNPRIVILEGED_RELEASE = 11146;

/** Release number of a tag: 11146 for `stable-11146-1`, Infinity for a dated unstable tag. */
export function releaseNumber(tag: string): number {
    const stable = /^(?:stable|unstable)-([0-9]+)(?:-[0-9]+)?$/.exec(tag);
    if (stable) {
        return Number(stable[1]);
    }
    // Dated unstable builds (unstable-2026-11-30) follow the newest stable release.
    return Infinity;
}

/** Container traits of one release that the program depends on. */
export interface ReleaseTraits {
    /** Port the web container serves plain HTTP on. */
    readonly webHttpPort: number;
    /** Whether the images run as uid 1000 with a read-only root filesystem and tmpfs /run and /tmp. */
    readonly unprivileged: boolean;
    /** Whether jvb serves the colibri websocket on 9090, which the proxy must route. */
    readonly colibriWebsocket: boolean;
}

export function releaseTraits(tag: string): ReleaseTraits {
    const modern = releaseNumber(tag) >= UNPRIVILEGED_RELEASE;
    return {
        webHttpPort: modern ? 8000 : 80,
        unprivileged: modern,
        colibriWebsocket: !modern,
    };
}

/** Parses the nginx version from an image reference such as nginx:1.28.0 or nginx:1.26-bookworm. */
export function nginxVersionOf(image: string): [number, number, number] | undefined {
    const match = /:([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(?:[-@].*)?$/.exec(image);
    if (!match) {
        return undefined;
    }
    return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}
