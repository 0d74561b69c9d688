// A BOSH client (XEP-0124, XEP-0206) that logs in with SASL SCRAM-SHA-1 (RFC 5802) and binds a
// resource, the way Jitsi Meet's browser client (Strophe.js) does over /http-bind.
import * as assert from "assert";
import * as crypto from "crypto";

import { type Element, parse } from "ltx";

import { request, type XmppLoginOptions } from "./clients";

const NS_HTTPBIND = "http://jabber.org/protocol/httpbind";
const NS_XBOSH = "urn:xmpp:xbosh";
const NS_STREAMS = "http://etherx.jabber.org/streams";
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";

/** The HTTP status of a BOSH request that did not return 200. */
export class BoshHttpError extends Error {
    constructor(readonly status: number, body: string) {
        super(`BOSH request failed with HTTP status ${status}: ${body.slice(0, 200)}`);
        this.name = "BoshHttpError";
    }
}

function escapeAttribute(value: string): string {
    return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function attribute(element: Element, name: string): string | undefined {
    const value: unknown = element.attrs[name];
    return typeof value === "string" ? value : undefined;
}

/** SCRAM username: "=" and "," are escaped as RFC 5802 section 5.1 requires. */
function scramName(username: string): string {
    return username.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function hmac(key: Buffer, data: string): Buffer {
    return crypto.createHmac("sha1", key).update(data).digest();
}

/** One BOSH session; each request waits for its response before the next is sent. */
class BoshSession {
    private rid = crypto.randomInt(1, 2 ** 32);
    private sid: string | undefined;
    /** Stanzas received but not yet consumed. */
    private readonly inbox: Element[] = [];

    constructor(private readonly options: XmppLoginOptions) {}

    private async post(attributes: Record<string, string>, payload = ""): Promise<Element> {
        const attrs = {
            rid: String(this.rid++),
            xmlns: NS_HTTPBIND,
            ...(this.sid === undefined ? {} : { sid: this.sid }),
            ...attributes,
        };
        const xml = `<body ${Object.entries(attrs).map(([k, v]) => `${k}='${escapeAttribute(v)}'`).join(" ")}>${payload}</body>`;
        const response = await request(this.options.url, this.options.domain, {
            method: "POST",
            body: xml,
            headers: { "Content-Type": "text/xml; charset=utf-8" },
            ca: this.options.ca,
            timeoutMs: 30_000,
        });
        if (response.status !== 200) {
            throw new BoshHttpError(response.status, response.body);
        }
        const body = parse(response.body);
        assert.ok(body.is("body", NS_HTTPBIND), `BOSH response is not a <body/> element: ${response.body.slice(0, 200)}`);
        if (attribute(body, "type") === "terminate") {
            throw new Error(`BOSH session terminated by the server (condition ${attribute(body, "condition") ?? "none"})`);
        }
        this.inbox.push(...body.getChildElements());
        return body;
    }

    /** Opens the session; the first response carries the sid. */
    async create(): Promise<void> {
        const body = await this.post({
            content: "text/xml; charset=utf-8",
            hold: "1",
            to: this.options.xmppHost,
            ver: "1.6",
            // A short wait keeps the empty polls in `next` short.
            wait: "10",
            "xml:lang": "en",
            "xmpp:version": "1.0",
            "xmlns:xmpp": NS_XBOSH,
        });
        this.sid = attribute(body, "sid");
        assert.ok(this.sid !== undefined, `BOSH session creation response has no sid: ${body.toString()}`);
    }

    async send(payload: string): Promise<void> {
        await this.post({}, payload);
    }

    /** Asks the server for a new stream after SASL success (XEP-0206 section 5). */
    async restart(): Promise<void> {
        await this.post({ to: this.options.xmppHost, "xml:lang": "en", "xmpp:restart": "true", "xmlns:xmpp": NS_XBOSH });
    }

    async terminate(): Promise<void> {
        await this.post({ type: "terminate" }, "<presence type='unavailable' xmlns='jabber:client'/>").catch(() => undefined);
    }

    /** Returns the next received stanza, polling with empty requests while none has arrived. */
    async next(): Promise<Element> {
        for (let polls = 0; this.inbox.length === 0; polls++) {
            assert.ok(polls < 5, "no stanza from the BOSH server after 5 polls");
            await this.post({});
        }
        return this.inbox.shift() as Element;
    }
}

/** Runs a SCRAM-SHA-1 exchange on the session and verifies the server's signature. */
async function authenticateScramSha1(session: BoshSession, username: string, password: string): Promise<void> {
    const clientNonce = crypto.randomBytes(18).toString("base64");
    const gs2Header = "n,,";
    const clientFirstBare = `n=${scramName(username)},r=${clientNonce}`;
    await session.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${Buffer.from(gs2Header + clientFirstBare).toString("base64")}</auth>`);

    const challenge = await session.next();
    assert.ok(challenge.is("challenge", NS_SASL), `expected a SASL challenge, got ${challenge.toString()}`);
    const serverFirst = Buffer.from(challenge.getText(), "base64").toString("utf8");
    const fields = Object.fromEntries(serverFirst.split(",").map((field) => [field.slice(0, 1), field.slice(2)]));
    assert.ok(fields.r?.startsWith(clientNonce), `server nonce does not extend the client nonce: ${serverFirst}`);
    const iterations = Number(fields.i);
    assert.ok(Number.isInteger(iterations), `invalid SCRAM iteration count in ${serverFirst}`);
    assert.ok(iterations > 0, `invalid SCRAM iteration count in ${serverFirst}`);

    const saltedPassword = crypto.pbkdf2Sync(password, Buffer.from(fields.s ?? "", "base64"), iterations, 20, "sha1");
    const clientKey = hmac(saltedPassword, "Client Key");
    const storedKey = crypto.createHash("sha1").update(clientKey).digest();
    const clientFinalWithoutProof = `c=${Buffer.from(gs2Header).toString("base64")},r=${fields.r}`;
    const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((byte, index) => byte ^ clientSignature[index]));
    const clientFinal = `${clientFinalWithoutProof},p=${proof.toString("base64")}`;
    await session.send(`<response xmlns='${NS_SASL}'>${Buffer.from(clientFinal).toString("base64")}</response>`);

    const outcome = await session.next();
    if (outcome.is("failure", NS_SASL)) {
        const condition = outcome.getChildElements()[0]?.getName() ?? "unknown";
        throw new Error(`SASL SCRAM-SHA-1 failed for ${username}: ${condition}`);
    }
    assert.ok(outcome.is("success", NS_SASL), `expected SASL success, got ${outcome.toString()}`);
    const serverFinal = Buffer.from(outcome.getText(), "base64").toString("utf8");
    const expectedSignature = hmac(hmac(saltedPassword, "Server Key"), authMessage).toString("base64");
    assert.strictEqual(serverFinal, `v=${expectedSignature}`, "the server's SCRAM signature does not match: it does not know the password");
}

/**
 * Logs in over BOSH with SCRAM-SHA-1, binds a resource, ends the session and returns the bound
 * JID. Raises BoshHttpError when the endpoint returns a status other than 200.
 */
export async function boshLogin(options: XmppLoginOptions): Promise<string> {
    const session = new BoshSession(options);
    await session.create();
    try {
        const features = await session.next();
        assert.ok(features.is("features", NS_STREAMS), `expected stream features, got ${features.toString()}`);
        const mechanisms = features.getChild("mechanisms", NS_SASL)?.getChildren("mechanism").map((m) => m.getText()) ?? [];
        assert.ok(mechanisms.includes("SCRAM-SHA-1"), `the server does not offer SCRAM-SHA-1 over BOSH; it offers: ${mechanisms.join(", ") || "none"}`);

        await authenticateScramSha1(session, options.username, options.password);

        await session.restart();
        const boundFeatures = await session.next();
        assert.ok(boundFeatures.getChild("bind", NS_BIND) !== undefined, `no resource binding offered after SASL: ${boundFeatures.toString()}`);
        await session.send(`<iq type='set' id='bind-1' xmlns='jabber:client'><bind xmlns='${NS_BIND}'><resource>e2e-bosh</resource></bind></iq>`);
        const result = await session.next();
        assert.strictEqual(attribute(result, "type"), "result", `resource binding failed: ${result.toString()}`);
        const jid = result.getChild("bind", NS_BIND)?.getChildText("jid", NS_BIND);
        assert.ok(typeof jid === "string", `resource binding returned no JID: ${result.toString()}`);
        assert.notStrictEqual(jid, "", `resource binding returned an empty JID: ${result.toString()}`);
        return jid;
    } finally {
        await session.terminate();
    }
}
