import * as assert from "node:assert/strict";
import { AiosError, GatewayClient, HttpOptions, ParserClient, RegistryClient, RetryInfo } from "../../../components/aios";
import type { NodeDocument } from "../../../components/aios";
import { closedPort, reply, startServer, TestServer } from "./helpers/servers";

const DOC = { _id: "x", __v: 0, id: "demo", nodes: { count: 0, nodeData: [] } };
const NODE: NodeDocument = {
    id: "worker-1",
    gpus: { count: 0, memory: 0, gpus: [], modelNames: [], features: [] },
    vcpus: { count: 4 },
    memory: 8192,
    swap: 0,
    storage: { disks: 1, size: 100000 },
    network: { interfaces: 1, txBandwidth: 0, rxBandwidth: 0 },
    tags: [],
    nodeMetadata: {},
};

async function caught(p: Promise<unknown>): Promise<AiosError> {
    try {
        await p;
    } catch (e) {
        assert.ok(AiosError.isInstance(e), `expected an AiosError, got ${String(e)}`);
        return e;
    }
    return assert.fail("expected the call to fail");
}

/** Runs `body` against a server, closing it afterwards. */
async function withServer<T>(handler: Parameters<typeof startServer>[0], body: (s: TestServer) => Promise<T>): Promise<T> {
    const server = await startServer(handler);
    try {
        return await body(server);
    } finally {
        await server.close();
    }
}

