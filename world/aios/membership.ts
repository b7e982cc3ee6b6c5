/**
 * The membership server stand-in (`services/cluster-services/membership`, contract §4.3, §6, §7)
 * and the "Cluster Controller" waiter that labels a joined node `nodeID=<id>` and appends it to the
 * registry. Kubernetes calls go to a real API server through `kube.ts`.
 */
import { randomInt } from "node:crypto";
import type { WaiterRecord } from "./config";
import { CLUSTER_HEADER, readCluster, updateCluster, type Ctx } from "./context";
import { Router, flaskJson, flaskRequestJson, type Req, type Res } from "./http";
import { KubeError, nodeIsReady } from "./kube";
import { clusterMetricsStub, evaluatorFor, type PolicyEvaluator } from "./policies";
import { PyError, isDict, pget, pitem, pnum, pyErrorText, pyStr, pyTypeName, truthy, type PyDict } from "./py";

const SVC = "membership";

// ---------------------------------------------------------------- registry updates (core/update.py)

/** The `$set` of `update.py`: node list plus recomputed totals, with Python's failure modes. */
export function aggregateUpdate(nodes: unknown[]): PyDict {
    const sum = (f: (n: unknown) => unknown): number => nodes.reduce<number>((acc, n) => acc + pnum(f(n)), 0);
    const sub = (n: unknown, key: string): unknown => pget(n, key, {});
    const totalMemory = sum((n) => pget(n, "memory", 0));
    const totalVcpus = sum((n) => pget(sub(n, "vcpus"), "count", 0));
    const totalSwap = sum((n) => pget(n, "swap", 0));
    const disks = sum((n) => pget(sub(n, "storage"), "disks", 0));
    const size = sum((n) => pget(sub(n, "storage"), "size", 0));
    const ifaces = sum((n) => pget(sub(n, "network"), "interfaces", 0));
    const tx = sum((n) => pget(sub(n, "network"), "txBandwidth", 0));
    const rx = sum((n) => pget(sub(n, "network"), "rxBandwidth", 0));
    const gpus = sum((n) => pget(sub(n, "gpus"), "count", 0));
    const gpuMem = sum((n) => pget(sub(n, "gpus"), "memory", 0));
    const models = new Set<unknown>();
    for (const n of nodes) {
        const names = pget(sub(n, "gpus"), "modelNames", []);
        if (typeof names === "string") for (const ch of names) models.add(ch);
        else if (Array.isArray(names)) for (const m of names) models.add(m);
        else if (isDict(names)) for (const k of Object.keys(names)) models.add(k);
        else throw new PyError("TypeError", `'${pyTypeName(names)}' object is not iterable`);
    }
    return {
        $set: {
            "nodes.count": nodes.length,
            "nodes.nodeData": nodes,
            "gpus.count": gpus,
            "gpus.memory": gpuMem,
            "gpus.modelNames": [...models],
            "vcpus.count": totalVcpus,
            memory: totalMemory,
            swap: totalSwap,
            "storage.disks": disks,
            "storage.size": size,
            "network.interfaces": ifaces,
            "network.txBandwidth": tx,
            "network.rxBandwidth": rx,
        },
    };
}

function nodeList(cluster: unknown): unknown[] {
    const list = pget(pget(cluster, "nodes", {}), "nodeData", []);
    if (Array.isArray(list)) return list;
    throw new PyError("AttributeError", `'${pyTypeName(list)}' object has no attribute 'append'`);
}

/** `update_cluster_with_new_node_data`: appends without any duplicate check. */
export async function appendNodeToRegistry(ctx: Ctx, clusterId: string, nodeData: unknown): Promise<boolean> {
    try {
        const [ok, cluster] = await readCluster(ctx, clusterId);
        if (!ok) {
            ctx.log(SVC, `[cluster-update] Failed to read cluster ${clusterId} from DB.`);
            return false;
        }
        const nodes = nodeList(cluster);
        nodes.push(nodeData);
        const [done, resp] = await updateCluster(ctx, clusterId, aggregateUpdate(nodes));
        if (!done) ctx.log(SVC, `[cluster-update] Failed to update cluster '${clusterId}': ${pyStr(resp)}`);
        return done;
    } catch (e) {
        ctx.log(SVC, `[cluster-update] Exception during cluster update: ${pyErrorText(e)}`);
        return false;
    }
}

