/**
 * Conformance of the AIOS stand-ins with the recorded vectors (test/fixtures/aios/vectors.json):
 * the 42 entries are replayed in their recorded order against one world started in-process, with
 * a fake Kubernetes API (https, CA-verified, bearer token) in place of the real one. Each entry's
 * preconditions (policies, missing certHash, the joining node becoming Ready, pods to evict) are
 * set up just before it.
 *
 * Normalisation rules (nothing else is normalised; bodies are compared with deepStrictEqual):
 * 1. Placeholders `{registry}`, `{parser}`, `{gateway}`, `{membership}` in recorded URLs and bodies
 *    are replaced by the stand-ins' `127.0.0.1:<port>`.
 * 2. `_id`: the stand-in's value must be 24 hex digits; the first one seen replaces the recorded
 *    `_id` everywhere afterwards, so it must stay the same document id in every later answer.
 * 3. Bootstrap tokens: in a `join_command` the stand-in's token must be `[a-z0-9]{6}.[a-z0-9]{16}`;
 *    it then replaces the recorded token id and secret everywhere afterwards (secret names,
 *    base64 Secret data, k8s call logs), so the Secret must carry exactly the token returned.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startAiosWorld, type AiosWorld } from "../../../world/aios/server";
import { FakeKube, makeCerts, type Certs } from "./fakeKube";
import { send, waitFor } from "./helpers";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const VECTORS_FILE = path.resolve(REPO_ROOT, "test", "fixtures", "aios", "vectors.json");
const CLUSTER = "cluster-west-vision-001";

interface Vector {
    title: string;
    request?: { method: string; url: string; json: unknown };
    response?: { status: number; body: unknown };
    k8s_log?: unknown[][];
    k8s_log_tail?: unknown[][];
    node?: Record<string, unknown>;
    secrets?: Record<string, { type: string; data: Record<string, string> }>;
}

function loadVectors(): Vector[] {
    if (!fs.existsSync(VECTORS_FILE)) {
        throw new Error(`recorded vectors not found at ${VECTORS_FILE}`);
    }
    const parsed = JSON.parse(fs.readFileSync(VECTORS_FILE, "utf8")) as { vectors?: Vector[] };
    if (!Array.isArray(parsed.vectors) || parsed.vectors.length !== 42) throw new Error(`${VECTORS_FILE}: expected 42 vectors, found ${parsed.vectors?.length}`);
    return parsed.vectors;
}

const vectors = loadVectors();

/** Recorded value -> stand-in value, learnt per the rules above. */
class Normaliser {
    readonly map = new Map<string, string>();

    constructor(private readonly placeholders: Record<string, string>) {}

    /** Rule 1 + the learnt replacements, applied to every string of a recorded value. */
    expected(v: unknown): unknown {
        if (typeof v === "string") {
            let s = v.replace(/\{(registry|parser|gateway|membership)\}/g, (m, k: string) => this.placeholders[k] ?? m);
            for (const [from, to] of this.map) s = s.split(from).join(to);
            return s;
        }
        if (Array.isArray(v)) return v.map((x) => this.expected(x));
        if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.expected(k) as string, this.expected(x)]));
        return v;
    }

    /** Rules 2 and 3: learns `_id`s and tokens by walking the recorded and the actual value together. */
    learn(recorded: unknown, actual: unknown, at = "body"): void {
        if (typeof recorded === "object" && recorded !== null && typeof actual === "object" && actual !== null) {
            for (const [k, rv] of Object.entries(recorded)) {
                const av = (actual as Record<string, unknown>)[k];
                if (k === "_id" && typeof rv === "string") {
                    assert.match(String(av), /^[0-9a-f]{24}$/, `${at}._id must be a 24-hex ObjectId`);
                    if (!this.map.has(rv)) this.map.set(rv, String(av));
                } else if (k === "join_command" && typeof rv === "string" && typeof av === "string") {
                    const rm = /--token ([a-z0-9]{6})\.([a-z0-9]{16}) /.exec(rv);
                    const am = /--token ([a-z0-9]{6})\.([a-z0-9]{16}) /.exec(av);
                    assert.ok(am, `${at}.join_command must carry a [a-z0-9]{6}.[a-z0-9]{16} token: ${av}`);
                    if (rm && !this.map.has(rm[1])) {
                        this.map.set(rm[1], am[1]);
                        this.map.set(rm[2], am[2]);
                    }
                } else this.learn(rv, av, `${at}.${k}`);
            }
        }
    }
}