describe("AIOS HTTP helper: retries", function () {
    it("retries a GET refused with ECONNREFUSED and succeeds once the registry is listening", async function () {
        const port = await closedPort();
        const retries: RetryInfo[] = [];
        let late: Promise<TestServer> | undefined;
        const registry = new RegistryClient(`http://127.0.0.1:${port}`, {
            attempts: 3,
            backoffMs: 200,
            onRetry: (info) => {
                retries.push(info);
                // The registry comes up during the backoff.
                late ??= startServer((_req, res) => reply(res, 200, DOC), port);
            },
        });
        try {
            const doc = await registry.getCluster("demo");
            assert.equal(doc.id, "demo");
            assert.equal(retries.length, 1);
            assert.equal(retries[0].reason, "ECONNREFUSED");
            assert.equal(retries[0].delayMs, 200);
            assert.equal((await late)?.received.length, 1);
        } finally {
            await (await late)?.close();
        }
    });

    it("gives up after the configured attempts on ECONNREFUSED with a message naming service, URL, cause and fix", async function () {
        const port = await closedPort();
        const retries: RetryInfo[] = [];
        const registry = new RegistryClient(`http://127.0.0.1:${port}`, { attempts: 3, backoffMs: 10, onRetry: (i) => retries.push(i) });
        const e = await caught(registry.getCluster("demo"));
        assert.equal(e.kind, "unreachable");
        assert.equal(e.service, "registry");
        assert.deepEqual(retries.map((r) => [r.attempt, r.delayMs]), [[1, 10], [2, 20]], "backoff doubles");
        assert.equal(
            e.message,
            `registry http://127.0.0.1:${port}/clusters/demo unreachable (ECONNREFUSED) while reading cluster demo: check registryUrl and that the registry is up`,
        );
    });

    it("retries GETs answered 502 and 503 and returns the first good answer", async function () {
        const statuses = [502, 503];
        await withServer(
            (_req, res) => {
                const status = statuses.shift();
                if (status) reply(res, status, `<html><body>${status} Bad Gateway</body></html>`);
                else reply(res, 200, DOC);
            },
            async (server) => {
                const doc = await new RegistryClient(server.url, { backoffMs: 5 }).getCluster("demo");
                assert.equal(doc.id, "demo");
                assert.equal(server.received.length, 3);
            },
        );
    });

    it("tries a GET that keeps answering 503 exactly `attempts` times, then reports the 503's error text", async function () {
        await withServer(
            (_req, res) => reply(res, 503, { error: "MongoNetworkError: connection refused" }),
            async (server) => {
                const e = await caught(new RegistryClient(server.url, { attempts: 4, backoffMs: 5 }).getCluster("demo"));
                assert.equal(server.received.length, 4);
                assert.equal(e.kind, "http");
                assert.equal(e.status, 503);
                assert.equal(e.reason, "MongoNetworkError: connection refused");
            },
        );
    });

    it("retries the side-effect-free POSTs: cluster queries and policy dry runs", async function () {
        const seen = new Map<string, number>();
        await withServer(
            (req, res) => {
                const n = (seen.get(req.path) ?? 0) + 1;
                seen.set(req.path, n);
                if (n === 1) return reply(res, 503, { error: "busy" });
                reply(res, 200, req.path === "/clusters/query" ? [] : { allowed: true, success: true });
            },
            async (server) => {
                assert.deepEqual(await new RegistryClient(server.url, { backoffMs: 5 }).queryClusters({ id: "demo" }), []);
                assert.deepEqual(await new GatewayClient(server.url, { backoffMs: 5 }).dryRunAddNode("demo", NODE), { allowed: true });
                assert.deepEqual(await new GatewayClient(server.url, { backoffMs: 5 }).dryRunRemoveNode("demo", "worker-1"), { allowed: true });
                assert.deepEqual([...seen.values()], [2, 2, 2]);
            },
        );
    });

    it("never retries join-node, addNode, removeNode or a registry PUT answered 503", async function () {
        await withServer(
            (_req, res) => reply(res, 503, { error: "busy" }),
            async (server) => {
                const opts: HttpOptions = { attempts: 5, backoffMs: 1 };
                await caught(new GatewayClient(server.url, opts).joinNode("demo", NODE, { mode: "local_network" }));
                await caught(new GatewayClient(server.url, opts).removeNode("demo", "worker-1"));
                await caught(new ParserClient(server.url, opts).addNode("demo", NODE));
                await caught(new RegistryClient(server.url, opts).putCluster("demo", { $set: { swap: 0 } }));
                assert.deepEqual(
                    server.received.map((r) => `${r.method} ${r.path}`),
                    ["POST /join-node/demo", "POST /remove-node/demo", "POST /api/addNode", "PUT /clusters/demo"],
                    "each sent once, and a 503 is not taken for a hidden policy rejection",
                );
            },
        );
    });

    it("sends a join-node answered 500 once, then asks the (retried) dry run whether a policy said no", async function () {
        await withServer(
            (_req, res) => reply(res, 500, { error: "500 Server Error: INTERNAL SERVER ERROR", success: false }),
            async (server) => {
                const e = await caught(new GatewayClient(server.url, { attempts: 3, backoffMs: 1 }).joinNode("demo", NODE, { mode: "local_network" }));
                assert.equal(e.kind, "http");
                assert.equal(e.status, 500);
                assert.deepEqual(server.received.map((r) => r.path), [
                    "/join-node/demo",
                    "/pre-check-policies/add_node/dry_run/demo",
                    "/pre-check-policies/add_node/dry_run/demo",
                    "/pre-check-policies/add_node/dry_run/demo",
                ]);
            },
        );
    });

    it("never retries join-node or addNode refused with ECONNREFUSED", async function () {
        const port = await closedPort();
        const retries: RetryInfo[] = [];
        const opts: HttpOptions = { attempts: 5, backoffMs: 1, onRetry: (i) => retries.push(i) };
        const join = await caught(new GatewayClient(`http://127.0.0.1:${port}`, opts).joinNode("demo", NODE, { mode: "public" }));
        const add = await caught(new ParserClient(`http://127.0.0.1:${port}`, opts).addNode("demo", NODE));
        assert.equal(join.kind, "unreachable");
        assert.equal(add.kind, "unreachable");
        assert.deepEqual(retries, []);
    });

    it("retries a GET whose connection is dropped (socket hang up)", async function () {
        await withServer(
            (_req, res) => res.socket?.destroy(),
            async (server) => {
                const e = await caught(new RegistryClient(server.url, { attempts: 3, backoffMs: 5 }).getCluster("demo"));
                assert.equal(e.kind, "unreachable");
                assert.equal(e.reason, "socket hang up");
                assert.equal(server.received.length, 3);
            },
        );
    });
});

describe("AIOS HTTP helper: timeouts", function () {
    it("reports kind timeout within the configured time when the server never answers", async function () {
        await withServer(
            () => undefined,
            async (server) => {
                const started = Date.now();
                const e = await caught(new RegistryClient(server.url, { timeoutMs: 200, attempts: 1 }).getCluster("demo"));
                const elapsed = Date.now() - started;
                assert.equal(e.kind, "timeout");
                assert.match(e.message, /did not answer in time \(no complete response within 200 ms\)/);
                assert.ok(elapsed >= 190 && elapsed < 1000, `took ${elapsed} ms`);
            },
        );
    });

    it("bounds a retried GET by attempts × timeout plus backoff", async function () {
        await withServer(
            () => undefined,
            async (server) => {
                const started = Date.now();
                await caught(new RegistryClient(server.url, { timeoutMs: 150, attempts: 3, backoffMs: 10 }).getCluster("demo"));
                const elapsed = Date.now() - started;
                assert.equal(server.received.length, 3);
                assert.ok(elapsed < 3 * 150 + 30 + 500, `took ${elapsed} ms`);
            },
        );
    });

    it("times out a response whose body stalls after the headers", async function () {
        await withServer(
            (_req, res) => {
                res.writeHead(200, { "content-type": "application/json" });
                res.write('{"id": "de');
            },
            async (server) => {
                const e = await caught(new RegistryClient(server.url, { timeoutMs: 200, attempts: 1 }).getCluster("demo"));
                assert.equal(e.kind, "timeout");
            },
        );
    });

    it("sends a join-node that times out only once", async function () {
        await withServer(
            (req, res) => {
                if (req.path.startsWith("/join-node/")) return; // never answers
                reply(res, 200, { allowed: true, success: true });
            },
            async (server) => {
                const e = await caught(new GatewayClient(server.url, { timeoutMs: 200, attempts: 3, backoffMs: 5 }).joinNode("demo", NODE, { mode: "local_network" }));
                assert.equal(e.kind, "timeout");
                assert.equal(server.received.filter((r) => r.path === "/join-node/demo").length, 1);
            },
        );
    });
});

