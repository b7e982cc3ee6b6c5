import * as assert from "node:assert/strict";
import { AiosError, GatewayClient, ParserClient, reasonText } from "../../../components/aios";
import type { NodeDocument } from "../../../components/aios";
import { reply, startServer, TestServer } from "./helpers/servers";

const NODE: NodeDocument = {
    id: "cpu-node-1",
    gpus: { count: 0, memory: 0, gpus: [], modelNames: [], features: [] },
    vcpus: { count: 16 },
    memory: 64000,
    swap: 0,
    storage: { disks: 1, size: 500000 },
    network: { interfaces: 2, txBandwidth: 0, rxBandwidth: 0 },
    tags: [],
    nodeMetadata: {},
};
const TOKEN = "abcdef.0123456789abcdef";
const HASH = `sha256:${"ab".repeat(32)}`;

/** A gateway answering each path with a fixed status and body. */
async function gateway(routes: Record<string, [number, unknown]>): Promise<TestServer> {
    return startServer((req, res) => {
        const route = routes[req.path];
        if (!route) return reply(res, 404, `no route ${req.path}`);
        reply(res, route[0], route[1]);
    });
}

async function rejection(p: Promise<unknown>): Promise<AiosError> {
    return p.then(
        (v) => assert.fail(`expected a failure, got ${JSON.stringify(v)}`),
        (e: unknown) => {
            assert.ok(AiosError.isInstance(e), String(e));
            return e;
        },
    );
}

describe("GatewayClient.joinNode", function () {
    it("returns the join command only when HTTP 200, success, result.success and join_command all hold", async function () {
        const command = `kubeadm join 10.0.0.10:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH}`;
        const server = await gateway({ "/join-node/demo": [200, { success: true, result: { success: true, join_command: command } }] });
        try {
            assert.equal(await new GatewayClient(server.url).joinNode("demo", NODE, { mode: "local_network" }), command);
        } finally {
            await server.close();
        }
    });

    const valid = `kubeadm join 10.0.0.10:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH}`;
    for (const [label, body] of [
        ["an empty join_command", { success: true, result: { success: true, join_command: "" } }],
        ["success false at the top", { success: false, result: { success: true, join_command: valid } }],
        ["no result.success", { success: true, result: { join_command: valid } }],
        ["no result at all", { success: true }],
    ] as const) {
        it(`treats a 200 with ${label} as malformed, not as a join command`, async function () {
            const server = await gateway({ "/join-node/demo": [200, body] });
            try {
                const e = await rejection(new GatewayClient(server.url).joinNode("demo", NODE, { mode: "local_network" }));
                assert.equal(e.kind, "malformed");
            } finally {
                await server.close();
            }
        });
    }

    it("reports a join_command that is not a kubeadm join command as malformed without echoing it", async function () {
        const server = await gateway({ "/join-node/demo": [200, { success: true, result: { success: true, join_command: `kubeadm join 10.0.0.10:6443 --token ${TOKEN}` } }] });
        try {
            const e = await rejection(new GatewayClient(server.url).joinNode("demo", NODE, { mode: "local_network" }));
            assert.equal(e.kind, "malformed");
            assert.match(e.reason, /no --discovery-token-ca-cert-hash/);
            assert.ok(!e.message.includes(TOKEN) && !e.message.includes("0123456789abcdef"), e.message);
        } finally {
            await server.close();
        }
    });

    it("sends custom_ip only when given, and the mode always", async function () {
        const server = await gateway({ "/join-node/demo": [200, { success: true, result: { success: false, error: "x" } }] });
        try {
            const client = new GatewayClient(server.url);
            await rejection(client.joinNode("demo", NODE, { mode: "public" }));
            await rejection(client.joinNode("demo", NODE, { mode: "local_network", customIp: "wg0" }));
            assert.deepEqual(
                server.received.map((r) => r.body),
                [
                    { node_data: NODE, mode: "public" },
                    { node_data: NODE, mode: "local_network", custom_ip: "wg0" },
                ],
            );
        } finally {
            await server.close();
        }
    });

    it("reports a network rejection with the reason only the dry run knows, even if the dry run's reason is an object", async function () {
        const server = await gateway({
            "/join-node/demo": [200, { allowed: false, message: "Join not allowed by policy", success: true }],
            "/pre-check-policies/add_node/dry_run/demo": [200, { allowed: false, data: { reason: { minGpus: 1, found: 0 } }, success: true }],
        });
        try {
            const e = await rejection(new GatewayClient(server.url).joinNode("demo", NODE, { mode: "local_network" }));
            assert.equal(e.kind, "rejected");
            assert.equal(e.reason, 'network policy: {"minGpus":1,"found":0}');
        } finally {
            await server.close();
        }
    });

    it("still reports a network rejection when the dry run cannot explain it", async function () {
        const server = await gateway({
            "/join-node/demo": [200, { allowed: false, message: "Join not allowed by policy", success: true }],
            "/pre-check-policies/add_node/dry_run/demo": [200, { allowed: true, success: true }],
        });
        try {
            const e = await rejection(new GatewayClient(server.url).joinNode("demo", NODE, { mode: "local_network" }));
            assert.equal(e.kind, "rejected");
            assert.equal(e.reason, "network policy: Join not allowed by policy (a dry run now allows it)");
        } finally {
            await server.close();
        }
    });

    it("does not take a 500 for a rejection when the dry run allows the node", async function () {
        const server = await gateway({
            "/join-node/demo": [500, { error: "HTTPConnectionPool: Max retries exceeded", success: false }],
            "/pre-check-policies/add_node/dry_run/demo": [200, { allowed: true, success: true }],
        });
        try {
            const e = await rejection(new GatewayClient(server.url).joinNode("demo", NODE, { mode: "local_network" }));
            assert.equal(e.kind, "http");
            assert.equal(e.reason, "HTTPConnectionPool: Max retries exceeded (a dry run now allows it)");
        } finally {
            await server.close();
        }
    });
});