describe("AIOS stand-ins reproduce every recorded vector (aios-vectors.json)", function () {
    this.timeout(30000);
    let certs: Certs;
    let kube: FakeKube;
    let world: AiosWorld;
    let norm: Normaliser;
    let control: string;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aios-world-conformance-"));

    before(async () => {
        certs = makeCerts();
        kube = new FakeKube({ kind: "token", token: "conformance-admin-token" }, certs);
        await kube.start();
        kube.writeKubeconfig(path.join(tmp, "admin.kubeconfig"));
        // The control plane node as the recording's fake API had it (GPU annotation, 8 CPUs, 15936 MiB).
        kube.addNode("master-1", { annotations: { "gpu.aios/info": JSON.stringify([{ modelName: "NVIDIA A100", memory: 40960 }]) }, capacity: { cpu: "8", memory: "15936Mi" } });
        // Pods on the node that vector 36 removes: only the ReplicaSet-owned one may be evicted.
        kube.addPod("blocks", "blk-abc-inst1", "gpu-node-7", { kind: "ReplicaSet", name: "blk-abc" });
        kube.addPod("kube-system", "kube-proxy-7x2kq", "gpu-node-7", { kind: "DaemonSet", name: "kube-proxy" });
        kube.addPod("kube-system", "static-web-gpu-node-7", "gpu-node-7");
        world = await startAiosWorld(
            {
                listen: "127.0.0.1",
                ports: { registry: 0, parser: 0, gateway: 0, membership: 0, control: 0 },
                kubeconfig: path.join(tmp, "admin.kubeconfig"),
                stateFile: path.join(tmp, "state.json"),
                seedClusters: [],
                waiterWindowSeconds: 300,
                waiterPollSeconds: 0.05,
                membershipClusterId: CLUSTER,
                membershipStartup: false,
            },
            { log: () => undefined },
        );
        const p = world.ports;
        norm = new Normaliser({ registry: `127.0.0.1:${p.registry}`, parser: `127.0.0.1:${p.parser}`, gateway: `127.0.0.1:${p.gateway}`, membership: `127.0.0.1:${p.membership}` });
        control = `http://127.0.0.1:${p.control}`;
    });

    after(async () => {
        await world?.stop();
        await kube?.stop();
        fs.rmSync(tmp, { recursive: true, force: true });
        if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
    });

    const faults = async (body: unknown) => {
        const r = await send("POST", `${control}/_world/faults`, body);
        assert.equal(r.status, 200, r.text);
    };
    const registry = () => `http://127.0.0.1:${world.ports.registry}`;
    const waiterDone = (node: string, n: number) =>
        waitFor(`${n} finished waiter(s) for ${node}`, () => {
            const ws = world.state().waiters.filter((w) => w.nodeId === node && w.state === "labelled" && w.registryUpdated !== undefined);
            return ws.length >= n ? ws : undefined;
        });

    /** Sends the recorded request and compares status and body. */
    async function replay(i: number): Promise<void> {
        const v = vectors[i];
        assert.ok(v.request && v.response, `vector ${i} has a request and a response`);
        const url = norm.expected(v.request.url) as string;
        const r = await send(v.request.method, url, norm.expected(v.request.json));
        assert.equal(r.status, v.response.status, `status of ${v.request.method} ${url}: ${r.text}`);
        if (typeof v.response.body === "string") {
            assert.equal(r.text, norm.expected(v.response.body));
            return;
        }
        assert.notEqual(r.json, undefined, `JSON body expected, got: ${r.text}`);
        norm.learn(v.response.body, r.json);
        assert.deepStrictEqual(r.json, norm.expected(v.response.body));
    }

    function nodeView(name: string): Record<string, unknown> {
        const n = kube.node(name) as { metadata: { name: string; labels: Record<string, string> }; spec: { unschedulable?: boolean }; status: { conditions: { type: string; status: string }[] } };
        const view: Record<string, unknown> = { name: n.metadata.name, ready: n.status.conditions.some((c) => c.type === "Ready" && c.status === "True"), labels: n.metadata.labels };
        if (n.spec.unschedulable) view.unschedulable = true;
        return view;
    }

    /** Preconditions, keyed by the vector they prepare. */
    const pre: Record<number, () => Promise<void>> = {
        // The membership server starts after the cluster exists: labels every Node, syncs the registry.
        4: async () => {
            const r = await send("POST", `${control}/_world/membership/restart`, {});
            assert.equal(r.status, 200);
        },
        // The node joins (what `kubeadm join` would do): it registers and becomes Ready.
        17: async () => {
            kube.addNode("gpu-node-7", { capacity: { cpu: "8", memory: "15936Mi" } });
            await waiterDone("gpu-node-7", 1);
        },
        21: async () => {
            const r = await send("PUT", `${registry()}/clusters/${CLUSTER}`, { $unset: { "config.certHash": "" } });
            assert.equal(r.status, 200);
        },
        22: async () => {
            const r = await send("PUT", `${registry()}/clusters/${CLUSTER}`, { $set: { "config.certHash": "4f1c9a3b5e0d7c2a9b8e6f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b" } });
            assert.equal(r.status, 200);
            await faults({ policies: { [`cluster:${CLUSTER}`]: { add_node: "deny-no-gpu" } } });
        },
        26: () => faults({ policies: { [`cluster:${CLUSTER}`]: { add_node: "echo-input" } } }),
        27: () => faults({ policies: { [`cluster:${CLUSTER}`]: { add_node: "malformed" } } }),
        28: () => faults({ policies: { [`cluster:${CLUSTER}`]: { add_node: null } } }),
    };

    /** Checks after a vector, beyond its recorded response. */
    const post: Record<number, () => Promise<void>> = {
        // The duplicate join's waiter labels again and appends a second entry (no duplicate check).
        19: async () => {
            await waiterDone("gpu-node-7", 2);
            const doc = (await send("GET", `${registry()}/clusters/${CLUSTER}`)).json as { nodes: { nodeData: { id: string }[] } };
            assert.deepEqual(doc.nodes.nodeData.map((n) => n.id), ["master-1", "gpu-node-7", "gpu-node-7"]);
        },
        // The membership server's own answer to the doc-style policy is the KeyError text.
        26: async () => {
            const r = await send("POST", `http://127.0.0.1:${world.ports.membership}/join-node`, { node_data: { id: "gpu-node-8", gpus: { count: 1 } } });
            assert.equal(r.status, 500);
            assert.deepEqual(r.json, { error: "'id'", success: false });
        },
        // "Clear" replaced the map although the answer showed the merge.
        34: async () => {
            const r = await send("GET", `http://127.0.0.1:${world.ports.gateway}/pre-check-policies/get`);
            assert.deepEqual(r.json, { map: {}, success: true });
        },
    };

    vectors.forEach((v, i) => {
        const kind = v.request ? `${v.request.method} ${v.request.url.replace(/^http:\/\/\{(\w+)\}/, "$1 ")} answers ${v.response?.status} with the recorded body` : "Kubernetes side effects match the recording";
        it(`vector ${i}: ${v.title} -- ${kind}`, async () => {
            await pre[i]?.();
            if (v.request) await replay(i);
            if (v.k8s_log) assert.deepStrictEqual(kube.log, norm.expected(v.k8s_log));
            if (v.k8s_log_tail) assert.deepStrictEqual(kube.log.slice(-v.k8s_log_tail.length), norm.expected(v.k8s_log_tail));
            if (v.node) assert.deepStrictEqual(nodeView(String(v.node.name)), norm.expected(v.node));
            if (v.secrets) {
                const actual: Record<string, unknown> = {};
                for (const [k, s] of kube.secrets) actual[k] = { type: s.type, data: s.data };
                const expected: Record<string, unknown> = {};
                for (const [k, s] of Object.entries(v.secrets)) {
                    const data = Object.fromEntries(Object.entries(s.data).map(([dk, dv]) => [dk, Buffer.from(norm.expected(Buffer.from(dv, "base64").toString("utf8")) as string).toString("base64")]));
                    expected[norm.expected(k) as string] = { type: s.type, data };
                }
                assert.deepStrictEqual(actual, expected);
            }
            await post[i]?.();
        });
    });
});