describe("AIOS HTTP helper: bodies that are not JSON", function () {
    const EXPRESS_400 =
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n' +
        "<pre>SyntaxError: Unexpected token } in JSON at position 12<br> &nbsp; &nbsp;at JSON.parse (&lt;anonymous&gt;)</pre>\n</body>\n</html>\n";

    it("decodes Express's HTML 400 page as kind http with a short excerpt, not a JSON.parse crash", async function () {
        await withServer(
            (_req, res) => reply(res, 400, EXPRESS_400),
            async (server) => {
                const e = await caught(new RegistryClient(server.url).putCluster("demo", { $set: { swap: 0 } }));
                assert.equal(e.kind, "http");
                assert.equal(e.status, 400);
                assert.match(e.reason, /^expected JSON, got "Error SyntaxError: Unexpected token \} in JSON at position 12/);
                assert.ok(e.reason.length < 200, e.reason);
                assert.doesNotMatch(e.message, /<pre>|<html/);
            },
        );
    });

    it("decodes an HTML page with status 200 as kind malformed", async function () {
        await withServer(
            (_req, res) => reply(res, 200, "<html><title>Welcome to nginx!</title></html>"),
            async (server) => {
                const e = await caught(new RegistryClient(server.url).getCluster("demo"));
                assert.equal(e.kind, "malformed");
                assert.equal(e.reason, 'expected JSON, got "Welcome to nginx!"');
                assert.match(e.fix, /registryUrl points at the AIOS registry/);
            },
        );
    });

    it("decodes an empty 200 body as kind malformed", async function () {
        await withServer(
            (_req, res) => res.writeHead(200).end(),
            async (server) => {
                const e = await caught(new GatewayClient(server.url).dryRunAddNode("demo", NODE));
                assert.equal(e.kind, "malformed");
                assert.equal(e.reason, "expected JSON, got an empty body");
            },
        );
    });
});

describe("AIOS HTTP helper: what errors reveal", function () {
    it("keeps the URL's credentials out of errors while still sending them", async function () {
        await withServer(
            (_req, res) => reply(res, 500, { error: "boom" }),
            async (server) => {
                const withAuth = server.url.replace("http://", "http://ops:hunter2@");
                const e = await caught(new RegistryClient(withAuth, { attempts: 1 }).getCluster("demo"));
                assert.equal(e.url, `${server.url}/clusters/demo`);
                assert.ok(!e.message.includes("hunter2"), e.message);
                assert.equal(server.received[0].headers.authorization, `Basic ${Buffer.from("ops:hunter2").toString("base64")}`);
            },
        );
    });

    it("redacts bootstrap tokens that a service echoes in its error text", async function () {
        await withServer(
            (_req, res) => reply(res, 500, { error: "kubeadm join 10.0.0.10:6443 --token abcdef.0123456789abcdef failed" }),
            async (server) => {
                const e = await caught(new RegistryClient(server.url, { attempts: 1 }).getCluster("demo"));
                assert.ok(!e.message.includes("abcdef.0123456789abcdef") && !e.reason.includes("abcdef.0123456789abcdef"), e.message);
                assert.match(e.reason, /--token <redacted-token> failed/);
            },
        );
    });

    it("rejects a base URL that is not http(s) when the client is built", function () {
        assert.throws(() => new RegistryClient("127.0.0.1:30101"), /registryUrl "127\.0\.0\.1:30101" is not a URL|must be an http/);
        assert.throws(() => new GatewayClient("ftp://gw"), /gatewayUrl ftp:\/\/gw must be an http:\/\/ or https:\/\/ URL/);
    });
});
