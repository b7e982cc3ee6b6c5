/**
 * Behaviour of the AIOS stand-ins beyond the recorded vectors: the labelling waiter (exact node
 * name, Ready, window from issuance, "never"), registry faults (down/ok, error500, slow,
 * malformed), persistence across a restart, the registry's Mongoose semantics, the parser's
 * "intended" addNode, policies set through the control API, Kubernetes credentials, and the
 * process entry point.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { KubeClient } from "../../../world/aios/kube";
import { startAiosWorld, type AiosWorld } from "../../../world/aios/server";
import type { WorldConfigInput } from "../../../world/aios/config";
import { FakeKube, makeCerts, type Certs } from "./fakeKube";
import { send, sleep, waitFor } from "./helpers";

const CID = "cluster-a";
const CERT_HASH = "4f1c9a3b5e0d7c2a9b8e6f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";

function seedCluster(id = CID): Record<string, unknown> {
    return {
        id,
        regionId: "local",
        status: "live",
        nodes: { count: 0, nodeData: [] },
        gpus: { count: 0, memory: 0 },
        vcpus: { count: 0 },
        memory: 0,
        swap: 0,
        storage: { disks: 0, size: 0 },
        network: { interfaces: 0, txBandwidth: 0, rxBandwidth: 0 },
        config: {
            allowExternalNodes: true,
            certHash: CERT_HASH,
            localNetworkHostName: "10.0.0.10",
            publicHostname: "203.0.113.10",
            actionsPolicyMap: {},
            urlMap: { membershipServer: "http://{membership}" },
        },
        tags: ["local"],
        clusterMetadata: { name: id, description: "test", owner: "tests", additionalInfo: { kubeadmVersion: "v1.30.2", joinCommand: "kubeadm join 10.0.0.10:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + CERT_HASH } },
        reputation: 0,
    };
}

function node(id: string, gpus = 1): Record<string, unknown> {
    return {
        id,
        gpus: { count: gpus, memory: gpus * 24576, gpus: gpus ? [{ modelName: "NVIDIA L4", memory: 24576 }] : [], features: [], modelNames: gpus ? ["NVIDIA L4"] : [] },
        vcpus: { count: 4 },
        memory: 8000,
        swap: 0,
        storage: { disks: 1, size: 100000 },
        network: { interfaces: 1, txBandwidth: 0, rxBandwidth: 0 },
        tags: [],
        nodeMetadata: {},
    };
}

interface Env {
    world: AiosWorld;
    kube: FakeKube;
    tmp: string;
    url(svc: "registry" | "parser" | "gateway" | "membership" | "control", p: string): string;
    faults(body: unknown): Promise<void>;
    cluster(id?: string): Promise<{ nodes: { count: number; nodeData: Record<string, unknown>[] }; [k: string]: unknown }>;
    stop(): Promise<void>;
}

async function startEnv(over: Partial<WorldConfigInput> = {}, kube = new FakeKube({ kind: "none" })): Promise<Env> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-world-behaviour-"));
    await kube.start();
    kube.writeKubeconfig(path.join(tmp, "admin.kubeconfig"));
    const world = await startAiosWorld(
        {
            listen: "127.0.0.1",
            ports: { registry: 0, parser: 0, gateway: 0, membership: 0, control: 0 },
            kubeconfig: path.join(tmp, "admin.kubeconfig"),
            stateFile: path.join(tmp, "state.json"),
            seedClusters: [seedCluster()],
            waiterWindowSeconds: 300,
            waiterPollSeconds: 0.05,
            ...over,
        },
        { log: () => undefined },
    );
    const env: Env = {
        world,
        kube,
        tmp,
        url: (svc, p) => `http://127.0.0.1:${world.ports[svc]}${p}`,
        async faults(body) {
            const r = await send("POST", env.url("control", "/_world/faults"), body);
            assert.equal(r.status, 200, r.text);
        },
        async cluster(id = CID) {
            const r = await send("GET", env.url("registry", `/clusters/${id}`));
            assert.equal(r.status, 200, r.text);
            return r.json as Awaited<ReturnType<Env["cluster"]>>;
        },
        async stop() {
            await world.stop();
            await kube.stop();
            fs.rmSync(tmp, { recursive: true, force: true });
        },
    };
    return env;
}

async function join(env: Env, id: string, extra: Record<string, unknown> = {}) {
    return send("POST", env.url("gateway", `/join-node/${CID}`), { node_data: node(id), mode: "local_network", ...extra });
}

const waiterOf = (env: Env, id: string) => env.world.state().waiters.find((w) => w.nodeId === id);

describe("AIOS world: the Cluster Controller waiter", function () {
    this.timeout(20000);
    let env: Env;
    beforeEach(async () => (env = await startEnv()));
    afterEach(() => env.stop());

    it("labels the Node named exactly the node id once it is Ready, and appends the node to the registry", async () => {
        const r = await join(env, "edge-1");
        assert.equal(r.status, 200);
        env.kube.addNode("edge-1-host", { ready: true }); // another name: never looked at
        env.kube.addNode("edge-1", { ready: false });
        await sleep(300);
        assert.equal(env.kube.labels("edge-1").nodeID, undefined, "not labelled while NotReady");
        assert.equal(waiterOf(env, "edge-1")?.state, "waiting");
        env.kube.setReady("edge-1", true);
        await waitFor("label", () => (env.kube.labels("edge-1").nodeID === "edge-1" ? true : undefined));
        assert.equal(env.kube.labels("edge-1-host").nodeID, undefined);
        await waitFor("registry append", () => (waiterOf(env, "edge-1")?.registryUpdated ? true : undefined));
        const doc = await env.cluster();
        assert.deepEqual(doc.nodes.nodeData, [{ ...node("edge-1"), cluster_id: CID }]);
        assert.equal(doc.nodes.count, 1);
        assert.deepEqual(doc.gpus, { count: 1, memory: 24576 }, "totals recomputed, gpus.modelNames dropped by strict mode");
        const w = waiterOf(env, "edge-1")!;
        assert.ok(w.issuedAt <= w.readyAt! && w.readyAt! <= w.labelledAt!, JSON.stringify(w));
        assert.match(w.tokenId ?? "", /^[a-z0-9]{6}$/);
    });

    it("never labels a node that becomes Ready after the window, counted from issuance of the join command", async () => {
        await env.faults({ controller: { windowSeconds: 0.4 } });
        await join(env, "late-1");
        await sleep(700);
        env.kube.addNode("late-1", { ready: true });
        await waitFor("timeout", () => (waiterOf(env, "late-1")?.state === "timed-out" ? true : undefined));
        await sleep(200);
        assert.equal(env.kube.labels("late-1").nodeID, undefined);
        assert.equal((await env.cluster()).nodes.count, 0);
    });

    it("labels a node that becomes Ready inside the window even though it appeared late", async () => {
        await env.faults({ controller: { windowSeconds: 2 } });
        await join(env, "quick-1");
        await sleep(500);
        env.kube.addNode("quick-1", { ready: true });
        await waitFor("label", () => (env.kube.labels("quick-1").nodeID === "quick-1" ? true : undefined));
    });

    it('with labelling "never" sees the node Ready but never labels it nor registers it', async () => {
        await env.faults({ controller: { labelling: "never" } });
        await join(env, "nolabel-1");
        env.kube.addNode("nolabel-1", { ready: true });
        await waitFor("waiter to give up labelling", () => (waiterOf(env, "nolabel-1")?.state === "not-labelled" ? true : undefined));
        await sleep(200);
        assert.equal(env.kube.labels("nolabel-1").nodeID, undefined);
        assert.ok(!env.kube.log.some((e) => e[0] === "patch_node"), JSON.stringify(env.kube.log));
        assert.equal((await env.cluster()).nodes.count, 0);
    });

    it("creates a non-expiring bootstrap-token Secret matching the returned join command, per join (no duplicate check)", async () => {
        const a = (await join(env, "dup-1")).json as { result: { join_command: string } };
        const b = (await join(env, "dup-1", { mode: "public" })).json as { result: { join_command: string } };
        const ta = /--token ([a-z0-9]{6})\.([a-z0-9]{16}) /.exec(a.result.join_command)!;
        assert.match(a.result.join_command, new RegExp(`^kubeadm join 10\\.0\\.0\\.10:6443 --token [a-z0-9]{6}\\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:${CERT_HASH}$`));
        assert.match(b.result.join_command, /^kubeadm join 203\.0\.113\.10:6443 /);
        const secret = env.kube.secrets.get(`kube-system/bootstrap-token-${ta[1]}`) as { type: string; data: Record<string, string> };
        const dec = Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
        assert.equal(secret.type, "bootstrap.kubernetes.io/token");
        assert.deepEqual(dec, { "token-id": ta[1], "token-secret": ta[2], "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true", "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token" });
        assert.equal(env.kube.secrets.size, 2);
        env.kube.addNode("dup-1", { ready: true });
        await waitFor("both waiters", () => (env.world.state().waiters.filter((w) => w.registryUpdated).length === 2 ? true : undefined));
        assert.deepEqual((await env.cluster()).nodes.nodeData.map((n) => n.id), ["dup-1", "dup-1"]);
    });

    it("joins through a secondary IP named by custom_ip", async () => {
        const put = await send("PUT", env.url("registry", `/clusters/${CID}`), { $set: { "config.secondaryIPs": { wg0: "100.64.0.1" } } });
        assert.equal(put.status, 200);
        const ok = (await join(env, "vpn-1", { custom_ip: "wg0" })).json as { result: { join_command: string } };
        assert.match(ok.result.join_command, /^kubeadm join 100\.64\.0\.1:6443 /);
        const missing = await join(env, "vpn-2", { custom_ip: "wg9" });
        assert.deepEqual(missing.json, { result: { error: "Failed to generate join command: Secondary IP wg9 not provided", success: false }, success: true });
    });
});

describe("AIOS world: remove-node drains without deleting the Node", function () {
    this.timeout(20000);
    let env: Env;
    beforeEach(async () => (env = await startEnv()));
    afterEach(() => env.stop());

    it("cordons, evicts only controller-owned non-DaemonSet pods, removes every registry entry with that id", async () => {
        await join(env, "w-1");
        env.kube.addNode("w-1", { ready: true });
        await waitFor("registered", () => (waiterOf(env, "w-1")?.registryUpdated ? true : undefined));
        env.kube.addPod("blocks", "inst-1", "w-1", { kind: "ReplicaSet", name: "rs" });
        env.kube.addPod("default", "job-1", "w-1", { kind: "Job", name: "j" });
        env.kube.addPod("kube-system", "ds-1", "w-1", { kind: "DaemonSet", name: "ds" });
        env.kube.addPod("kube-system", "static-1", "w-1");
        env.kube.addPod("blocks", "elsewhere", "w-2", { kind: "ReplicaSet", name: "rs" });
        const r = await send("POST", env.url("gateway", `/remove-node/${CID}`), { node_id: "w-1" });
        assert.deepEqual(r.json, { result: { message: "Node 'w-1' drained. Client can now reset the node.", success: true }, success: true });
        assert.deepEqual(
            env.kube.log.filter((e) => e[0] !== "create_secret" && !(e[0] === "patch_node" && JSON.stringify(e[2]).includes("nodeID"))),
            [["patch_node", "w-1", { spec: { unschedulable: true } }], ["evict", "blocks/inst-1"], ["evict", "default/job-1"]],
        );
        const evictions = env.kube.requests.filter((q) => q.path.endsWith("/eviction"));
        assert.equal(evictions.length, 2);
        assert.ok(env.kube.node("w-1"), "the Node object is left in place");
        assert.equal((await env.cluster()).nodes.count, 0);
    });

    it("answers 200 with result.success false for a node Kubernetes does not know", async () => {
        const r = await send("POST", env.url("gateway", `/remove-node/${CID}`), { node_id: "ghost" });
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, { result: { message: "(404) Reason: NotFound", success: false }, success: true });
    });
});

describe("AIOS world: policies set through the control API surface as in the real services", function () {
    this.timeout(20000);
    let env: Env;
    beforeEach(async () => (env = await startEnv()));
    afterEach(() => env.stop());

    it("a network add_node deny answers 200 allowed:false without the reason; only the dry run gives it", async () => {
        await env.faults({ policies: { network: { add_node: { deny: "network is full" } } } });
        const r = await join(env, "n-1");
        assert.deepEqual(r.json, { allowed: false, message: "Join not allowed by policy", success: true });
        const dry = await send("POST", env.url("gateway", `/pre-check-policies/add_node/dry_run/${CID}`), node("n-1"));
        assert.deepEqual(dry.json, { allowed: false, data: { reason: "network is full" }, success: true });
        const pre = await send("POST", env.url("gateway", `/pre-checks/add-node/${CID}`), node("n-1"));
        assert.deepEqual(pre.json, { allowed: false, message: "Node addition not allowed by policy", success: true });
        assert.equal(env.kube.secrets.size, 0);
    });

    it("a cluster add_node deny is a hidden 500 at the gateway, the reason only in the dry run's cluster_response", async () => {
        await env.faults({ policies: { [`cluster:${CID}`]: { add_node: { deny: "cluster is full" } } } });
        const r = await join(env, "c-1");
        assert.equal(r.status, 500);
        assert.deepEqual(r.json, { error: `500 Server Error: INTERNAL SERVER ERROR for url: http://127.0.0.1:${env.world.ports.membership}/join-node`, success: false });
        const dry = await send("POST", env.url("gateway", `/pre-check-policies/add_node/dry_run/${CID}`), node("c-1"));
        assert.deepEqual((dry.json as { cluster_response: unknown }).cluster_response, { allowed: false, node_data: { reason: "cluster is full" }, success: true });
        const state = (await send("GET", env.url("control", "/_world/state"))).json as { policies: { clusters: Record<string, unknown> } };
        assert.deepEqual(state.policies.clusters[CID], { add_node: { policyRuleURI: "aios-world.policies.deny:v1-stable", parameters: { reason: "cluster is full" } } });
    });

    it('"malformed" network and cluster entries fail with the AttributeError text, hidden behind the gateway for the cluster', async () => {
        await env.faults({ policies: { network: { add_node: "malformed" } } });
        assert.deepEqual((await join(env, "m-1")).json, { error: "'str' object has no attribute 'get'", success: false });
        await env.faults({ policies: { network: { add_node: null }, [`cluster:${CID}`]: { add_node: "malformed" } } });
        const r = await join(env, "m-1");
        assert.equal(r.status, 500);
        assert.match(String((r.json as { error: string }).error), /^500 Server Error: INTERNAL SERVER ERROR for url: /);
        const direct = await send("POST", env.url("membership", "/join-node"), { node_data: node("m-1") });
        assert.deepEqual(direct.json, { error: "'str' object has no attribute 'get'", success: false });
    });

    it("remove_node policies: network deny answers 200 allowed:false, cluster deny is a hidden 500 and nothing is cordoned", async () => {
        env.kube.addNode("r-1", { ready: true });
        await env.faults({ policies: { network: { remove_node: { deny: "keep it" } } } });
        const net = await send("POST", env.url("gateway", `/remove-node/${CID}`), { node_id: "r-1" });
        assert.deepEqual(net.json, { allowed: false, message: "Node removal not allowed by policy", success: true });
        await env.faults({ policies: { network: { remove_node: null }, [`cluster:${CID}`]: { remove_node: { deny: "blocks running" } } } });
        const cl = await send("POST", env.url("gateway", `/remove-node/${CID}`), { node_id: "r-1" });
        assert.equal(cl.status, 500);
        assert.match(String((cl.json as { error: string }).error), /INTERNAL SERVER ERROR for url: .*\/remove-node$/);
        const direct = await send("POST", env.url("membership", "/remove-node"), { node_id: "r-1" });
        assert.deepEqual(direct.json, { error: "{'reason': 'blocks running'}", success: false });
        const dry = await send("POST", env.url("gateway", `/pre-check-policies/remove_node/dry_run/${CID}/r-1`), {});
        assert.deepEqual(dry.json, { allowed: true, cluster_response: { allowed: false, node_id: { reason: "blocks running" }, success: true }, data: "r-1", success: true });
        assert.ok(!env.kube.log.some((e) => e[0] === "patch_node"));
    });
});

describe("AIOS world: registry faults", function () {
    this.timeout(20000);
    let env: Env;
    beforeEach(async () => (env = await startEnv()));
    afterEach(() => env.stop());

    it('"down" closes the listener (ECONNREFUSED) and "ok" reopens it on the same port with the data intact', async () => {
        const before = await env.cluster();
        await env.faults({ registry: { mode: "down" } });
        await assert.rejects(send("GET", env.url("registry", `/clusters/${CID}`)), (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED");
        const viaGateway = await join(env, "x-1");
        assert.deepEqual(viaGateway.json, { error: "Cluster data not found", success: false });
        const parser = await send("POST", env.url("parser", "/api/addNode"), { header: { templateUri: "Parser/V1" }, body: { spec: { values: { clusterId: CID, nodeData: node("x-1") } } } });
        assert.deepEqual(parser.json, { result: [false, "Expecting value: line 1 column 1 (char 0)"], success: true, task_id: "" });
        await env.faults({ registry: { mode: "ok" } });
        assert.deepEqual(await env.cluster(), before);
    });

    it('"error500" answers every route 500 with a Mongoose buffering error', async () => {
        await env.faults({ registry: { mode: "error500" } });
        const r = await send("GET", env.url("registry", `/clusters/${CID}`));
        assert.equal(r.status, 500);
        assert.deepEqual(r.json, { error: "Operation `clusters.findOne()` buffering timed out after 10000ms" });
        const q = await send("POST", env.url("registry", "/clusters/query"), { query: {} });
        assert.deepEqual(q.json, { error: "Operation `clusters.find()` buffering timed out after 10000ms" });
    });

    it('"slow" delays answers by delayMs', async () => {
        await env.faults({ registry: { mode: "slow", delayMs: 400 } });
        const t0 = Date.now();
        const r = await send("GET", env.url("registry", `/clusters/${CID}`));
        assert.equal(r.status, 200);
        assert.ok(Date.now() - t0 >= 380, `took ${Date.now() - t0} ms`);
    });

    it('"malformed" serves GET /clusters/:id with additionalInfo as a string and nodeData as an object', async () => {
        await join(env, "mal-1");
        env.kube.addNode("mal-1", { ready: true });
        await waitFor("registered", () => (waiterOf(env, "mal-1")?.registryUpdated ? true : undefined));
        await env.faults({ registry: { mode: "malformed" } });
        const doc = (await send("GET", env.url("registry", `/clusters/${CID}`))).json as { clusterMetadata: { additionalInfo: unknown }; nodes: { nodeData: unknown } };
        assert.equal(typeof doc.clusterMetadata.additionalInfo, "string");
        assert.ok(typeof doc.nodes.nodeData === "object" && !Array.isArray(doc.nodes.nodeData));
        assert.deepEqual(Object.keys(doc.nodes.nodeData as object), ["mal-1"]);
        const list = (await send("POST", env.url("registry", "/clusters/query"), {})).json as { nodes: { nodeData: unknown } }[];
        assert.ok(Array.isArray(list[0].nodes.nodeData), "only GET /clusters/:id is malformed");
    });
});

describe("AIOS world: registry semantics (Express + Mongoose)", function () {
    this.timeout(20000);
    let env: Env;
    before(async () => (env = await startEnv({ seedClusters: [seedCluster("cluster-a"), { ...seedCluster("cluster-b"), gpus: { count: 4, memory: 98304 }, tags: ["gpu"] }] })));
    after(() => env.stop());
    const reg = (p: string) => env.url("registry", p);

    it("POST /clusters answers 200, strips keys outside the schema, adds _id and __v", async () => {
        const body = { ...seedCluster("cluster-c"), status: "live", extra: 1, gpus: { count: 1, memory: 2, modelNames: ["x"] } };
        const r = await send("POST", reg("/clusters"), body);
        assert.equal(r.status, 200);
        const doc = r.json as Record<string, unknown>;
        assert.match(String(doc._id), /^[0-9a-f]{24}$/);
        assert.equal(doc.__v, 0);
        assert.equal(doc.status, undefined);
        assert.equal(doc.extra, undefined);
        assert.deepEqual(doc.gpus, { count: 1, memory: 2 });
    });

    it("POST /clusters reports missing required fields and duplicates as 500 with Mongoose/MongoDB messages", async () => {
        const { regionId: _r, reputation: _p, ...partial } = seedCluster("cluster-d");
        void _r;
        void _p;
        const r = await send("POST", reg("/clusters"), partial);
        assert.equal(r.status, 500);
        assert.deepEqual(r.json, { error: "Cluster validation failed: regionId: Path `regionId` is required., reputation: Path `reputation` is required." });
        const dup = await send("POST", reg("/clusters"), seedCluster("cluster-a"));
        assert.equal(dup.status, 500);
        assert.deepEqual(dup.json, { error: 'E11000 duplicate key error collection: test.clusters index: id_1 dup key: { id: "cluster-a" }' });
    });

    it("POST /clusters/query reads body.query: undefined returns everything; operators and array paths match", async () => {
        const ids = async (body: unknown) => ((await send("POST", reg("/clusters/query"), body)).json as { id: string }[]).map((d) => d.id);
        assert.deepEqual(await ids({ "gpus.count": { $gte: 2 } }), ["cluster-a", "cluster-b", "cluster-c"], "bare filter (the docs' example) -> find(undefined)");
        assert.deepEqual(await ids({ query: { "gpus.count": { $gte: 2 } } }), ["cluster-b"]);
        assert.deepEqual(await ids({ query: { "gpus.count": { $gt: 0, $lte: 1 } } }), ["cluster-c"]);
        assert.deepEqual(await ids({ query: { id: { $in: ["cluster-a", "nope"] } } }), ["cluster-a"]);
        assert.deepEqual(await ids({ query: { tags: "gpu" } }), ["cluster-b"], "array element equality");
        assert.deepEqual(await ids({ query: { id: { $ne: "cluster-a" }, "gpus.count": { $lt: 4 } } }), ["cluster-c"]);
        await send("PUT", reg("/clusters/cluster-a"), { $set: { "nodes.nodeData": [{ id: "n-7" }, { id: "n-8" }], "nodes.count": 2 } });
        assert.deepEqual(await ids({ query: { "nodes.nodeData.id": "n-8" } }), ["cluster-a"]);
        assert.deepEqual(await ids({ query: { "nodes.nodeData.id": { $eq: "n-9" } } }), []);
        const bad = await send("POST", reg("/clusters/query"), { query: { id: { $bogus: 1 } } });
        assert.equal(bad.status, 500);
    });

    it("PUT /clusters/:id applies $set dotted paths, wraps operator-less bodies in $set, drops non-schema paths", async () => {
        const r1 = await send("PUT", reg("/clusters/cluster-b"), { $set: { "config.urlMap.membershipServer": "http://x:1", "gpus.modelNames": ["y"], memory: "2048" } });
        const d1 = r1.json as { config: { urlMap: Record<string, string> }; gpus: Record<string, unknown>; memory: number };
        assert.equal(d1.config.urlMap.membershipServer, "http://x:1");
        assert.equal(d1.gpus.modelNames, undefined);
        assert.equal(d1.memory, 2048, "cast to Number");
        const r2 = await send("PUT", reg("/clusters/cluster-b"), { reputation: 5, status: "dead" });
        assert.equal((r2.json as Record<string, unknown>).reputation, 5);
        assert.equal((r2.json as Record<string, unknown>).status, undefined);
        const r3 = await send("PUT", reg("/clusters/cluster-b"), { $set: { memory: "lots" } });
        assert.equal(r3.status, 500);
        assert.deepEqual(r3.json, { error: 'Cast to Number failed for value "lots" (type string) at path "memory"' });
        const missing = await send("PUT", reg("/clusters/nope"), { $set: { memory: 1 } });
        assert.deepEqual([missing.status, missing.json], [404, { error: "Cluster not found" }]);
    });

    it("malformed JSON gets Express's HTML 400 page, /groups routes 500, unknown routes Express's 404 page", async () => {
        const bad = await send("POST", reg("/clusters"), undefined, { raw: '{"id": ' });
        assert.equal(bad.status, 400);
        assert.match(bad.text, /^<!DOCTYPE html>[\s\S]*<pre>SyntaxError: [^<]+<\/pre>/);
        const g = await send("GET", reg("/groups/g1"));
        assert.deepEqual([g.status, g.json], [500, { error: "groupService is not defined" }]);
        const nf = await send("GET", reg("/clusters"));
        assert.equal(nf.status, 404);
        assert.match(nf.text, /<pre>Cannot GET \/clusters<\/pre>/);
    });

    it("DELETE /clusters/:id answers {message: Cluster deleted}, then 404", async () => {
        assert.deepEqual((await send("DELETE", reg("/clusters/cluster-c"))).json, { message: "Cluster deleted" });
        const again = await send("DELETE", reg("/clusters/cluster-c"));
        assert.deepEqual([again.status, again.json], [404, { error: "Cluster not found" }]);
    });
});

describe("AIOS world: state file, reset and the parser", function () {
    this.timeout(20000);

    it("keeps registry state across a restart through the state file (same _id), and reset returns to the seed", async () => {
        const env = await startEnv();
        const stateFile = path.join(env.tmp, "state.json");
        const created = (await send("POST", env.url("registry", "/clusters"), seedCluster("cluster-new"))).json as { _id: string };
        await send("PUT", env.url("registry", `/clusters/${CID}`), { $set: { reputation: 7 } });
        await env.world.stop();
        const keep = path.join(os.tmpdir(), `aios-world-keep-${process.pid}.json`);
        fs.copyFileSync(stateFile, keep);
        await env.kube.stop();
        fs.rmSync(env.tmp, { recursive: true, force: true });

        const env2 = await startEnv({ stateFile: keep });
        try {
            const doc = (await send("GET", env2.url("registry", "/clusters/cluster-new"))).json as { _id: string };
            assert.equal(doc._id, created._id);
            assert.equal((await env2.cluster()).reputation, 7);
            await env2.faults({ registry: { mode: "malformed" }, parser: { addNode: "intended" } });
            assert.equal((await send("POST", env2.url("control", "/_world/reset"), {})).status, 200);
            assert.equal((await send("GET", env2.url("registry", "/clusters/cluster-new"))).status, 404);
            assert.equal((await env2.cluster()).reputation, 0);
            const state = (await send("GET", env2.url("control", "/_world/state"))).json as { faults: unknown; counters: Record<string, number> };
            assert.deepEqual(state.faults, { registry: { mode: "ok", delayMs: 0 }, parser: { addNode: "head" }, controller: { labelling: "on" } });
            assert.equal(JSON.parse(fs.readFileSync(keep, "utf8")).clusters.length, 1, "reset is written through");
        } finally {
            await env2.stop();
            fs.rmSync(keep, { force: true });
        }
    });

    it('parser addNode "intended": network then cluster policy, reason in result[1]; else the node is appended and labelled when Ready', async () => {
        const env = await startEnv({ parserAddNode: "intended" });
        try {
            const add = (n: Record<string, unknown>) => send("POST", env.url("parser", "/api/addNode"), { header: { templateUri: "Parser/V1", parameters: {} }, body: { spec: { values: { clusterId: CID, nodeData: n } } } });
            await env.faults({ policies: { network: { add_node: { deny: "network says no" } } } });
            assert.deepEqual((await add(node("p-1"))).json, { result: [false, "network says no"], success: true, task_id: "" });
            await env.faults({ policies: { network: { add_node: null }, [`cluster:${CID}`]: { add_node: "deny-no-gpu" } } });
            assert.deepEqual((await add(node("p-1", 0))).json, { result: [false, "node must have at least one GPU"], success: true, task_id: "" });
            const ok = (await add(node("p-1"))).json as { success: boolean; result: { nodes: { nodeData: Record<string, unknown>[]; count: number } } };
            assert.equal(ok.success, true);
            assert.deepEqual(ok.result.nodes.nodeData, [{ ...node("p-1"), cluster_id: CID }]);
            assert.equal(ok.result.nodes.count, 1);
            env.kube.addNode("p-1", { ready: true });
            await waitFor("label", () => (env.kube.labels("p-1").nodeID === "p-1" ? true : undefined));
            await sleep(150);
            assert.equal((await env.cluster()).nodes.count, 1, "the label does not append a second entry");
            await env.faults({ parser: { addNode: "head" } });
            assert.deepEqual((await add(node("p-2"))).json, { result: [false, "Expecting value: line 1 column 1 (char 0)"], success: true, task_id: "" });
            const nonJson = await send("POST", env.url("parser", "/api/addNode"), undefined, { raw: "a=b", contentType: "application/x-www-form-urlencoded" });
            assert.deepEqual([nonJson.status, nonJson.json], [500, { error: "415 Unsupported Media Type: Did not attempt to load JSON data because the request Content-Type was not 'application/json'." }]);
            const counters = env.world.state().counters;
            assert.equal(counters["parser POST /api/:action"], 5);
            assert.equal(counters["gateway POST (unmatched)"], 1, "HEAD mode really called the gateway's dead route");
        } finally {
            await env.stop();
        }
    });

    it("the gateway has no /nodes/... routes (Flask 404 page) and answers a wrong method with 405", async () => {
        const env = await startEnv();
        try {
            const r = await send("GET", env.url("gateway", `/nodes/remove-node-from-cluster/${CID}/x`));
            assert.equal(r.status, 404);
            assert.match(r.text, /<title>404 Not Found<\/title>/);
            const m = await send("GET", env.url("gateway", `/join-node/${CID}`));
            assert.equal(m.status, 405);
        } finally {
            await env.stop();
        }
    });
});

describe("AIOS world: the membership server's start-up routine", function () {
    this.timeout(20000);

    it("is off by default: existing Nodes keep their labels and the seed's nodeData stays", async () => {
        const kube = new FakeKube({ kind: "none" });
        kube.addNode("old-1", { ready: true });
        const env = await startEnv({ seedClusters: [{ ...seedCluster(), nodes: { count: 1, nodeData: [node("seed-1")] } }] }, kube);
        try {
            assert.deepEqual(kube.log, []);
            assert.deepEqual((await env.cluster()).nodes.nodeData.map((n) => n.id), ["seed-1"]);
        } finally {
            await env.stop();
        }
    });

    it("membershipStartup labels every Node nodeID=<name> and rebuilds nodeData from Kubernetes; a restart loses waiters", async () => {
        const kube = new FakeKube({ kind: "none" });
        kube.addNode("old-1", { ready: true, labels: { nodeID: "custom" }, capacity: { cpu: "4", memory: "8192Mi" } });
        const env = await startEnv({ membershipStartup: true, seedClusters: [{ ...seedCluster(), nodes: { count: 1, nodeData: [node("seed-1")] } }] }, kube);
        try {
            assert.equal(kube.labels("old-1").nodeID, "old-1", "overwrites a custom nodeID");
            const doc = await env.cluster();
            assert.deepEqual(doc.nodes.nodeData, [
                { id: "old-1", gpus: { count: 0, memory: 0, gpus: [], features: [], modelNames: [] }, vcpus: { count: 4 }, memory: 8192, swap: 0, storage: { disks: 1, size: 512000 }, network: { interfaces: 1, txBandwidth: 10000, rxBandwidth: 10000 } },
            ]);
            await join(env, "pending-1");
            assert.equal(waiterOf(env, "pending-1")?.state, "waiting");
            assert.equal((await send("POST", env.url("control", "/_world/membership/restart"), {})).status, 200);
            await waitFor("cancelled waiter", () => (waiterOf(env, "pending-1")?.state === "cancelled" ? true : undefined));
            kube.addNode("pending-1", { ready: true });
            await sleep(300);
            assert.equal(kube.labels("pending-1").nodeID, undefined);
        } finally {
            await env.stop();
        }
    });
});

describe("AIOS world: Kubernetes credentials from the kubeconfig", function () {
    this.timeout(30000);
    let certs: Certs;
    before(() => (certs = makeCerts()));
    after(() => fs.rmSync(certs.dir, { recursive: true, force: true }));

    it("authenticates with a client certificate over https verified against the kubeconfig's CA", async () => {
        const env = await startEnv({}, new FakeKube({ kind: "client-cert" }, certs));
        try {
            const r = await join(env, "tls-1");
            assert.equal((r.json as { result: { success: boolean } }).result.success, true, r.text);
            assert.equal(env.kube.secrets.size, 1);
            assert.ok(env.kube.requests.every((q) => q.auth === "cert:kubernetes-admin"), JSON.stringify(env.kube.requests));
            assert.ok(env.kube.requests.some((q) => q.method === "POST" && q.path === "/api/v1/namespaces/kube-system/secrets"));
        } finally {
            await env.stop();
        }
    });

    it("authenticates with a bearer token and refuses a server whose certificate the CA did not sign", async () => {
        const kube = new FakeKube({ kind: "token", token: "t0k" }, certs);
        await kube.start();
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-world-kc-"));
        try {
            kube.addNode("n1");
            const good = path.join(tmp, "good.yaml");
            kube.writeKubeconfig(good);
            const client = KubeClient.fromFile(good);
            assert.equal(((await client.readNode("n1")).metadata as { name: string }).name, "n1");
            assert.equal(kube.requests[0].auth, "token");
            const other = makeCerts();
            const bad = path.join(tmp, "bad.yaml");
            fs.writeFileSync(bad, fs.readFileSync(good, "utf8").replace(certs.ca.toString("base64"), other.ca.toString("base64")));
            fs.rmSync(other.dir, { recursive: true, force: true });
            await assert.rejects(KubeClient.fromFile(bad).readNode("n1"));
            await assert.rejects(client.readNode("nope"), /\(404\) Reason: NotFound/);
        } finally {
            await kube.stop();
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});

describe("AIOS world: the process entry point (world/aios/main.ts)", function () {
    this.timeout(60000);

    async function launch(config: unknown) {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-world-main-"));
        const file = path.join(tmp, "config.json");
        fs.writeFileSync(file, JSON.stringify(config));
        const root = path.resolve(__dirname, "../../..");
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "world/aios/main.ts", "--config", file], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        const lines = readline.createInterface({ input: child.stdout });
        const first = await Promise.race([
            new Promise<string>((resolve) => lines.once("line", resolve)),
            exited.then((code) => {
                throw new Error(`exited ${code} before ready: ${stderr}`);
            }),
        ]);
        return { child, exited, ready: JSON.parse(first) as { ready: boolean; ports: Record<string, number> }, tmp, stderr: () => stderr };
    }

    const baseConfig = (tmp: string) => ({
        listen: "127.0.0.1",
        ports: { registry: 0, parser: 0, gateway: 0, membership: 0, control: 0 },
        stateFile: path.join(tmp, "state.json"),
        seedClusters: [seedCluster()],
        waiterWindowSeconds: 300,
        waiterPollSeconds: 1,
    });

    it('prints {"ready": true, "ports"} once listening, serves the control API, and exits 0 on SIGTERM', async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-world-main-cfg-"));
        const p = await launch(baseConfig(tmp));
        try {
            assert.equal(p.ready.ready, true);
            for (const k of ["registry", "parser", "gateway", "membership", "control"]) assert.ok(p.ready.ports[k] > 0, k);
            const state = (await send("GET", `http://127.0.0.1:${p.ready.ports.control}/_world/state`)).json as { clusters: { id: string }[] };
            assert.deepEqual(state.clusters.map((c) => c.id), [CID]);
            await waitFor("stderr ready marker", () => (p.stderr().includes('{"ready":true}') ? true : undefined));
            p.child.kill("SIGTERM");
            assert.equal(await p.exited, 0);
            assert.match(p.stderr(), /stopping \(SIGTERM\)/);
        } finally {
            p.child.kill("SIGKILL");
            fs.rmSync(tmp, { recursive: true, force: true });
            fs.rmSync(p.tmp, { recursive: true, force: true });
        }
    });

    it("exits 0 on POST /_world/stop", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-world-main-cfg-"));
        const p = await launch(baseConfig(tmp));
        try {
            const r = await send("POST", `http://127.0.0.1:${p.ready.ports.control}/_world/stop`, {});
            assert.deepEqual(r.json, { stopping: true });
            assert.equal(await p.exited, 0);
        } finally {
            p.child.kill("SIGKILL");
            fs.rmSync(tmp, { recursive: true, force: true });
            fs.rmSync(p.tmp, { recursive: true, force: true });
        }
    });
});
