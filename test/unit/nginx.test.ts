import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { PROXY_PATHS, renderNginxConf, type NginxOptions } from "../../components/render/nginx";
import { makeCertificate } from "../support/certificates";

const OPTIONS: NginxOptions = {
    domain: "chat.jitsi.org",
    publicHttpsPort: 443,
    xmppDomain: "meet.jitsi",
    prosodyHost: "xmpp.meet.jitsi",
    prosodyHttpPort: 5280,
    webHost: "web.meet.jitsi",
    webHttpPort: 8000,
    jvbHost: "jvb.meet.jitsi",
    colibriWebsocket: false,
    resolver: "127.0.0.11",
    nginxVersion: [1, 28, 0],
};

/** Returns the body of the first `location` block whose header matches `header`. */
function locationBlock(config: string, header: string): string {
    const start = config.indexOf(`location ${header} {`);
    assert.ok(start >= 0, `no "location ${header}" block in:\n${config}`);
    const end = config.indexOf("\n        }", start);
    return config.slice(start, end);
}

describe("nginx.conf renderer", () => {
    const config = renderNginxConf(OPTIONS);

    it("redirects HTTP to HTTPS keeping the path", () => {
        assert.match(locationBlock(config, "/"), /return 301 https:\/\/\$host\$request_uri;/);
    });

    it("names a non-default HTTPS port in the redirect", () => {
        const custom = renderNginxConf({ ...OPTIONS, publicHttpsPort: 8443 });
        assert.match(custom, /return 301 https:\/\/\$host:8443\$request_uri;/);
    });

    it("serves ACME challenges from the webroot", () => {
        const block = locationBlock(config, "^~ /.well-known/acme-challenge/");
        assert.match(block, new RegExp(`root ${PROXY_PATHS.acmeWebroot};`));
    });

    it("routes BOSH to prosody with the XMPP host", () => {
        const block = locationBlock(config, "= /http-bind");
        assert.match(block, /proxy_pass http:\/\/\$prosody_upstream:5280;/);
        assert.match(block, /proxy_set_header Host meet\.jitsi;/);
        assert.match(block, /proxy_read_timeout 900s;/);
    });

    it("routes the websocket with an upgrade", () => {
        const block = locationBlock(config, "= /xmpp-websocket");
        assert.match(block, /proxy_pass http:\/\/\$prosody_upstream:5280;/);
        assert.match(block, /proxy_http_version 1\.1;/);
        assert.match(block, /proxy_set_header Upgrade \$http_upgrade;/);
        assert.match(block, /proxy_set_header Connection "upgrade";/);
        assert.match(block, /tcp_nodelay on;/);
    });

    it("routes everything else to web", () => {
        const httpsServer = config.slice(config.indexOf("listen 443"));
        const block = locationBlock(httpsServer, "/");
        assert.match(block, /proxy_pass http:\/\/\$web_upstream:8000;/);
        assert.match(block, /X-Forwarded-Proto \$scheme/);
        assert.match(block, /X-Forwarded-For \$proxy_add_x_forwarded_for/);
    });

    it("keeps the query string for tokens", () => {
        // proxy_pass without a URI part forwards the request URI, query string included.
        assert.doesNotMatch(config, /proxy_pass http:\/\/\$prosody_upstream:5280\//);
    });

    it("fails fast on a stopped upstream", () => {
        assert.match(config, /^ {4}proxy_connect_timeout 5s;$/m);
    });

    it("resolves upstreams at request time", () => {
        assert.match(config, /resolver 127\.0\.0\.11 valid=5s/);
        assert.match(config, /set \$prosody_upstream xmpp\.meet\.jitsi;/);
        assert.doesNotMatch(config, /upstream\s+\w+\s*\{/);
    });

    it("limits TLS to 1.2 and 1.3 with HSTS", () => {
        assert.match(config, /ssl_protocols TLSv1\.2 TLSv1\.3;/);
        assert.match(config, /add_header Strict-Transport-Security "max-age=63072000" always;/);
    });

    it("uses the http2 directive from 1.25.1", () => {
        assert.match(config, /^\s+http2 on;$/m);
        const old = renderNginxConf({ ...OPTIONS, nginxVersion: [1, 22, 1] });
        assert.match(old, /listen 443 ssl http2;/);
        assert.doesNotMatch(old, /http2 on;/);
    });

    it("renders colibri only when asked", () => {
        assert.doesNotMatch(config, /colibri-ws/);
        assert.doesNotMatch(config, /jvb_upstream/);
        const old = renderNginxConf({ ...OPTIONS, colibriWebsocket: true });
        assert.match(locationBlock(old, "~ ^/colibri-ws/"), /proxy_pass http:\/\/\$jvb_upstream:9090;/);
    });

    it("renders the same bytes twice", () => {
        assert.strictEqual(renderNginxConf(OPTIONS), config);
    });

    it("passes nginx -t with real nginx", function () {
        const version = spawnSync("nginx", ["-v"], { encoding: "utf8" });
        assert.ok(version.error === undefined, "nginx is not installed; `apt-get install nginx` (npm test installs it as root)");
        const match = /nginx\/([0-9]+)\.([0-9]+)\.([0-9]+)/.exec(version.stderr);
        assert.ok(match, `cannot read the nginx version from: ${version.stderr}`);

        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nginx-t-"));
        try {
            const certificate = makeCertificate({ names: ["chat.jitsi.org"] });
            fs.writeFileSync(path.join(dir, "fullchain.pem"), certificate.certificatePem);
            fs.writeFileSync(path.join(dir, "privkey.pem"), certificate.keyPem);
            // Only the certificate paths move into the temporary folder; every directive stays.
            const rendered = renderNginxConf({ ...OPTIONS, nginxVersion: [Number(match[1]), Number(match[2]), Number(match[3])] })
                .replace(PROXY_PATHS.certificate, path.join(dir, "fullchain.pem"))
                .replace(PROXY_PATHS.privateKey, path.join(dir, "privkey.pem"))
                .replace("pid /tmp/nginx.pid;", `pid ${path.join(dir, "nginx.pid")};`);
            fs.writeFileSync(path.join(dir, "nginx.conf"), rendered);

            // nginx opens /dev/stdout for the access log; Node's pipes are sockets, which that open
            // rejects, so nginx writes to a file here as it writes to Docker's log FIFO in a container.
            const logPath = path.join(dir, "nginx-t.log");
            const log = fs.openSync(logPath, "w");
            const result = spawnSync("nginx", ["-t", "-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: ["ignore", log, log] });
            fs.closeSync(log);
            const output = fs.readFileSync(logPath, "utf8");
            assert.strictEqual(result.status, 0, `nginx -t failed:\n${output}`);
            assert.match(output, /syntax is ok/);
            assert.match(output, /test is successful/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
