// Types for the parts of @xmpp/client 0.14 that the end-to-end tests use; the package ships none.
declare module "@xmpp/client" {
    import { EventEmitter } from "events";

    export interface Jid {
        bare(): Jid;
        getLocal(): string;
        getDomain(): string;
        getResource(): string;
        toString(): string;
    }

    /** An XML element built by `xml`. */
    export interface XmlElement {
        readonly name: string;
        readonly attrs: Readonly<Record<string, string | undefined>>;
        getChild(name: string, xmlns?: string): XmlElement | undefined;
        toString(): string;
    }

    export interface ClientOptions {
        /** Endpoint, such as wss://example.org/xmpp-websocket. */
        readonly service: string;
        /** XMPP domain of the account. Default: the service's host name. */
        readonly domain?: string;
        readonly resource?: string;
        readonly username?: string;
        readonly password?: string;
    }

    export interface Client extends EventEmitter {
        readonly status: string;
        /** Connects, authenticates and binds a resource; resolves with the bound JID. */
        start(): Promise<Jid>;
        /** Closes the stream and the connection and stops reconnecting. */
        stop(): Promise<void>;
        readonly iqCaller: {
            /** Sends an iq and resolves with the result iq; rejects on an error iq or after `timeoutMs`. */
            request(stanza: XmlElement, timeoutMs?: number): Promise<XmlElement>;
        };
    }

    export function client(options: ClientOptions): Client;
    export function xml(name: string, attrs?: Record<string, string>, ...children: XmlElement[]): XmlElement;
}
