// Logs in with @xmpp/client over XMPP-over-websocket (RFC 7395), as Jitsi Meet's browser client
// does over /xmpp-websocket.
import { client, xml } from "@xmpp/client";
import WebSocket from "ws";

import { pinnedLookup, type XmppLoginOptions } from "./clients";

export interface WebsocketSession {
    /** Full JID that the server bound. */
    readonly jid: string;
    /** Type of the server's reply to an XEP-0199 ping: "result" when the session works. */
    readonly pingReplyType: string | undefined;
}

/**
 * Replaces globalThis.WebSocket with a `ws` client that resolves `domain` to 127.0.0.1, trusts
 * only `ca` and sends the Origin header of a browser on the public site. Returns a function that
 * restores the previous value.
 *
 * @xmpp/websocket 0.14 opens its connection with `new WebSocket(url, ["xmpp"])` and takes no
 * connection options, and Node 20 has no global WebSocket without --experimental-websocket.
 */
function installPinnedWebSocket(domain: string, ca: string): () => void {
    class PinnedWebSocket extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { lookup: pinnedLookup(domain), ca, origin: `https://${domain}` });
        }
    }
    const scope = globalThis as unknown as Record<string, unknown>;
    const previous = scope.WebSocket;
    scope.WebSocket = PinnedWebSocket;
    return () => {
        scope.WebSocket = previous;
    };
}

/** Logs in, pings the server, closes the stream and returns what the server sent. */
export async function websocketLogin(options: XmppLoginOptions): Promise<WebsocketSession> {
    const restore = installPinnedWebSocket(options.domain, options.ca);
    const xmpp = client({
        service: options.url,
        domain: options.xmppHost,
        username: options.username,
        password: options.password,
        resource: "e2e-websocket",
    });
    // Errors also reject start(); without a listener EventEmitter would throw them a second time.
    xmpp.on("error", () => undefined);
    try {
        const jid = await xmpp.start();
        const reply = await xmpp.iqCaller.request(
            xml("iq", { type: "get", to: options.xmppHost }, xml("ping", { xmlns: "urn:xmpp:ping" })), 10_000);
        return { jid: jid.toString(), pingReplyType: reply.attrs.type };
    } finally {
        await xmpp.stop().catch(() => undefined);
        restore();
    }
}