/** `remove_node_from_cluster`: drops every entry with that id; no entry = nothing to do. */
export async function removeNodeFromRegistry(ctx: Ctx, clusterId: string, nodeId: unknown): Promise<boolean> {
    try {
        const [ok, cluster] = await readCluster(ctx, clusterId);
        if (!ok) {
            ctx.log(SVC, `[cluster-update] Failed to read cluster ${clusterId} from DB.`);
            return false;
        }
        const original = nodeList(cluster);
        const kept = original.filter((n) => pget(n, "id") !== nodeId);
        if (kept.length === original.length) return true;
        const [done, resp] = await updateCluster(ctx, clusterId, aggregateUpdate(kept));
        if (!done) ctx.log(SVC, `[cluster-update] Failed to update cluster '${clusterId}': ${pyStr(resp)}`);
        return done;
    } catch (e) {
        ctx.log(SVC, `[cluster-update] Exception during node removal: ${pyErrorText(e)}`);
        return false;
    }
}

// ---------------------------------------------------------------- policies (core/membership.py)

function kubeOrFail(ctx: Ctx) {
    if (!ctx.kube) throw new PyError("ConfigException", "Service host/port is not set.");
    return ctx.kube;
}

async function clusterPolicy(ctx: Ctx, clusterId: string, action: "add_node" | "remove_node"): Promise<{ clusterData: unknown; evaluator?: PolicyEvaluator }> {
    const [ok, clusterData] = await readCluster(ctx, clusterId);
    if (!ok) throw new PyError("Exception", "Cluster data not found");
    const actions = pget(pget(clusterData, "config", {}), "actionsPolicyMap", {});
    return { clusterData, evaluator: evaluatorFor(actions, action) };
}

async function preCheckAdd(ctx: Ctx, clusterId: string, nodeData: unknown): Promise<{ allowed: boolean; updated: unknown }> {
    const { clusterData, evaluator } = await clusterPolicy(ctx, clusterId, "add_node");
    if (!evaluator) return { allowed: true, updated: nodeData };
    const payload = { cluster_data: clusterData, cluster_metrics: clusterMetricsStub(clusterId, clusterData), node_data: nodeData };
    return evaluator.evaluate(payload, nodeData);
}

async function preCheckRemove(ctx: Ctx, clusterId: string, nodeId: unknown): Promise<{ allowed: boolean; updated: unknown }> {
    const { clusterData, evaluator } = await clusterPolicy(ctx, clusterId, "remove_node");
    if (!evaluator) return { allowed: true, updated: nodeId };
    const payload = { cluster_data: clusterData, cluster_metrics: clusterMetricsStub(clusterId, clusterData), node_id: nodeId, block_instances: [] };
    return evaluator.evaluate(payload, nodeId);
}

// ---------------------------------------------------------------- join (core/k8s.py)

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomToken(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    return s;
}

async function clusterHost(ctx: Ctx, clusterId: string, mode: unknown, ipName: unknown): Promise<[unknown, unknown]> {
    const [ok, cluster] = await readCluster(ctx, clusterId);
    if (!ok) throw new PyError("Exception", `Error retrieving cluster data for cluster=${clusterId}`);
    const config = pget(cluster, "config", {});
    const certHash = pget(config, "certHash");
    if (!truthy(certHash)) throw new PyError("Exception", "cert hash not provided by the cluster");
    if (truthy(ipName)) {
        if (!isDict(config) || !("secondaryIPs" in config)) throw new PyError("Exception", "Cluster does not support secondary IPs");
        const ip = pget(config.secondaryIPs, pyStr(ipName));
        if (!truthy(ip)) throw new PyError("Exception", `Secondary IP ${pyStr(ipName)} not provided`);
        return [ip, certHash];
    }
    if (mode === "local_network") {
        const host = pget(config, "localNetworkHostName");
        if (!truthy(host)) throw new PyError("Exception", "Local LAN network IP not provided for the cluster");
        return [host, certHash];
    }
    const host = pget(config, "publicHostname");
    if (!truthy(host)) throw new PyError("Exception", "Public IP not provided for the cluster");
    return [host, certHash];
}

