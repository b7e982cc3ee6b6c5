/**
 * Replays every recorded AIOS exchange (test/fixtures/aios/vectors.json) through a real
 * HTTP server on 127.0.0.1 and asserts what the clients return or throw for each.
 *
 * Not HTTP for these clients:
 * - 5, 16, 17, 37 record Kubernetes side effects (k8s_log, secrets, node objects), no request;
 * - 23 and 41 are requests to the membership server, which the gateway calls, never our clients.
 * They are checked against the clients' node-document and join-command handling further down.
 */
import * as assert from "node:assert/strict";
import { AiosError, GatewayClient, HttpOptions, parseClusterDocument, parseJoinCommand, ParserClient, redactSecrets, RegistryClient } from "../../../components/aios";
import type { ClusterDocument, NodeDocument } from "../../../components/aios";
import type { Received, TestServer } from "./helpers/servers";
import { loadVectors, pathOf, replay, Vector } from "./helpers/vectors";

const vectors = loadVectors();
const CLUSTER = "cluster-west-vision-001";
const TOKEN = /[a-z0-9]{6}\.[a-z0-9]{16}/;
const FAST: HttpOptions = { timeoutMs: 3000, attempts: 3, backoffMs: 5 };

interface Clients {
    registry: RegistryClient;
    parser: ParserClient;
    gateway: GatewayClient;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Case {
    index: number;
    /** Why the client does not send exactly the recorded request; absent when it must. */
    notExact?: string;
    /** Further vectors the server answers, e.g. the dry run that reveals a hidden reason. */
    alsoServe?: number[];
    call(c: Clients): Promise<unknown>;
    check(o: Outcome, received: Received[]): void;
}

/** The node document a vector sent (join: node_data; dry run: bare; parser: values.nodeData). */
function nodeOf(index: number): NodeDocument {
    const json = vectors[index].request?.json as { node_data?: NodeDocument; body?: { spec: { values: { nodeData: NodeDocument } } } };
    return json.node_data ?? json.body?.spec.values.nodeData ?? (json as NodeDocument);
}

/** The recorded response body of a vector. */
function bodyOf<T>(index: number): T {
    return vectors[index].response?.body as T;
}

/** The join command a recorded join-node answer carried. */
function joinCommandOf(index: number): string {
    return bodyOf<{ result: { join_command: string } }>(index).result.join_command;
}

function nodeIds(o: Outcome): (string | undefined)[] | undefined {
    return (ok(o) as ClusterDocument).nodes?.nodeData?.map((e) => e.id);
}
const GPU_NODE = (): NodeDocument => nodeOf(7);

function ok(o: Outcome): unknown {
    if (!o.ok) throw new assert.AssertionError({ message: `expected success, got: ${String(o.error)}` });
    return o.value;
}

function fails(o: Outcome, want: { kind: AiosError["kind"]; status?: number; service: AiosError["service"]; reason: string[] }): AiosError {
    if (o.ok) throw new assert.AssertionError({ message: `expected an AiosError, got success: ${JSON.stringify(o.value)}` });
    const e = o.error;
    assert.ok(AiosError.isInstance(e), `expected an AiosError, got ${String(e)}`);
    assert.equal(e.kind, want.kind, e.message);
    assert.equal(e.service, want.service);
    if (want.status !== undefined) assert.equal(e.status, want.status);
    for (const part of want.reason) assert.ok(e.reason.includes(part), `reason ${JSON.stringify(e.reason)} lacks ${JSON.stringify(part)}`);
    assert.match(e.message, new RegExp(`^(${e.service} |cluster ")`));
    assert.ok(e.message.includes("http://127.0.0.1:"), `message names no URL: ${e.message}`);
    assert.doesNotMatch(e.message, TOKEN, "a token leaked into the message");
    return e;
}

const cases: Case[] = [
    {
        index: 0,
        notExact: "the onboarding never creates clusters; POST /clusters answers with the same bare document as PUT, so it is decoded by putCluster",
        call: (c) => c.registry.putCluster(CLUSTER, { $set: { reputation: 0 } }),
        check: (o) => {
            const doc = ok(o) as ClusterDocument;
            assert.equal(doc.id, CLUSTER);
            assert.equal(doc.status, undefined, "`status` is stripped by the registry (contract §2.2)");
            assert.equal(doc.config?.allowExternalNodes, true);
        },
    },
    {
        index: 1,
        call: (c) => c.registry.getCluster(CLUSTER),
        check: (o) => {
            const doc = ok(o) as ClusterDocument;
            assert.equal(doc.id, CLUSTER);
            assert.deepEqual(doc.clusterMetadata?.additionalInfo, { joinCommand: "", kubeadmVersion: "v1.29.4", kubectlVersion: "v1.29.4" });
            assert.equal(doc.config?.allowExternalNodes, true);
            assert.equal(doc.config?.certHash, "4f1c9a3b5e0d7c2a9b8e6f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b");
            assert.equal(doc.config?.localNetworkHostName, "10.0.0.10");
            assert.equal(doc.config?.publicHostname, "203.0.113.10");
            assert.equal(doc.config?.urlMap?.membershipServer, "http://{membership}");
            assert.deepEqual(nodeIds(o), ["master-1"]);
            assert.equal((doc as Record<string, unknown>)._id, undefined, "Mongo's _id is not part of the parsed document");
        },
    },
    {
        index: 2,
        call: (c) => c.registry.getCluster("does-not-exist"),
        check: (o) => {
            const e = fails(o, { kind: "failed", status: 404, service: "registry", reason: ['cluster id "does-not-exist" is not in the registry', "Cluster not found"] });
            assert.match(e.message, /while reading cluster does-not-exist/);
        },
    },
    {
        index: 3,
        call: (c) => c.registry.findClusterOfNode("master-1"),
        check: (o) => assert.equal((ok(o) as { id: string }).id, CLUSTER),
    },
    {
        index: 4,
        call: (c) => c.registry.getCluster(CLUSTER),
        check: (o) => assert.deepEqual(nodeIds(o), ["master-1"]),
    },
    {
        index: 6,
        notExact: "the client always sends the nested values.nodeData shape (vector 7), never the documented flat one",
        call: (c) => c.parser.addNode(CLUSTER, GPU_NODE()),
        check: (o, received) => {
            fails(o, { kind: "http", status: 500, service: "parser", reason: ["'NoneType' object has no attribute 'get'"] });
            assert.deepEqual(received[0].body, vectors[7].request?.json, "the client sent the flat shape");
        },
    },
    {
        index: 7,
        call: (c) => c.parser.addNode(CLUSTER, GPU_NODE()),
        check: (o) => {
            const e = fails(o, { kind: "failed", status: 200, service: "parser", reason: ["Expecting value: line 1 column 1 (char 0)"] });
            assert.match(e.fix, /add-node-to-cluster/);
        },
    },
    {
        index: 8,
        notExact: "the client refuses to send a node without gpus (checked in schemas.test.ts), so a full node is sent",
        call: (c) => c.parser.addNode(CLUSTER, GPU_NODE()),
        check: (o) => void fails(o, { kind: "http", status: 500, service: "parser", reason: ["'gpus'"] }),
    },
    {
        index: 9,
        notExact: "the parser has no removeNode action (contract §3.4) and no client sends it; its 500 is decoded by addNode",
        call: (c) => c.parser.addNode(CLUSTER, GPU_NODE()),
        check: (o) => void fails(o, { kind: "http", status: 500, service: "parser", reason: ["Invalid action: removeNode"] }),
    },
    {
        index: 10,
        notExact: "the client never sends {}; the parser's 400 is decoded by addNode",
        call: (c) => c.parser.addNode(CLUSTER, GPU_NODE()),
        check: (o) => void fails(o, { kind: "http", status: 400, service: "parser", reason: ["Invalid JSON input"] }),
    },
    {
        index: 11,
        notExact: "no client calls the dead /nodes/add-node-to-cluster route; the gateway's HTML 404 page is decoded by joinNode",
        call: (c) => c.gateway.joinNode(CLUSTER, GPU_NODE(), { mode: "local_network" }),
        check: (o, received) => {
            fails(o, { kind: "http", status: 404, service: "gateway", reason: ["expected JSON", "404 Not Found"] });
            assert.equal(received.length, 1, "a 404 is not a hidden policy rejection: no dry run");
        },
    },
    {
        index: 12,
        call: (c) => c.gateway.dryRunAddNode(CLUSTER, nodeOf(12)),
        check: (o) => assert.deepEqual(ok(o), { allowed: true }),
    },
    {
        index: 13,
        notExact: "/pre-checks/add-node runs only the network policy; the client uses the dry-run route, whose answer has the same allowed flag",
        call: (c) => c.gateway.dryRunAddNode(CLUSTER, nodeOf(13)),
        check: (o) => assert.deepEqual(ok(o), { allowed: true }),
    },
    {
        index: 14,
        call: (c) => c.gateway.joinNode("nope", nodeOf(14), { mode: "local_network" }),
        check: (o, received) => {
            fails(o, { kind: "http", status: 500, service: "gateway", reason: ["Cluster data not found"] });
            assert.equal(received[1]?.path, "/pre-check-policies/add_node/dry_run/nope", "a 500 must be checked against the dry run");
        },
    },
    {
        index: 15,
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(15), { mode: "local_network" }),
        check: (o) => assert.equal(ok(o), joinCommandOf(15)),
    },
    {
        index: 18,
        call: (c) => c.registry.getCluster(CLUSTER),
        check: (o) => assert.deepEqual(nodeIds(o), ["master-1", "gpu-node-7"]),
    },
    {
        index: 19,
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(19), { mode: "public" }),
        check: (o) => assert.match(String(ok(o)), /^kubeadm join 203\.0\.113\.10:6443 --token /),
    },
    {
        index: 20,
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(20), { mode: "local_network", customIp: "wg0" }),
        check: (o) => {
            const e = fails(o, { kind: "failed", status: 200, service: "gateway", reason: ["Failed to generate join command: Cluster does not support secondary IPs"] });
            assert.match(e.fix, /secondaryIPs/);
        },
    },
    {
        index: 21,
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(21), { mode: "local_network" }),
        check: (o) => {
            const e = fails(o, { kind: "failed", status: 200, service: "gateway", reason: ["Failed to generate join command: cert hash not provided by the cluster"] });
            assert.match(e.fix, /config\.certHash/);
        },
    },
    {
        index: 22,
        alsoServe: [24],
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(22), { mode: "local_network" }),
        check: (o, received) => {
            fails(o, { kind: "rejected", status: 500, service: "gateway", reason: ["cluster policy", "node must have at least one GPU"] });
            assert.deepEqual({ ...received[1], headers: undefined }, { method: "POST", path: pathOf(vectors[24]), body: vectors[24].request?.json, headers: undefined });
        },
    },
    {
        index: 24,
        call: (c) => c.gateway.dryRunAddNode(CLUSTER, nodeOf(24)),
        check: (o) => assert.deepEqual(ok(o), { allowed: false, scope: "cluster", reason: "node must have at least one GPU" }),
    },
    {
        index: 25,
        call: (c) => c.gateway.dryRunAddNode(CLUSTER, nodeOf(25)),
        check: (o) => assert.deepEqual(ok(o), { allowed: true }),
    },
    {
        index: 26,
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(26), { mode: "local_network" }),
        check: (o) => void fails(o, { kind: "http", status: 500, service: "gateway", reason: ["500 Server Error: INTERNAL SERVER ERROR", "dry run that could explain it failed"] }),
    },
    {
        index: 27,
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(27), { mode: "local_network" }),
        check: (o) => void fails(o, { kind: "http", status: 500, service: "gateway", reason: ["500 Server Error: INTERNAL SERVER ERROR"] }),
    },
    {
        index: 28,
        notExact: "the onboarding never changes the policy map; the update route answers {map, success} like the get route, so it is decoded by getPolicyMap",
        call: (c) => c.gateway.getPolicyMap(),
        check: (o) => assert.deepEqual(ok(o), { add_node: { parameters: {}, policyRuleURI: "policies.deny-no-gpu:1.0-stable" } }),
    },
    {
        index: 29,
        call: (c) => c.gateway.getPolicyMap(),
        check: (o) => assert.deepEqual(ok(o), { add_node: { parameters: {}, policyRuleURI: "policies.deny-no-gpu:1.0-stable" } }),
    },
    {
        index: 30,
        alsoServe: [31],
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(30), { mode: "local_network" }),
        check: (o, received) => {
            fails(o, { kind: "rejected", status: 200, service: "gateway", reason: ["network policy", "node must have at least one GPU"] });
            assert.equal(received[1]?.path, pathOf(vectors[31]));
        },
    },
    {
        index: 31,
        call: (c) => c.gateway.dryRunAddNode(CLUSTER, nodeOf(31)),
        check: (o) => assert.deepEqual(ok(o), { allowed: false, scope: "network", reason: "node must have at least one GPU" }),
    },
    {
        index: 32,
        notExact: "as 28: an update-route answer decoded by getPolicyMap",
        call: (c) => c.gateway.getPolicyMap(),
        check: (o) => assert.deepEqual(ok(o), { add_node: "policies.deny-no-gpu:1.0-stable" }),
    },
    {
        index: 33,
        call: (c) => c.gateway.joinNode(CLUSTER, nodeOf(33), { mode: "local_network" }),
        check: (o) => {
            const e = fails(o, { kind: "http", status: 500, service: "gateway", reason: ["'str' object has no attribute 'get'"] });
            assert.match(e.fix, /policyRuleURI/);
        },
    },
    {
        index: 34,
        notExact: "as 28: an update-route answer decoded by getPolicyMap (it echoes the old map, contract §5.1)",
        call: (c) => c.gateway.getPolicyMap(),
        check: (o) => assert.deepEqual(ok(o), { add_node: "policies.deny-no-gpu:1.0-stable" }),
    },
    {
        index: 35,
        call: (c) => c.gateway.dryRunRemoveNode(CLUSTER, "gpu-node-7"),
        check: (o) => assert.deepEqual(ok(o), { allowed: true }),
    },
    {
        index: 36,
        call: (c) => c.gateway.removeNode(CLUSTER, "gpu-node-7"),
        check: (o) => assert.equal(ok(o), "Node 'gpu-node-7' drained. Client can now reset the node."),
    },
    {
        index: 38,
        call: (c) => c.registry.getCluster(CLUSTER),
        check: (o) => assert.deepEqual(nodeIds(o), ["master-1"]),
    },
    {
        index: 39,
        call: (c) => c.gateway.removeNode(CLUSTER, "ghost"),
        check: (o) => {
            const e = fails(o, { kind: "failed", status: 200, service: "gateway", reason: ["(404) Reason: NotFound"] });
            assert.equal(e.notInKubernetes, true);
        },
    },
    {
        index: 40,
        notExact: "no client calls sync-cluster; its JSON 500 is decoded by getPolicyMap, another retryable gateway GET",
        call: (c) => c.gateway.getPolicyMap(),
        check: (o, received) => {
            fails(o, { kind: "http", status: 500, service: "gateway", reason: ["405 Client Error: METHOD NOT ALLOWED"] });
            assert.equal(received.length, 3, "a GET answered 500 is retried up to 3 attempts");
        },
    },
];

