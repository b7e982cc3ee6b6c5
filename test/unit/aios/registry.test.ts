import * as assert from "node:assert/strict";
import { AiosError, nodeDataUpdate, RegistryClient } from "../../../components/aios";
import type { NodeEntry } from "../../../components/aios";
import { Doc, fakeRegistry } from "./helpers/fakeRegistry";
import { reply, startServer } from "./helpers/servers";
import { loadClusterExample, loadVectors } from "./helpers/vectors";

const clone = <T>(v: T): T => structuredClone(v);
const vectors = loadVectors();
/** The cluster after the join waiter appended gpu-node-7 (vector 18), and after its removal (vector 38). */
const afterJoin = (): Doc => clone(vectors[18].response?.body as Doc);
const afterRemove = (): Doc => clone(vectors[38].response?.body as Doc);
const TOTALS = ["gpus", "vcpus", "memory", "swap", "storage", "network"] as const;

describe("RegistryClient queries", function () {
    it("always wraps the filter as {query: filter}", async function () {
        const server = await fakeRegistry([afterJoin()]);
        try {
            await new RegistryClient(server.url).queryClusters({ "gpus.count": { $gte: 2 } });
            await new RegistryClient(server.url).findClusterOfNode("gpu-node-7");
            assert.deepEqual(
                server.received.map((r) => r.body),
                [{ query: { "gpus.count": { $gte: 2 } } }, { query: { "nodes.nodeData.id": "gpu-node-7" } }],
            );
        } finally {
            await server.close();
        }
    });

    it("finds the cluster of a node, and none for an unknown node", async function () {
        const other: Doc = { id: "other", nodes: { count: 1, nodeData: [{ id: "n9" }] } };
        const server = await fakeRegistry([afterJoin(), other]);
        try {
            const registry = new RegistryClient(server.url);
            assert.equal((await registry.findClusterOfNode("gpu-node-7"))?.id, "cluster-west-vision-001");
            assert.equal((await registry.findClusterOfNode("n9"))?.id, "other");
            assert.equal(await registry.findClusterOfNode("nobody"), undefined);
        } finally {
            await server.close();
        }
    });

    it("does not take clusters for matches when the registry ignores the filter (the bare-filter pitfall)", async function () {
        const all = [afterJoin(), { id: "other", nodes: { count: 0, nodeData: [] } }];
        const server = await startServer((_req, res) => reply(res, 200, all)); // find(undefined): everything
        try {
            const registry = new RegistryClient(server.url);
            assert.equal(await registry.findClusterOfNode("nobody"), undefined);
            assert.equal((await registry.findClusterOfNode("master-1"))?.id, "cluster-west-vision-001");
        } finally {
            await server.close();
        }
    });

    it("fails, naming both clusters, when a node is listed in two clusters", async function () {
        const twin: Doc = { id: "twin", nodes: { count: 1, nodeData: [{ id: "gpu-node-7" }] } };
        const server = await fakeRegistry([afterJoin(), twin]);
        try {
            const withAuth = server.url.replace("http://", "http://ops:hunter2@");
            await assert.rejects(new RegistryClient(withAuth).findClusterOfNode("gpu-node-7"), (e: unknown) => {
                assert.ok(AiosError.isInstance(e));
                assert.equal(e.kind, "failed");
                assert.equal(e.url, `${server.url}/clusters/query`, "credentials stay out of errors");
                assert.match(e.reason, /node gpu-node-7 is listed in 2 clusters: cluster-west-vision-001, twin/);
                return true;
            });
        } finally {
            await server.close();
        }
    });

    it("reports a query answer that is not an array as malformed", async function () {
        const server = await startServer((_req, res) => reply(res, 200, { clusters: [] }));
        try {
            await assert.rejects(new RegistryClient(server.url).queryClusters({}), (e: unknown) => AiosError.isInstance(e) && e.kind === "malformed" && /JSON array/.test(e.reason));
        } finally {
            await server.close();
        }
    });
});