/** `generate_join_command`: a fresh, never-expiring bootstrap token Secret and the join command. */
async function generateJoinCommand(ctx: Ctx, clusterId: string, mode: unknown, customIp: unknown): Promise<{ command: string; tokenId: string }> {
    try {
        const kube = kubeOrFail(ctx);
        const [host, certHash] = await clusterHost(ctx, clusterId, mode, customIp);
        const tokenId = randomToken(6);
        const tokenSecret = randomToken(16);
        const b64 = (s: string) => Buffer.from(s).toString("base64");
        try {
            await kube.createSecret("kube-system", {
                metadata: { name: `bootstrap-token-${tokenId}`, namespace: "kube-system" },
                type: "bootstrap.kubernetes.io/token",
                data: {
                    "token-id": b64(tokenId),
                    "token-secret": b64(tokenSecret),
                    "usage-bootstrap-authentication": b64("true"),
                    "usage-bootstrap-signing": b64("true"),
                    "auth-extra-groups": b64("system:bootstrappers:kubeadm:default-node-token"),
                },
            });
        } catch (e) {
            if (!(e instanceof KubeError && e.status === 409)) throw e;
            ctx.log(SVC, `Secret bootstrap-token-${tokenId} already exists, continuing`);
        }
        ctx.log(SVC, `Generated token ID: ${tokenId} (secret redacted)`);
        return { command: `kubeadm join ${pyStr(host)}:6443 --token ${tokenId}.${tokenSecret} --discovery-token-ca-cert-hash sha256:${pyStr(certHash)}`, tokenId };
    } catch (e) {
        throw new PyError("RuntimeError", `Failed to generate join command: ${pyErrorText(e)}`);
    }
}

function now(): string {
    return new Date().toISOString();
}

export interface WaiterSpec {
    clusterId: string;
    nodeName: string;
    nodeData: unknown;
    tokenId?: string;
    source: WaiterRecord["source"];
    /** Append `nodeData` to the registry after labelling (the membership waiter does; the parser path already did). */
    appendToRegistry: boolean;
}

/**
 * `wait_for_node_and_label`: polls the Node named exactly `nodeName` until it is Ready, for at
 * most the window counted from issuance, then labels it `nodeID=<name>` and (membership path)
 * appends the node to the registry. The record is in `ctx.waiters`.
 */
export function startWaiter(ctx: Ctx, spec: WaiterSpec): WaiterRecord {
    const rec: WaiterRecord = { nodeId: spec.nodeName, clusterId: spec.clusterId, source: spec.source, tokenId: spec.tokenId, issuedAt: now(), state: "waiting" };
    ctx.waiters.push(rec);
    const started = Date.now();
    const generation = ctx.generation;
    void (async () => {
        const kube = ctx.kube;
        if (!kube) {
            rec.state = "error";
            rec.error = "Service host/port is not set.";
            return;
        }
        for (;;) {
            if (ctx.generation !== generation) {
                rec.state = "cancelled";
                return;
            }
            try {
                const node = await kube.readNode(spec.nodeName);
                if (nodeIsReady(node)) {
                    rec.readyAt = now();
                    break;
                }
            } catch (e) {
                if (!(e instanceof KubeError && e.status === 404)) ctx.log(SVC, `Error during node polling: ${(e as Error).message}`);
            }
            const windowSeconds = ctx.faults.controller.windowSeconds ?? ctx.cfg.waiterWindowSeconds;
            if (Date.now() - started > windowSeconds * 1000) {
                ctx.log(SVC, `Timeout: Node '${spec.nodeName}' did not become Ready in ${windowSeconds}s.`);
                rec.state = "timed-out";
                return;
            }
            if (!(await ctx.sleep(ctx.cfg.waiterPollSeconds * 1000, generation))) {
                rec.state = "cancelled";
                return;
            }
        }
        if (ctx.generation !== generation) {
            rec.state = "cancelled";
            return;
        }
        if (ctx.faults.controller.labelling === "never") {
            ctx.log(SVC, `Node '${spec.nodeName}' is Ready; labelling is switched off ("never"), not labelling it`);
            rec.state = "not-labelled";
            return;
        }
        try {
            await kube.patchNode(spec.nodeName, { metadata: { labels: { nodeID: spec.nodeName } } });
            rec.labelledAt = now();
            rec.state = "labelled";
            ctx.log(SVC, `Labeled node '${spec.nodeName}' with nodeID=${spec.nodeName}`);
        } catch (e) {
            rec.state = "error";
            rec.error = (e as Error).message;
            ctx.log(SVC, `Error in wait_for_node_and_label: ${rec.error}`);
            return;
        }
        if (spec.appendToRegistry) rec.registryUpdated = await appendNodeToRegistry(ctx, spec.clusterId, spec.nodeData);
    })();
    return rec;
}