/** Vectors that are not HTTP exchanges with the registry, parser or gateway (see the header). */
const NOT_CLIENT_HTTP = [5, 16, 17, 23, 37, 41];

/** The request body as recorded, with the gateway's default `mode` made explicit (contract §4.2). */
function expectedBody(v: Vector): unknown {
    const json = v.request?.json ?? null;
    if (pathOf(v).startsWith("/join-node/") && json !== null && typeof json === "object" && !("mode" in json)) return { ...json, mode: "local_network" };
    return json;
}

describe("AIOS clients replaying the recorded vectors", function () {
    it("covers every recorded vector exactly once", function () {
        const indices = [...cases.map((c) => c.index), ...NOT_CLIENT_HTTP].sort((a, b) => a - b);
        assert.deepEqual(indices, vectors.map((_, i) => i));
        for (const i of NOT_CLIENT_HTTP.filter((i) => ![23, 41].includes(i))) assert.equal(vectors[i].request, undefined, `vector ${i} is HTTP`);
    });

    for (const c of cases) {
        const v = vectors[c.index];
        it(`vector ${c.index} (${v.title}): ${c.notExact ? "decodes the recorded answer" : "sends the recorded request and decodes the answer"}`, async function () {
            const server: TestServer = await replay(c.notExact ? (c.alsoServe ?? []).map((i) => vectors[i]) : [v, ...(c.alsoServe ?? []).map((i) => vectors[i])], c.notExact ? v : undefined);
            try {
                const clients: Clients = {
                    registry: new RegistryClient(server.url, FAST),
                    parser: new ParserClient(server.url, FAST),
                    gateway: new GatewayClient(server.url, FAST),
                };
                const outcome: Outcome = await c.call(clients).then(
                    (value) => ({ ok: true as const, value }),
                    (error: unknown) => ({ ok: false as const, error }),
                );
                if (!c.notExact) {
                    const first = server.received[0];
                    assert.ok(first, "the client sent nothing");
                    assert.deepEqual(
                        { method: first.method, path: first.path, body: first.body },
                        { method: v.request?.method, path: pathOf(v), body: expectedBody(v) },
                        "the client's request differs from the recorded one",
                    );
                    // The parser rejects other content types with 415 (contract §3.1).
                    if (first.body !== null) assert.equal(first.headers["content-type"], "application/json");
                }
                c.check(outcome, server.received);
            } finally {
                await server.close();
            }
        });
    }
});