describe("RegistryClient.removeNodeEntry", function () {
    it("recomputes the totals exactly as AIOS recorded them after its own join (vector 18)", function () {
        const doc = afterJoin() as Doc & { nodes: { nodeData: NodeEntry[] } };
        const update: Record<string, unknown> = nodeDataUpdate(doc.nodes.nodeData);
        for (const key of TOTALS) {
            const recorded = doc[key];
            const computed: unknown = typeof recorded === "number" ? update[key] : Object.fromEntries(Object.keys(recorded as object).map((k) => [k, update[`${key}.${k}`]]));
            assert.deepEqual(computed, recorded, `total ${key}`);
        }
        assert.deepEqual(update, {
            "nodes.count": 2,
            "nodes.nodeData": doc.nodes.nodeData,
            "gpus.count": 2,
            "gpus.memory": 65536,
            "gpus.modelNames": ["NVIDIA A100", "NVIDIA L4"],
            "vcpus.count": 24,
            memory: 79936,
            swap: 0,
            "storage.disks": 2,
            "storage.size": 1012000,
            "network.interfaces": 3,
            "network.txBandwidth": 10000,
            "network.rxBandwidth": 10000,
        });
    });

    it("reproduces the docs' example totals and, after removing node-2, leaves exactly node-1's values (non-zero swap and bandwidth)", async function () {
        const example: Doc = loadClusterExample();
        const totals = (d: Doc): unknown => Object.fromEntries(TOTALS.map((k) => [k, d[k]]));
        const before = totals(example);
        const server = await fakeRegistry([example]);
        try {
            const registry = new RegistryClient(server.url);
            // Removing an absent id writes nothing, so the recorded totals stay and must equal the sums.
            await registry.removeNodeEntry(example.id, "node-3");
            assert.deepEqual(totals(example), before);
            const sums: Record<string, unknown> = nodeDataUpdate((example.nodes as { nodeData: NodeEntry[] }).nodeData);
            assert.deepEqual([sums.swap, sums.memory, sums["network.txBandwidth"], sums["gpus.memory"]], [12288, 196608, 15000, 49152]);
            await registry.removeNodeEntry(example.id, "node-2");
            assert.deepEqual(totals(example), {
                gpus: { count: 2, memory: 32768 },
                vcpus: { count: 32 },
                memory: 131072,
                swap: 8192,
                storage: { disks: 2, size: 1048576 },
                network: { interfaces: 2, txBandwidth: 10000, rxBandwidth: 10000 },
            });
            const node1 = (loadClusterExample().nodes as { nodeData: NodeEntry[] }).nodeData[0];
            assert.deepEqual(example.nodes, { count: 1, nodeData: [node1] });
        } finally {
            await server.close();
        }
    });

    it("drops every entry with the id (duplicates included) and leaves the registry as AIOS's own removal did (vector 38)", async function () {
        const doc = afterJoin();
        const entries = (doc.nodes as { nodeData: NodeEntry[] }).nodeData;
        entries.push(clone(entries[1])); // AIOS does not de-duplicate (contract §10.5)
        (doc.nodes as { count: number }).count = 3;
        const server = await fakeRegistry([doc]);
        try {
            const result = await new RegistryClient(server.url).removeNodeEntry("cluster-west-vision-001", "gpu-node-7");
            assert.equal(result.removed, 2);
            const put = server.received.find((r) => r.method === "PUT");
            assert.ok(put, "no PUT was sent");
            assert.deepEqual(Object.keys(put.body as object), ["$set"]);
            const expected = afterRemove();
            for (const key of ["nodes", ...TOTALS] as const) assert.deepEqual(doc[key], expected[key], key);
            assert.deepEqual(result.cluster.nodes?.nodeData?.map((e) => e.id), ["master-1"]);
        } finally {
            await server.close();
        }
    });

    it("keeps the remaining entries byte for byte, including keys AIOS added (cluster_id, nodeMetadata)", async function () {
        const doc = afterJoin();
        const kept = clone((doc.nodes as { nodeData: NodeEntry[] }).nodeData[1]);
        const server = await fakeRegistry([doc]);
        try {
            await new RegistryClient(server.url).removeNodeEntry("cluster-west-vision-001", "master-1");
            assert.deepEqual((doc.nodes as { nodeData: NodeEntry[] }).nodeData, [kept]);
            assert.equal(doc.memory, 64000);
        } finally {
            await server.close();
        }
    });

    it("is idempotent: removing an absent node reads the cluster and writes nothing", async function () {
        const server = await fakeRegistry([afterRemove()]);
        try {
            const registry = new RegistryClient(server.url);
            const first = await registry.removeNodeEntry("cluster-west-vision-001", "gpu-node-7");
            const second = await registry.removeNodeEntry("cluster-west-vision-001", "gpu-node-7");
            assert.equal(first.removed, 0);
            assert.equal(second.removed, 0);
            assert.deepEqual(server.received.map((r) => r.method), ["GET", "GET"]);
        } finally {
            await server.close();
        }
    });

    it("removing twice writes once and the second call finds nothing", async function () {
        const server = await fakeRegistry([afterJoin()]);
        try {
            const registry = new RegistryClient(server.url);
            assert.equal((await registry.removeNodeEntry("cluster-west-vision-001", "gpu-node-7")).removed, 1);
            assert.equal((await registry.removeNodeEntry("cluster-west-vision-001", "gpu-node-7")).removed, 0);
            assert.deepEqual(server.received.map((r) => r.method), ["GET", "PUT", "GET"]);
        } finally {
            await server.close();
        }
    });

    it("counts missing or non-numeric values as 0 and an empty cluster as all zeros", function () {
        const update = nodeDataUpdate([{ id: "a", memory: "16GB", gpus: { count: 2 } }, { id: "b" }]);
        assert.equal(update.memory, 0);
        assert.equal(update["gpus.count"], 2);
        assert.equal(update["gpus.memory"], 0);
        assert.equal(update["nodes.count"], 2);
        assert.deepEqual(nodeDataUpdate([])["network.rxBandwidth"], 0);
    });

    it("fails with kind failed and status 404 when the cluster is not in the registry", async function () {
        const server = await fakeRegistry([]);
        try {
            await assert.rejects(new RegistryClient(server.url).removeNodeEntry("gone", "n1"), (e: unknown) => {
                assert.ok(AiosError.isInstance(e));
                assert.equal(e.kind, "failed");
                assert.equal(e.status, 404);
                assert.match(e.message, /cluster id "gone" is not in the registry/);
                return true;
            });
        } finally {
            await server.close();
        }
    });
});