/** `join_node`: the join command and a waiter, or `{"success": false, "error"}`. */
async function joinNode(ctx: Ctx, clusterId: string, nodeData: unknown, name: unknown, mode: unknown, customIp: unknown): Promise<PyDict> {
    try {
        const { command, tokenId } = await generateJoinCommand(ctx, clusterId, mode, customIp);
        startWaiter(ctx, { clusterId, nodeName: pyStr(name), nodeData, tokenId, source: "membership", appendToRegistry: true });
        return { success: true, join_command: command, message: `Join command generated and waiter started for node '${pyStr(name)}'` };
    } catch (e) {
        return { success: false, error: pyErrorText(e) };
    }
}

// ---------------------------------------------------------------- remove (core/k8s.py remove_node)

export async function drainNode(ctx: Ctx, clusterId: string, nodeId: unknown): Promise<PyDict> {
    const id = pyStr(nodeId);
    try {
        const kube = kubeOrFail(ctx);
        await kube.patchNode(id, { spec: { unschedulable: true } });
        const pods = await kube.listPodsOnNode(id);
        for (const pod of pods) {
            const meta = isDict(pod.metadata) ? pod.metadata : {};
            const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
            if (owners.length === 0) continue;
            if (owners.some((o) => isDict(o) && o.kind === "DaemonSet")) continue;
            try {
                await kube.evictPod(String(meta.namespace), String(meta.name), 30);
                ctx.log(SVC, `Evicting pod: ${String(meta.namespace)}/${String(meta.name)}`);
            } catch (e) {
                ctx.log(SVC, `Failed to evict pod ${String(meta.name)}: ${(e as Error).message}`);
            }
        }
        await removeNodeFromRegistry(ctx, clusterId, nodeId);
        return { success: true, message: `Node '${id}' drained. Client can now reset the node.` };
    } catch (e) {
        return { success: false, message: pyErrorText(e) };
    }
}

// ---------------------------------------------------------------- start-up and sync (init_functions.py, cluster_init.py)

function pyInt(s: string): number | undefined {
    const t = s.trim();
    return /^[+-]?\d+$/.test(t) ? parseInt(t, 10) : undefined;
}

export function parseCpu(q: unknown): number {
    const s = pyStr(q).trim().toLowerCase();
    if (s.endsWith("m")) {
        const m = pyInt(s.slice(0, -1));
        if (m !== undefined) return Math.floor(m / 1000);
    }
    const f = s === "" ? NaN : Number(s);
    return Number.isFinite(f) ? Math.trunc(f) : 0;
}