describe("recorded AIOS side effects agree with the clients' node and join-command handling", function () {
    const joinCommand15 = joinCommandOf(15);
    const joinCommand19 = joinCommandOf(19);

    it("vector 15: the generated join command parses into endpoint, token and CA hash", function () {
        const parsed = parseJoinCommand(joinCommand15);
        assert.equal(parsed.endpoint, "10.0.0.10:6443");
        assert.equal(parsed.token, "7xb8pe.vikdgdawt3nlwyil");
        assert.deepEqual(parsed.caCertHashes, ["sha256:4f1c9a3b5e0d7c2a9b8e6f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"]);
        assert.deepEqual(parsed.extraArgs, []);
    });

    it("vectors 15 and 16: redactSecrets removes the token the bootstrap secret holds from the join command", function () {
        const secret = vectors[16].secrets?.["kube-system/bootstrap-token-7xb8pe"];
        assert.ok(secret, "vector 16 has no bootstrap-token secret");
        const b64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");
        const token = `${b64(secret.data["token-id"])}.${b64(secret.data["token-secret"])}`;
        assert.equal(parseJoinCommand(joinCommand15).token, token, "the secret and the join command disagree");
        const redacted = redactSecrets(`join failed: ${joinCommand15}; token was ${token}`);
        assert.ok(!redacted.includes(token) && !redacted.includes(b64(secret.data["token-secret"])), redacted);
        assert.match(redacted, /--token <redacted-token> --discovery-token-ca-cert-hash sha256:4f1c/);
    });

    it("vectors 5 and 17: the label AIOS sets is nodeID=<node name>, and the node name is the id of the node document sent", function () {
        assert.deepEqual(vectors[5].k8s_log, [["patch_node", "master-1", { metadata: { labels: { nodeID: "master-1" } } }]]);
        const node = vectors[17].node;
        assert.equal(node?.name, nodeOf(15).id);
        assert.deepEqual(node?.labels, { nodeID: nodeOf(15).id });
        assert.deepEqual(vectors[17].k8s_log_tail?.[1], ["create_secret", `kube-system/bootstrap-token-${parseJoinCommand(joinCommand15).token.split(".")[0]}`]);
    });

    it("vector 37: remove-node cordons the node it was given and the secret of the second join (vector 19) is the one minted", function () {
        assert.equal(vectors[37].node?.name, (vectors[36].request?.json as { node_id: string }).node_id);
        assert.equal(vectors[37].node?.unschedulable, true);
        assert.deepEqual(vectors[37].k8s_log_tail?.[0], ["create_secret", `kube-system/bootstrap-token-${parseJoinCommand(joinCommand19).token.split(".")[0]}`]);
    });

    it("vector 23: the reason the membership server hides behind the gateway's 500 is the one the dry run gives the client (vector 24)", async function () {
        const server = await replay([vectors[22], vectors[24]]);
        try {
            const gateway = new GatewayClient(server.url, FAST);
            const err = await gateway.joinNode(CLUSTER, nodeOf(22), { mode: "local_network" }).then(
                () => assert.fail("join-node should be rejected"),
                (e: unknown) => e as AiosError,
            );
            const hidden = bodyOf<{ error: string }>(23).error;
            assert.equal(hidden, "{'reason': 'node must have at least one GPU'}");
            assert.ok(err.reason.endsWith("node must have at least one GPU") && hidden.includes("node must have at least one GPU"));
        } finally {
            await server.close();
        }
    });

    it("vector 41: the membership sync's document parses as a cluster document and shows the removed node re-added (contract §7)", function () {
        const parsed = parseClusterDocument(bodyOf<{ data: unknown }>(41).data);
        assert.ok(parsed.ok, parsed.ok ? "" : parsed.problems.join("; "));
        assert.deepEqual(parsed.value.nodes?.nodeData?.map((e) => e.id), ["master-1", "gpu-node-7"]);
    });
});
