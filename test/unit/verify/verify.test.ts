import * as assert from "node:assert/strict";
import type { KubeNode } from "../../../components/kube/client";
import type { NodeEntry } from "../../../components/aios";
import { AIOS_WAITER_WINDOW_SECONDS, ensureRegistryEntry, LabelledNodesReader, rearmAt, VerifyInput, WAITER_GONE_AFTER_READY_SECONDS } from "../../../components/verify/verify";
import { Doc, fakeRegistry } from "../aios/helpers/fakeRegistry";
import { loadVectors } from "../aios/helpers/vectors";

const vectors = loadVectors();
const clone = <T>(v: T): T => structuredClone(v);

function node(ready: "True" | "False", readySince: string, labels: Record<string, string> = {}): KubeNode {
    return {
        metadata: { name: "worker-1", labels },
        status: { conditions: [{ type: "Ready", status: ready, lastTransitionTime: readySince }] },
    } as KubeNode;
}

describe("when verification asks AIOS for a new membership waiter", () => {
    const issued = "2026-11-24T10:00:00.000Z";
    const t = (s: number) => Date.parse(issued) + s * 1000;

    it("never while the node is not Ready or already labelled", () => {
        assert.equal(rearmAt("worker-1", undefined, issued), undefined);
        assert.equal(rearmAt("worker-1", node("False", issued), issued), undefined);
        assert.equal(rearmAt("worker-1", node("True", issued, { nodeID: "worker-1" }), issued), undefined);
    });

    it("once the node has been Ready long enough that a live waiter would have labelled it", () => {
        const readySince = new Date(t(30)).toISOString();
        assert.equal(rearmAt("worker-1", node("True", readySince), issued), t(30 + WAITER_GONE_AFTER_READY_SECONDS));
    });

    it("not before a waiter issued after the node became Ready (a repair's) had its first polls", () => {
        const readyLongBefore = new Date(t(-3600)).toISOString();
        assert.equal(rearmAt("worker-1", node("True", readyLongBefore), issued), t(WAITER_GONE_AFTER_READY_SECONDS));
    });

    it("at the latest when the waiter's window closes", () => {
        const readySince = new Date(t(AIOS_WAITER_WINDOW_SECONDS - 5)).toISOString();
        assert.equal(rearmAt("worker-1", node("True", readySince), issued), t(AIOS_WAITER_WINDOW_SECONDS));
        assert.equal(rearmAt("worker-1", node("True", "not a time"), issued), t(AIOS_WAITER_WINDOW_SECONDS));
    });
});

