/**
 * The parser stand-in (`services/management-services/parser`, contract §3): `POST /api/<action>`
 * with the Flask envelope handling, `node_add_IR`, and two switchable `addNode` behaviours:
 *
 * - `head` (default): what the code at HEAD does. It forwards the IR to the gateway's
 *   `/nodes/add-node-to-cluster/<cid>`, which no longer exists, and reports the JSON decoding
 *   failure of the 404 page as HTTP 200 `result: [false, "Expecting value: ..."]`.
 * - `intended`: the April semantics (§3.3). The network `add_node` policy is evaluated, then the
 *   cluster's. A rejection answers `result: [false, <reason>]`; otherwise the node (with
 *   `cluster_id`) is appended to the registry with recomputed totals and the updated document is
 *   the result. The docs say the Cluster Controller labels the node once it joins, so a labelling
 *   waiter is started too (it does not append to the registry a second time).
 */
import type { Ctx } from "./context";
import { readCluster, updateCluster } from "./context";
import { Router, flaskJson, flaskRequestJson, pyRequest, type Res } from "./http";
import { networkPreCheckAdd } from "./gateway";
import { aggregateUpdate, startWaiter } from "./membership";
import { clusterMetricsStub, evaluatorFor } from "./policies";
import { PyError, isDict, pget, pitem, pyErrorText, pyStr, truthy, type PyDict } from "./py";

const ACTIONS = ["createBlock", "createCluster", "createvDAG", "parameterUpdate", "llmCreate", "llmVDAGCreateManual", "search", "filter", "llmVDAGCreate", "addNode", "executeMgmtCommand"];

/** `check_is_external_template`. */
function isExternalTemplate(doc: unknown): boolean {
    const header = pget(doc, "header");
    if (!truthy(header)) return false;
    const template = pget(header, "templateUri");
    if (!truthy(template)) return false;
    return template !== "Parser/V1";
}

/** `node_add_IR`: the IR `{clusterId, nodeData}` with the code's (not the docs') input shape. */
export function nodeAddIR(doc: unknown): PyDict {
    if (isExternalTemplate(doc)) {
        // The template store is not part of the world; the real call fails to connect the same way.
        throw new PyError("ConnectionError", "HTTPConnectionPool(host='localhost', port=80): Max retries exceeded with url: /templates/execute (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f3a2c1d5e50>: Failed to establish a new connection: [Errno 111] Connection refused'))");
    }
    const values = pitem(pitem(pitem(doc, "body"), "spec"), "values");
    const clusterId = pget(values, "clusterId");
    const nd = pget(values, "nodeData");
    const id = pget(nd, "id");
    const g = pitem(nd, "gpus");
    const gpus = { count: pget(g, "count"), memory: pget(g, "memory"), gpus: pget(g, "gpus", []), modelNames: pget(g, "modelNames", []), features: pget(g, "features", []) };
    const vcpus = { count: pget(pitem(nd, "vcpus"), "count") };
    const memory = pget(nd, "memory");
    const swap = pget(nd, "swap");
    const st = pitem(nd, "storage");
    const storage = { disks: pget(st, "disks"), size: pget(st, "size") };
    const nw = pitem(nd, "network");
    const network = { interfaces: pget(nw, "interfaces"), txBandwidth: pget(nw, "txBandwidth"), rxBandwidth: pget(nw, "rxBandwidth") };
    const tags = pget(nd, "tags", []);
    const nodeMetadata = pget(nd, "nodeMetadata", {});
    return { clusterId, nodeData: { id, gpus, vcpus, memory, swap, storage, network, tags, nodeMetadata } };
}

/** HEAD: `ClusterInfraManagement.add_node_to_cluster` against the gateway, errors as `[false, msg]`. */
async function addNodeHead(ctx: Ctx, ir: PyDict): Promise<unknown> {
    try {
        const clusterId = pitem(ir, "clusterId");
        const nodeData = pitem(ir, "nodeData");
        const resp = await pyRequest("POST", `${ctx.gatewayUrl()}/nodes/add-node-to-cluster/${pyStr(clusterId)}`, nodeData);
        const data = resp.json();
        if (resp.status === 200 && truthy(pget(data, "success"))) return pitem(data, "data");
        throw new PyError("Exception", pyStr(pget(data, "message", "Failed to add node to cluster")));
    } catch (e) {
        return [false, pyErrorText(e)];
    }
}

/** A rejection's reason: the policy's `reason` text when it gave one, else `str(input_data)`. */
function reasonOf(updated: unknown): string {
    if (isDict(updated) && typeof updated.reason === "string") return updated.reason;
    return pyStr(updated);
}

/** "intended": network policy, cluster policy, then the registry append (contract §3.3). */
async function addNodeIntended(ctx: Ctx, ir: PyDict): Promise<unknown> {
    try {
        const clusterId = pyStr(pitem(ir, "clusterId"));
        const nodeData = pitem(ir, "nodeData") as PyDict;
        const net = await networkPreCheckAdd(ctx, clusterId, nodeData);
        if (!net.allowed) return [false, reasonOf(net.updated)];
        let node = net.updated;
        const [ok, cluster] = await readCluster(ctx, clusterId);
        if (!ok) return [false, "Cluster data not found"];
        const evaluator = evaluatorFor(pget(pget(cluster, "config", {}), "actionsPolicyMap", {}), "add_node");
        if (evaluator) {
            const out = evaluator.evaluate({ cluster_data: cluster, node_data: node, cluster_metrics: clusterMetricsStub(clusterId, cluster) }, node);
            if (!out.allowed) return [false, reasonOf(out.updated)];
            node = out.updated;
        }
        if (!isDict(node)) throw new PyError("TypeError", "string indices must be integers, not 'str'");
        const entry = { ...node, cluster_id: clusterId };
        const list = pget(pget(cluster, "nodes", {}), "nodeData", []);
        if (!Array.isArray(list)) throw new PyError("AttributeError", `'dict' object has no attribute 'append'`);
        const [done, updatedDoc] = await updateCluster(ctx, clusterId, aggregateUpdate([...list, entry]));
        if (!done) return [false, pyStr(updatedDoc)];
        startWaiter(ctx, { clusterId, nodeName: pyStr(pitem(entry, "id")), nodeData: entry, source: "parser", appendToRegistry: false });
        return updatedDoc;
    } catch (e) {
        return [false, pyErrorText(e)];
    }
}

export function parserRouter(ctx: Ctx): Router {
    const r = new Router();
    r.add("POST", "/api/:action", async (req, p): Promise<Res> => {
        try {
            const json = flaskRequestJson(req);
            if (!truthy(json)) return flaskJson({ error: "Invalid JSON input" }, 400);
            if (!ACTIONS.includes(p.action)) throw new PyError("ValueError", `Invalid action: ${p.action}`);
            if (p.action === "parameterUpdate") return flaskJson({ success: false, message: `Action ${p.action} is not implemented` }, 400);
            if (p.action !== "addNode") throw new PyError("Exception", `action ${p.action} is not part of the AIOS world (only addNode is)`);
            const ir = nodeAddIR(json);
            const result = ctx.faults.parser.addNode === "intended" ? await addNodeIntended(ctx, ir) : await addNodeHead(ctx, ir);
            return flaskJson({ success: true, task_id: "", result });
        } catch (e) {
            return flaskJson({ error: pyErrorText(e) }, 500);
        }
    });
    return r;
}
