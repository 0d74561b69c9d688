// HTTP, TLS and HTTP/2 clients that resolve the deployment's domain to 127.0.0.1 inside the test
// process, so no test depends on /etc/hosts or on DNS. Every other name fails to resolve.
import type { LookupAddress, LookupOptions } from "dns";
import * as http from "http";
import * as http2 from "http2";
import * as https from "https";
import * as net from "net";
import * as tls from "tls";

/** Address that the published ports listen on. */
export const LOOPBACK = "127.0.0.1";

/** Account and endpoint of an XMPP login through the proxy, over BOSH or websocket. */
export interface XmppLoginOptions {
    /** Endpoint URL, such as https://chat.jitsi.org/http-bind or wss://chat.jitsi.org/xmpp-websocket. */
    readonly url: string;
    /** Public domain that the client resolves to 127.0.0.1. */
    readonly domain: string;
    /** PEM CA certificate to trust; Node's built-in list is not used. */
    readonly ca: string;
    /** XMPP host of the account, such as auth.meet.jitsi. */
    readonly xmppHost: string;
    readonly username: string;
    readonly password: string;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` function for net/tls/http options that maps `domain` to 127.0.0.1. */
export function pinnedLookup(domain: string) {
    return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
        if (hostname !== domain && hostname !== LOOPBACK) {
            const error: NodeJS.ErrnoException = new Error(`test lookup: ${hostname} is not ${domain}; the tests resolve only the deployment's domain`);
            error.code = "ENOTFOUND";
            callback(error, "");
            return;
        }
        if (options.all === true) {
            callback(null, [{ address: LOOPBACK, family: 4 }]);
        } else {
            callback(null, LOOPBACK, 4);
        }
    };
}

export interface HttpResponse {
    readonly status: number;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

export interface RequestOptions {
    readonly method?: string;
    readonly body?: string;
    readonly headers?: http.OutgoingHttpHeaders;
    /** PEM certificates to trust instead of Node's built-in CA list (https only). */
    readonly ca?: string;
    readonly timeoutMs?: number;
}

/** Sends one HTTP/1.1 request to `url`, resolving its host with pinnedLookup, without redirects. */
export function request(url: string, domain: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    let port = secure ? 443 : 80;
    if (target.port !== "") {
        port = Number(target.port);
    }
    const common = {
        method: options.method ?? "GET",
        host: target.hostname,
        port,
        path: `${target.pathname}${target.search}`,
        headers: {
            ...options.headers,
            ...(options.body === undefined ? {} : { "Content-Length": Buffer.byteLength(options.body) }),
        },
        lookup: pinnedLookup(domain),
        agent: false as const,
        timeout: options.timeoutMs ?? 30_000,
    };
    return new Promise((resolve, reject) => {
        const onResponse = (response: http.IncomingMessage) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
            response.on("error", reject);
        };
        // With `ca` set, Node trusts only those certificates; its built-in list is not consulted.
        const outgoing = secure
            ? https.request({ ...common, ca: options.ca, servername: target.hostname }, onResponse)
            : http.request(common, onResponse);
        outgoing.on("timeout", () => outgoing.destroy(new Error(`${common.method} ${url} timed out after ${common.timeout} ms`)));
        outgoing.on("error", reject);
        outgoing.end(options.body);
    });
}

export interface TlsHandshake {
    readonly protocol: string | null;
    readonly alpnProtocol: string | false | null;
    readonly certificate: tls.PeerCertificate;
    readonly authorized: boolean;
}

/** Completes a TLS handshake with 127.0.0.1:`port`, sending `servername` as SNI, then closes. */
export function handshake(port: number, servername: string, options: tls.ConnectionOptions): Promise<TlsHandshake> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ ...options, host: LOOPBACK, port, servername }, () => {
            const result: TlsHandshake = {
                protocol: socket.getProtocol(),
                alpnProtocol: socket.alpnProtocol,
                certificate: socket.getPeerCertificate(),
                authorized: socket.authorized,
            };
            socket.end();
            resolve(result);
        });
        socket.setTimeout(10_000, () => socket.destroy(new Error(`TLS handshake with ${LOOPBACK}:${port} timed out`)));
        socket.on("error", reject);
    });
}

/** Sends GET `path` over HTTP/2 and returns the status and headers. */
export function http2Get(port: number, domain: string, path: string, ca: string): Promise<{ status: number; alpnProtocol: string | false | undefined; headers: http2.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
        const session = http2.connect(`https://${domain}:${port}`, {
            createConnection: () => tls.connect({ host: LOOPBACK, port, servername: domain, ca, ALPNProtocols: ["h2"] }),
        });
        session.on("error", reject);
        const stream = session.request({ ":method": "GET", ":path": path });
        stream.on("response", (headers) => {
            const alpnProtocol = session.alpnProtocol;
            stream.resume();
            stream.on("end", () => {
                session.close();
                resolve({ status: Number(headers[":status"]), alpnProtocol, headers });
            });
        });
        stream.on("error", (err) => {
            session.close();
            reject(err);
        });
        stream.end();
    });
}

/** Returns whether a TCP connection to 127.0.0.1:`port` is accepted within `timeoutMs`. */
export function tcpConnects(port: number, timeoutMs = 3000): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: LOOPBACK, port });
        const finish = (connected: boolean) => {
            socket.destroy();
            resolve(connected);
        };
        socket.setTimeout(timeoutMs, () => finish(false));
        socket.on("connect", () => finish(true));
        socket.on("error", () => finish(false));
    });
}

/** Polls `attempt` until it returns without throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(timeoutMs: number, intervalMs: number, attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            return await attempt();
        } catch (err) {
            if (Date.now() + intervalMs > deadline) {
                throw err;
            }
            await new Promise((resolve) => setTimeout(resolve, intervalMs));
        }
    }
}