describe("after the label, verification makes sure AIOS kept the node's registry entry", () => {
    const input = (url: string, nodeId = "gpu-node-7"): VerifyInput =>
        ({ nodeId, clusterId: "cluster-west-vision-001", registryUrl: url, httpTimeoutSeconds: 2, node: { id: nodeId, memory: 1024 } }) as unknown as VerifyInput;
    const nodeData = (doc: Doc): NodeEntry[] => (doc.nodes as { nodeData: NodeEntry[] }).nodeData;
    const entryIds = (doc: Doc): string[] => ((doc.nodes as { nodeData: NodeEntry[] }).nodeData ?? []).map((e) => String(e.id));
    /** The Nodes labelled `nodeID` as the API server would list them (no field-manager times): `labelled()` names them at the time of each list. */
    const cluster = (labelled: () => string[]): LabelledNodesReader => async () => {
        const sentAt = Date.now();
        const nodes = labelled().map((name) => ({ name, labels: { nodeID: name } }));
        return { nodes, sentAt, receivedAt: Date.now() };
    };
    const only = (...ids: string[]) => cluster(() => ids);

    it("waits for the entry AIOS appends after labelling, and writes nothing", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        const server = await fakeRegistry([doc]);
        const later = setTimeout(() => (doc.nodes as { nodeData: NodeEntry[] }).nodeData.push({ id: "gpu-node-7" } as NodeEntry), 120);
        try {
            await ensureRegistryEntry(input(server.url), () => undefined, only("gpu-node-7"), { appendMs: 2000, pollMs: 20, settleMs: 60 });
            assert.ok(entryIds(doc).includes("gpu-node-7"));
            assert.ok(server.received.every((r) => r.method === "GET"), "nothing was written");
        } finally {
            clearTimeout(later);
            await server.close();
        }
    });

    it("adds the entry when AIOS lost it, and says so", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        const server = await fakeRegistry([doc]);
        const logs: string[] = [];
        try {
            await ensureRegistryEntry(input(server.url), (m) => logs.push(m), only("gpu-node-7"), { appendMs: 100, pollMs: 20, settleMs: 60 });
            assert.equal(entryIds(doc).filter((id) => id === "gpu-node-7").length, 1);
            assert.equal(server.received.filter((r) => r.method === "PUT").length, 1);
            assert.match(logs.join("\n"), /no entry for node gpu-node-7 .*adding it/);
        } finally {
            await server.close();
        }
    });

    it("keeps one entry when the registry lists the node twice (a waiter of an interrupted run appended one too)", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        nodeData(doc).push({ id: "gpu-node-7", memory: 1024 } as NodeEntry, { id: "gpu-node-7", memory: 1024 } as NodeEntry);
        const server = await fakeRegistry([doc]);
        const logs: string[] = [];
        try {
            await ensureRegistryEntry(input(server.url), (m) => logs.push(m), only("gpu-node-7"), { appendMs: 2000, pollMs: 20, settleMs: 60 });
            assert.equal(entryIds(doc).filter((id) => id === "gpu-node-7").length, 1);
            assert.match(logs.join("\n"), /holds 2 entries for node gpu-node-7 .*keeping one/);
        } finally {
            await server.close();
        }
    });

    it("fails with a clear message when the entry keeps being lost", async () => {
        const server = await fakeRegistry([clone(vectors[38].response?.body as Doc)], { dropPuts: true });
        try {
            await assert.rejects(ensureRegistryEntry(input(server.url), () => undefined, only("gpu-node-7"), { appendMs: 50, pollMs: 10, settleMs: 30 }), /gpu-node-7 is Ready and labelled, but the AIOS registry kept losing its nodes\.nodeData entry/);
            assert.equal(server.received.filter((r) => r.method === "PUT").length, 3);
        } finally {
            await server.close();
        }
    });

    it("adds the entry again when a waiter that read the list before it landed writes it away", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        const server = await fakeRegistry([doc]);
        const logs: string[] = [];
        const stale = nodeData(doc).slice();
        nodeData(doc).push({ id: "gpu-node-7" } as NodeEntry);
        // The other waiter's write lands after ours was listed, from the list it read before.
        let later: NodeJS.Timeout | undefined;
        const staleWritten = new Promise<void>((done) => {
            later = setTimeout(() => {
                (doc.nodes as { nodeData: NodeEntry[] }).nodeData = [...stale, { id: "gpu-node-8" } as NodeEntry];
                done();
            }, 40);
        });
        try {
            await ensureRegistryEntry(input(server.url), (m) => logs.push(m), only("gpu-node-7", "gpu-node-8"), { appendMs: 5000, pollMs: 10, settleMs: 150 });
            await staleWritten;
            assert.deepEqual(entryIds(doc).filter((id) => id.startsWith("gpu-node-")), ["gpu-node-8", "gpu-node-7"]);
            assert.match(logs.join("\n"), /no entry for node gpu-node-7 .*adding it/);
        } finally {
            clearTimeout(later);
            await server.close();
        }
    });

    it("does not count its entry settled while a Node labelled before it was listed lacks one, whoever verifies that Node", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        const server = await fakeRegistry([doc]);
        nodeData(doc).push({ id: "gpu-node-7" } as NodeEntry);
        // gpu-node-8 was labelled first; its AIOS waiter writes 300 ms later, and nothing in this process verifies it.
        const other = setTimeout(() => nodeData(doc).push({ id: "gpu-node-8" } as NodeEntry), 300);
        try {
            const started = Date.now();
            await ensureRegistryEntry(input(server.url), () => undefined, only("gpu-node-8", "gpu-node-7"), { appendMs: 5000, pollMs: 10, settleMs: 30 });
            const waited = Date.now() - started;
            assert.ok(waited >= 280, `gpu-node-7 settled after ${waited} ms, before gpu-node-8's waiter had written`);
            assert.ok(waited < 2000, `gpu-node-7 waited ${waited} ms, long after gpu-node-8's entry was listed`);
            assert.ok(server.received.every((r) => r.method === "GET"), "nothing was written");
        } finally {
            clearTimeout(other);
            await server.close();
        }
    });

    it("is held no longer than AIOS's append time by an earlier Node whose entry AIOS lost", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        const server = await fakeRegistry([doc]);
        nodeData(doc).push({ id: "gpu-node-7" } as NodeEntry);
        try {
            const started = Date.now();
            await ensureRegistryEntry(input(server.url), () => undefined, only("gpu-node-8", "gpu-node-7"), { appendMs: 300, pollMs: 10, settleMs: 30 });
            const waited = Date.now() - started;
            assert.ok(waited >= 300, `gpu-node-7 settled after ${waited} ms, while gpu-node-8's waiter could still write`);
            assert.ok(waited < 1500, `gpu-node-7 waited ${waited} ms for an entry AIOS will not write any more`);
        } finally {
            await server.close();
        }
    });

    it("is not held by a node labelled after its entry was listed", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        const server = await fakeRegistry([doc]);
        nodeData(doc).push({ id: "gpu-node-7" } as NodeEntry);
        const labelled = ["gpu-node-7"];
        // gpu-node-8 is labelled once gpu-node-7's entry is listed; its own entry never lands.
        const later = setTimeout(() => labelled.push("gpu-node-8"), 50);
        try {
            const started = Date.now();
            await ensureRegistryEntry(input(server.url), () => undefined, cluster(() => labelled), { appendMs: 5000, pollMs: 10, settleMs: 150 });
            const waited = Date.now() - started;
            assert.ok(waited < 1000, `gpu-node-7 waited ${waited} ms for a node labelled after its entry was listed`);
        } finally {
            clearTimeout(later);
            await server.close();
        }
    });

    it("shares one read of the cluster per poll among the machines verified at once", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        const ids = ["gpu-node-1", "gpu-node-2", "gpu-node-3", "gpu-node-4", "gpu-node-5"];
        nodeData(doc).push(...ids.map((id) => ({ id }) as NodeEntry));
        const server = await fakeRegistry([doc]);
        let lists = 0;
        const reader = only(...ids);
        try {
            await Promise.all(ids.map((id) => ensureRegistryEntry(input(server.url, id), () => undefined, () => (lists++, reader()), { appendMs: 5000, pollMs: 20, settleMs: 100 })));
            const gets = server.received.filter((r) => r.method === "GET").length;
            // About settleMs / pollMs + 1 reads in all; one loop per machine would make five times as many.
            assert.ok(gets <= 12, `${gets} reads for ${ids.length} machines`);
            assert.ok(lists <= 3, `${lists} lists of the labelled Nodes for ${ids.length} machines`);
        } finally {
            await server.close();
        }
    });

    it("writes one entry at a time, so two machines added at once do not write each other's away", async () => {
        const doc = clone(vectors[38].response?.body as Doc);
        // Slow reads: two read-modify-writes started together would both read the list without the other's entry.
        const server = await fakeRegistry([doc], { getDelayMs: 40 });
        const logs: string[] = [];
        try {
            const labelled = only("gpu-node-7", "gpu-node-8");
            await Promise.all(["gpu-node-7", "gpu-node-8"].map((id) => ensureRegistryEntry(input(server.url, id), (m) => logs.push(m), labelled, { appendMs: 50, pollMs: 10, settleMs: 60 })));
            assert.deepEqual(entryIds(doc).filter((id) => id.startsWith("gpu-node-")).sort(), ["gpu-node-7", "gpu-node-8"]);
            assert.equal(server.received.filter((r) => r.method === "PUT").length, 2, logs.join("\n"));
        } finally {
            await server.close();
        }
    });
});