export function parseMemMb(q: unknown): number {
    const s = pyStr(q).trim();
    const unit = s.length >= 2 ? s.slice(-2).toLowerCase() : "";
    const head = pyInt(s.slice(0, -2));
    const mult: Record<string, number> = { ki: 1 / 1024, mi: 1, gi: 1024, ti: 1024 * 1024 };
    if (unit in mult) return head === undefined ? 0 : unit === "ki" ? Math.floor(head / 1024) : head * mult[unit];
    if (/^\d+$/.test(s)) return Math.floor(parseInt(s, 10) / 1024);
    const f = s === "" ? NaN : Number(s);
    return Number.isFinite(f) ? Math.trunc(f / (1024 * 1024)) : 0;
}

export function parseGpuAnnotation(annotation: unknown): PyDict {
    const none = { count: 0, memory: 0, gpus: [], features: [], modelNames: [] };
    if (typeof annotation !== "string" || annotation.trim() === "") return none;
    try {
        const gpus = JSON.parse(annotation) as unknown;
        if (!Array.isArray(gpus)) return none;
        let memory = 0;
        const names = new Set<string>();
        for (const g of gpus) {
            const m = pget(g, "memory", 0);
            const asInt = typeof m === "number" ? Math.trunc(m) : typeof m === "string" ? pyInt(m) : undefined;
            if (asInt === undefined) return none;
            memory += asInt;
            names.add(pyStr(pget(g, "modelName", "Unknown")));
        }
        return { count: gpus.length, memory, gpus, features: ["fp16"], modelNames: [...names].sort() };
    } catch {
        return none;
    }
}

/** `ClusterNodeInventory.collect()` + `sync_node()`: replaces `nodes.nodeData` from Kubernetes. */
export async function syncClusterNodes(ctx: Ctx, clusterId: string): Promise<[true, unknown] | [false, string]> {
    const kube = kubeOrFail(ctx);
    const nodes = await kube.listNodes();
    const populated: PyDict[] = [];
    const agg = { gpuCount: 0, gpuMem: 0, vcpus: 0, memory: 0, disks: 0, storage: 0, ifaces: 0, tx: 0, rx: 0 };
    for (const node of nodes) {
        const meta = isDict(node.metadata) ? node.metadata : {};
        const annotations = isDict(meta.annotations) ? meta.annotations : {};
        const gpu = parseGpuAnnotation(annotations["gpu.aios/info"] ?? "");
        const capacity = isDict(node.status) && isDict(node.status.capacity) ? node.status.capacity : {};
        const vcpus = parseCpu(capacity.cpu ?? "0");
        const memory = parseMemMb(capacity.memory ?? "0");
        populated.push({
            id: meta.name,
            gpus: gpu,
            vcpus: { count: vcpus },
            memory,
            swap: 0,
            storage: { disks: 1, size: 512000 },
            network: { interfaces: 1, txBandwidth: 10000, rxBandwidth: 10000 },
        });
        agg.gpuCount += gpu.count as number;
        agg.gpuMem += gpu.memory as number;
        agg.vcpus += vcpus;
        agg.memory += memory;
        agg.disks += 1;
        agg.storage += 512000;
        agg.ifaces += 1;
        agg.tx += 10000;
        agg.rx += 10000;
    }
    return updateCluster(ctx, clusterId, {
        "nodes.nodeData": populated,
        "nodes.count": populated.length,
        gpus: { count: agg.gpuCount, memory: agg.gpuMem },
        vcpus: { count: agg.vcpus },
        memory: agg.memory,
        swap: 0,
        storage: { disks: agg.disks, size: agg.storage },
        network: { interfaces: agg.ifaces, txBandwidth: agg.tx, rxBandwidth: agg.rx },
    });
}

/** `run_main()` before `app.run`: label every Node `nodeID=<its name>`, then sync the registry. */
export async function membershipStartup(ctx: Ctx): Promise<void> {
    const kube = ctx.kube;
    if (!kube) return;
    try {
        const nodes = await kube.listNodes();
        for (const n of nodes) {
            const name = String(isDict(n.metadata) ? n.metadata.name : "");
            await kube.patchNode(name, { metadata: { labels: { nodeID: name } } });
        }
        ctx.log(SVC, `start-up: labelled ${nodes.length} node(s) nodeID=<name>`);
        const cid = ctx.membershipDefaultCluster();
        if (cid) {
            const [ok, resp] = await syncClusterNodes(ctx, cid);
            ctx.log(SVC, ok ? `start-up: synced cluster ${cid} from Kubernetes` : `start-up: sync of ${cid} failed: ${pyStr(resp)}`);
        }
    } catch (e) {
        ctx.log(SVC, `start-up: Failed to label nodes: ${(e as Error).message}`);
    }
}

