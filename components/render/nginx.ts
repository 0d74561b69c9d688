// Renders the proxy's nginx.conf: TLS termination in front of the Jitsi containers.

/** Paths inside the proxy container. */
export const PROXY_PATHS = {
    config: "/etc/nginx/nginx.conf",
    certificate: "/etc/nginx/tls/fullchain.pem",
    privateKey: "/etc/nginx/tls/privkey.pem",
    acmeWebroot: "/var/www/acme",
} as const;

export interface NginxOptions {
    /** Public domain, the server_name of both server blocks. */
    readonly domain: string;
    /** Host port that clients use for HTTPS; the redirect names it when it is not 443. */
    readonly publicHttpsPort: number;
    /** Internal XMPP domain; prosody's virtual host matches it against the Host header. */
    readonly xmppDomain: string;
    /** Network alias and HTTP port of prosody (BOSH and websocket). */
    readonly prosodyHost: string;
    readonly prosodyHttpPort: number;
    /** Network alias and plain HTTP port of the web container. */
    readonly webHost: string;
    readonly webHttpPort: number;
    /** Network alias of jvb and whether the colibri websocket route is rendered. */
    readonly jvbHost: string;
    readonly colibriWebsocket: boolean;
    /** Resolver that maps the aliases at request time; Docker's embedded DNS is 127.0.0.11. */
    readonly resolver: string;
    /** nginx version that runs the config; 1.25.1 replaced `listen ... http2` with `http2 on`. */
    readonly nginxVersion: readonly [number, number, number];
}

// Mozilla's "intermediate" TLS profile (ssl-config.mozilla.org, version 5.7) without the DHE
// suites, which would need a dhparam file. TLS 1.3 suites are OpenSSL's defaults.
const INTERMEDIATE_CIPHERS = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

// BOSH keeps a request open for up to 60 s and an idle websocket sends a ping every few minutes,
// so nginx's 60 s default read timeout would cut live sessions.
const LONG_POLL_TIMEOUT = "900s";

function atLeast(version: readonly [number, number, number], wanted: readonly [number, number, number]): boolean {
    for (let i = 0; i < 3; i++) {
        if (version[i] !== wanted[i]) {
            return version[i] > wanted[i];
        }
    }
    return true;
}

/** Renders nginx.conf. The same options always give the same bytes. */
export function renderNginxConf(options: NginxOptions): string {
    const http2Directive = atLeast(options.nginxVersion, [1, 25, 1]);
    const httpsListen = http2Directive ? "443 ssl" : "443 ssl http2";
    const redirectTarget = options.publicHttpsPort === 443
        ? "https://$host$request_uri"
        : `https://$host:${options.publicHttpsPort}$request_uri`;

    const colibri = options.colibriWebsocket ? `
        # Colibri websocket: the bridge channel of releases before stable-11146.
        location ~ ^/colibri-ws/ {
            proxy_pass http://$jvb_upstream:9090;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            tcp_nodelay on;
            proxy_read_timeout ${LONG_POLL_TIMEOUT};
        }
` : "";

    return `# Rendered by the jitsi-meet Pulumi program. Edits are replaced on the next \`pulumi up\`.
worker_processes auto;
error_log stderr warn;
pid /tmp/nginx.pid;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    server_tokens off;
    sendfile on;

    # Upstream names are variables, so nginx resolves them per request through Docker's DNS:
    # the proxy starts while a container is down and follows it when it comes back.
    resolver ${options.resolver} valid=5s ipv6=off;
    resolver_timeout 5s;

    # The upstreams share a Docker network with the proxy. A stopped container's cached address
    # would otherwise hold a request for nginx's default of 60 s before the error.
    proxy_connect_timeout 5s;

    server {
        listen 80;
        listen [::]:80;
        server_name ${options.domain};

        # ACME HTTP-01 challenges, written into the shared webroot by the ACME client.
        location ^~ /.well-known/acme-challenge/ {
            root ${PROXY_PATHS.acmeWebroot};
            default_type text/plain;
            try_files $uri =404;
        }

        location / {
            return 301 ${redirectTarget};
        }
    }

    server {
        listen ${httpsListen};
        listen [::]:${httpsListen};
${http2Directive ? "        http2 on;\n" : ""}        server_name ${options.domain};

        ssl_certificate ${PROXY_PATHS.certificate};
        ssl_certificate_key ${PROXY_PATHS.privateKey};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ${INTERMEDIATE_CIPHERS};
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:TLS:10m;
        ssl_session_timeout 1d;
        ssl_session_tickets off;

        add_header Strict-Transport-Security "max-age=63072000" always;

        set $prosody_upstream ${options.prosodyHost};
        set $web_upstream ${options.webHost};
${options.colibriWebsocket ? `        set $jvb_upstream ${options.jvbHost};
` : ""}
        # BOSH long-poll. proxy_pass without a URI forwards the path and query string unchanged,
        # so a JWT in ?token= reaches prosody.
        location = /http-bind {
            proxy_pass http://$prosody_upstream:${options.prosodyHttpPort};
            proxy_set_header Host ${options.xmppDomain};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            tcp_nodelay on;
            proxy_read_timeout ${LONG_POLL_TIMEOUT};
        }

        # XMPP over websocket.
        location = /xmpp-websocket {
            proxy_pass http://$prosody_upstream:${options.prosodyHttpPort};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host ${options.xmppDomain};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            tcp_nodelay on;
            proxy_read_timeout ${LONG_POLL_TIMEOUT};
            proxy_send_timeout ${LONG_POLL_TIMEOUT};
        }
${colibri}
        # Rooms, /config.js, /external_api.js and static assets.
        location / {
            proxy_pass http://$web_upstream:${options.webHttpPort};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
    }
}
`;
}