describe("GatewayClient.removeNode", function () {
    it("returns the membership server's message on success", async function () {
        const server = await gateway({ "/remove-node/demo": [200, { success: true, result: { success: true, message: "Node 'n1' drained." } }] });
        try {
            assert.equal(await new GatewayClient(server.url).removeNode("demo", "n1"), "Node 'n1' drained.");
            assert.deepEqual(server.received[0].body, { node_id: "n1" });
        } finally {
            await server.close();
        }
    });

    it("reports a network rejection (200 allowed:false) as rejected, with the remove dry run's reason", async function () {
        const server = await gateway({
            "/remove-node/demo": [200, { success: true, allowed: false, message: "Node removal not allowed by policy" }],
            "/pre-check-policies/remove_node/dry_run/demo/n1": [200, { allowed: false, data: { reason: "blocks still running" }, success: true }],
        });
        try {
            const e = await rejection(new GatewayClient(server.url).removeNode("demo", "n1"));
            assert.equal(e.kind, "rejected");
            assert.equal(e.reason, "network policy: blocks still running");
            assert.match(e.fix, /remove_node policy/);
        } finally {
            await server.close();
        }
    });

    it("explains a 500 from remove-node with the cluster policy's reason from the dry run", async function () {
        const server = await gateway({
            "/remove-node/demo": [500, { error: "500 Server Error: INTERNAL SERVER ERROR for url: http://m/remove-node", success: false }],
            "/pre-check-policies/remove_node/dry_run/demo/n1": [200, { allowed: false, cluster_response: { allowed: false, node_id: { reason: "last GPU node" } }, success: true }],
        });
        try {
            const e = await rejection(new GatewayClient(server.url).removeNode("demo", "n1"));
            assert.equal(e.kind, "rejected");
            assert.equal(e.reason, "cluster policy: last GPU node");
        } finally {
            await server.close();
        }
    });

    it("marks only the Kubernetes NotFound failure as notInKubernetes", async function () {
        const server = await gateway({ "/remove-node/demo": [200, { success: true, result: { success: false, message: "(403) Reason: Forbidden" } }] });
        try {
            const e = await rejection(new GatewayClient(server.url).removeNode("demo", "n1"));
            assert.equal(e.kind, "failed");
            assert.equal(e.notInKubernetes, undefined);
            assert.match(e.reason, /\(403\) Reason: Forbidden/);
        } finally {
            await server.close();
        }
    });
});

describe("policy reasons", function () {
    it("prints strings as they are, unwraps {reason}, and shows other values as compact JSON", function () {
        assert.equal(reasonText("no GPU"), "no GPU");
        assert.equal(reasonText({ reason: "no GPU" }), "no GPU");
        assert.equal(reasonText({ reason: { min: 1 } }), '{"min":1}');
        assert.equal(reasonText({ message: "denied" }), "denied");
        assert.equal(reasonText(["a", 1]), '["a",1]');
        assert.equal(reasonText(undefined), "the policy gave no reason");
        assert.ok(reasonText({ big: "x".repeat(1000) }).length <= 301);
    });
});

describe("ParserClient.addNode", function () {
    it("returns the result of a 200 with success:true and a result that is not [false, msg]", async function () {
        const server = await gateway({ "/api/addNode": [200, { success: true, task_id: "", result: { id: "demo" } }] });
        try {
            assert.deepEqual(await new ParserClient(server.url).addNode("demo", NODE), { result: { id: "demo" } });
        } finally {
            await server.close();
        }
    });

    it("treats a 200 whose result is [false, msg] or false as a failure", async function () {
        for (const [result, reason] of [
            [[false, "HTTPConnectionPool(host='gw', port=5000): Max retries exceeded"], "HTTPConnectionPool(host='gw', port=5000): Max retries exceeded"],
            [false, "the parser returned result false without a message"],
        ] as const) {
            const server = await gateway({ "/api/addNode": [200, { success: true, task_id: "", result }] });
            try {
                const e = await rejection(new ParserClient(server.url).addNode("demo", NODE));
                assert.equal(e.kind, "failed");
                assert.equal(e.reason, reason);
            } finally {
                await server.close();
            }
        }
    });

    it("treats a 200 with success:false as a failure with the parser's error text", async function () {
        const server = await gateway({ "/api/addNode": [200, { success: false, error: "task queue full" }] });
        try {
            const e = await rejection(new ParserClient(server.url).addNode("demo", NODE));
            assert.equal(e.kind, "failed");
            assert.equal(e.reason, "task queue full");
        } finally {
            await server.close();
        }
    });

    it("refuses to send an invalid node document", async function () {
        const server = await gateway({});
        try {
            const bad = { ...NODE, tags: null } as unknown as NodeDocument;
            await assert.rejects(new ParserClient(server.url).addNode("demo", bad), /invalid node document for "cpu-node-1": tags: expected array, found null/);
            assert.equal(server.received.length, 0);
        } finally {
            await server.close();
        }
    });
});