describe("RegistryClient.addNodeEntry", function () {
    it("appends a missing entry and recomputes the totals the way AIOS does", async function () {
        const doc = afterRemove();
        const server = await fakeRegistry([doc]);
        try {
            const entry = (afterJoin().nodes as { nodeData: NodeEntry[] }).nodeData.find((e) => e.id === "gpu-node-7")!;
            assert.equal(await new RegistryClient(server.url).addNodeEntry("cluster-west-vision-001", entry), true);
            const ids = (doc.nodes as { nodeData: NodeEntry[] }).nodeData.map((e) => e.id);
            assert.deepEqual(ids, [...(afterRemove().nodes as { nodeData: NodeEntry[] }).nodeData.map((e) => e.id), "gpu-node-7"]);
            const at = (path: string): unknown => path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], doc);
            const expected = Object.entries(nodeDataUpdate((doc.nodes as { nodeData: NodeEntry[] }).nodeData));
            assert.ok(expected.length > 5, "the update sets the totals");
            // gpus.modelNames is not in the registry's schema: its strict mode drops it (contract §2.2).
            for (const [path, value] of expected) if (path !== "gpus.modelNames") assert.deepEqual(at(path), value, path);
            assert.equal((doc.nodes as { count: number }).count, ids.length);
            assert.ok(((doc.gpus as { count: number }).count) > ((afterRemove().gpus as { count: number }).count), "the GPU node's GPUs are counted again");
        } finally {
            await server.close();
        }
    });

    it("writes nothing when an entry with that id is there", async function () {
        const server = await fakeRegistry([afterJoin()]);
        try {
            assert.equal(await new RegistryClient(server.url).addNodeEntry("cluster-west-vision-001", { id: "gpu-node-7" } as NodeEntry), false);
            assert.deepEqual(server.received.map((r) => r.method), ["GET"]);
        } finally {
            await server.close();
        }
    });
});