// ---------------------------------------------------------------- HTTP (core/apis.py)

function clusterIdFor(ctx: Ctx, req: Req, nodeData?: unknown): string {
    const h = req.headers[CLUSTER_HEADER];
    if (typeof h === "string" && h !== "") return h;
    if (isDict(nodeData) && typeof nodeData.cluster_id === "string") return nodeData.cluster_id;
    const q = req.query.get("cluster_id");
    if (q) return q;
    return ctx.membershipDefaultCluster() ?? "None";
}

async function guarded(f: () => Promise<PyDict>): Promise<Res> {
    try {
        return flaskJson(await f());
    } catch (e) {
        return flaskJson({ success: false, error: pyErrorText(e) }, 500);
    }
}

export function membershipRouter(ctx: Ctx): Router {
    const r = new Router();
    r.add("POST", "/pre-checks/add-node", (req) =>
        guarded(async () => {
            const data = flaskRequestJson(req);
            const { allowed, updated } = await preCheckAdd(ctx, clusterIdFor(ctx, req, data), data);
            return { allowed, node_data: updated, success: true };
        }),
    );
    r.add("POST", "/pre-checks/add-node/mgmt", (req) =>
        guarded(async () => {
            const data = flaskRequestJson(req);
            pitem(data, "mgmt_action");
            pitem(data, "mgmt_data");
            throw new PyError("NameError", "name 'membership' is not defined");
        }),
    );
    r.add("POST", "/join-node", (req) =>
        guarded(async () => {
            const data = flaskRequestJson(req);
            const mode = pget(data, "mode", "local_network");
            const customIp = pget(data, "custom_ip");
            const nodeData = pitem(data, "node_data");
            const clusterId = clusterIdFor(ctx, req, nodeData);
            const { allowed, updated } = await preCheckAdd(ctx, clusterId, nodeData);
            if (!allowed) throw new PyError("Exception", pyStr(updated));
            const name = pitem(updated, "id");
            return { result: await joinNode(ctx, clusterId, nodeData, name, mode, customIp), success: true };
        }),
    );
    r.add("POST", "/pre-checks/remove-node", (req) =>
        guarded(async () => {
            const data = flaskRequestJson(req);
            const nodeId = pitem(data, "node_id");
            const { allowed, updated } = await preCheckRemove(ctx, clusterIdFor(ctx, req), nodeId);
            return { allowed, node_id: updated, success: true };
        }),
    );
    r.add("POST", "/pre-checks/remove-node/mgmt", (req) =>
        guarded(async () => {
            const data = flaskRequestJson(req);
            pitem(data, "mgmt_action");
            pitem(data, "mgmt_data");
            throw new PyError("NameError", "name 'demembership' is not defined");
        }),
    );
    r.add("POST", "/remove-node", (req) =>
        guarded(async () => {
            const data = flaskRequestJson(req);
            const nodeId = pitem(data, "node_id");
            const clusterId = clusterIdFor(ctx, req);
            const { allowed, updated } = await preCheckRemove(ctx, clusterId, nodeId);
            if (!allowed) throw new PyError("Exception", pyStr(updated));
            return { result: await drainNode(ctx, clusterId, updated), success: true };
        }),
    );
    r.add("GET", "/sync-cluster", (req) =>
        guarded(async () => {
            const [ok, resp] = await syncClusterNodes(ctx, clusterIdFor(ctx, req));
            if (!ok) throw new PyError("Exception", pyStr(resp));
            return { success: true, data: resp };
        }),
    );
    return r;
}
