// Renders what each Jitsi container needs: image, environment, aliases, ports and mounts.
// The environment contract follows docker-jitsi-meet's docker-compose.yml at stable-11146.
import { CONFIG_MOUNTS } from "./layout";
import { releaseTraits } from "./images";

export type JitsiService = "prosody" | "jicofo" | "jvb" | "web";

export const JITSI_SERVICES: readonly JitsiService[] = ["prosody", "jicofo", "jvb", "web"];

/** Internal XMPP names. They never appear in a browser and must be the same in every container. */
export const XMPP_NAMES = {
    XMPP_DOMAIN: "meet.jitsi",
    XMPP_AUTH_DOMAIN: "auth.meet.jitsi",
    XMPP_MUC_DOMAIN: "muc.meet.jitsi",
    XMPP_INTERNAL_MUC_DOMAIN: "internal-muc.meet.jitsi",
    XMPP_GUEST_DOMAIN: "guest.meet.jitsi",
    XMPP_HIDDEN_DOMAIN: "hidden.meet.jitsi",
} as const;

/** Network aliases; XMPP_SERVER names prosody's. */
export const SERVICE_ALIASES: Readonly<Record<JitsiService, string>> = {
    prosody: "xmpp.meet.jitsi",
    jicofo: "jicofo.meet.jitsi",
    jvb: "jvb.meet.jitsi",
    web: "web.meet.jitsi",
};

/** Prosody's HTTP port for BOSH, websocket and /health; reachable only inside the network. */
export const PROSODY_HTTP_PORT = 5280;

/** Environment variables that hold generated passwords, per service. */
export const PASSWORD_VARIABLES: Readonly<Record<JitsiService, readonly PasswordName[]>> = {
    prosody: ["JICOFO_AUTH_PASSWORD", "JVB_AUTH_PASSWORD"],
    jicofo: ["JICOFO_AUTH_PASSWORD"],
    jvb: ["JVB_AUTH_PASSWORD"],
    web: [],
};

export type PasswordName = "JICOFO_AUTH_PASSWORD" | "JVB_AUTH_PASSWORD";

export interface ServicesOptions {
    readonly domain: string;
    readonly httpsPort: number;
    readonly imageRepository: string;
    readonly imageTag: string;
    readonly timeZone: string;
    readonly advertiseIps: readonly string[];
    readonly jvbPort: number;
    /** Host address that jvb's media port binds to; unset means every address. */
    readonly publishAddress?: string;
    readonly configDir: string;
}

/** A container to run, without its secrets. */
export interface ServiceSpec {
    readonly service: JitsiService;
    readonly image: string;
    /** Non-secret environment, sorted by name. */
    readonly environment: Readonly<Record<string, string>>;
    /** Names of the password variables that the component adds as secrets. */
    readonly passwordVariables: readonly PasswordName[];
    readonly alias: string;
    /** Published ports; only jvb publishes one. */
    readonly ports: readonly { internal: number; external: number; protocol: "tcp" | "udp"; ip?: string }[];
    readonly mounts: readonly { hostPath: string; containerPath: string }[];
    /** Command run as the container healthcheck; unset where the image ships none. */
    readonly healthcheck?: readonly string[];
    readonly readOnlyRootFilesystem: boolean;
    readonly tmpfs: Readonly<Record<string, string>>;
}

/** PUBLIC_URL: https, the domain, and the port only when it is not 443, with no trailing slash. */
export function publicUrl(domain: string, httpsPort: number): string {
    return httpsPort === 443 ? `https://${domain}` : `https://${domain}:${httpsPort}`;
}

function sorted(environment: Record<string, string>): Record<string, string> {
    const names = Object.keys(environment).sort();
    return Object.fromEntries(names.map((name) => [name, environment[name]]));
}

/** Renders the four container specs, prosody first because the others log in to it. */
export function renderServices(options: ServicesOptions): ServiceSpec[] {
    const traits = releaseTraits(options.imageTag);
    const common: Record<string, string> = {
        ...XMPP_NAMES,
        XMPP_SERVER: SERVICE_ALIASES.prosody,
        XMPP_BOSH_URL_BASE: `http://${SERVICE_ALIASES.prosody}:${PROSODY_HTTP_PORT}`,
        PUBLIC_URL: publicUrl(options.domain, options.httpsPort),
        TZ: options.timeZone,
    };

    const perService: Record<JitsiService, Record<string, string>> = {
        prosody: {
            ENABLE_XMPP_WEBSOCKET: "1",
            JVB_AUTH_USER: "jvb",
        },
        jicofo: {
            JVB_BREWERY_MUC: "jvbbrewery",
        },
        jvb: {
            JVB_AUTH_USER: "jvb",
            JVB_BREWERY_MUC: "jvbbrewery",
            JVB_PORT: String(options.jvbPort),
            JVB_ADVERTISE_IPS: options.advertiseIps.join(","),
            // The advertised addresses are configured, so jvb needs no public STUN server to
            // discover them, and a private deployment sends no traffic to one.
            JVB_DISABLE_STUN: "true",
        },
        web: {
            // TLS ends at the proxy; web serves plain HTTP on the internal network only.
            DISABLE_HTTPS: "1",
            ENABLE_HTTP_REDIRECT: "0",
            ENABLE_LETSENCRYPT: "0",
            ENABLE_HSTS: "0",
            ENABLE_XMPP_WEBSOCKET: "1",
            NGINX_RESOLVER: "127.0.0.11",
        },
    };

    return JITSI_SERVICES.map((service): ServiceSpec => ({
        service,
        image: `${options.imageRepository}/${service}:${options.imageTag}`,
        environment: sorted({ ...common, ...perService[service] }),
        passwordVariables: PASSWORD_VARIABLES[service],
        alias: SERVICE_ALIASES[service],
        ports: service === "jvb"
            ? [{ internal: options.jvbPort, external: options.jvbPort, protocol: "udp", ip: options.publishAddress }]
            : [],
        mounts: CONFIG_MOUNTS
            .filter((mount) => mount.service === service)
            .map((mount) => ({ hostPath: `${options.configDir}/${mount.hostSubdir}`, containerPath: mount.containerPath })),
        // The web image ships no healthcheck script; the other three ship this one.
        healthcheck: service === "web" ? undefined : ["CMD", "/usr/local/bin/healthcheck.sh"],
        readOnlyRootFilesystem: traits.unprivileged,
        tmpfs: traits.unprivileged ? { "/run": "size=16M,mode=1750,exec", "/tmp": "size=16M,mode=1777,noexec" } : {},
    }));
}
