/**
 * The cluster-controller-gateway stand-in (`services/management-services/cluster_controller_gateway`,
 * contract §4, §5, §7): node routes only. The network policy map is its in-memory
 * `CLUSTER_CONTROLLER_GATEWAY_ACTIONS_MAP`; the membership server is reached over HTTP at the
 * cluster document's `config.urlMap.membershipServer`.
 */
import { CLUSTER_HEADER, readCluster, updateCluster, type Ctx } from "./context";
import { Router, flaskJson, flaskRequestJson, pyRequest, type Res } from "./http";
import { clusterMetricsStub, evaluatorFor, type PolicyEvaluator } from "./policies";
import { PyError, isDict, pget, pitem, psetitem, pyErrorText, pyStr, pyTypeName, truthy, type PyDict } from "./py";

/** `BaseClusterPolicy.__init__`: the cluster document and the network policy for `action`. */
async function networkPolicy(ctx: Ctx, clusterId: string, action: "add_node" | "remove_node"): Promise<{ clusterData: unknown; evaluator?: PolicyEvaluator }> {
    const [ok, clusterData] = await readCluster(ctx, clusterId);
    if (!ok) throw new PyError("Exception", "Cluster data not found");
    return { clusterData, evaluator: evaluatorFor(ctx.network.map, action) };
}

export async function networkPreCheckAdd(ctx: Ctx, clusterId: string, nodeData: unknown): Promise<{ allowed: boolean; updated: unknown; clusterData: unknown }> {
    const { clusterData, evaluator } = await networkPolicy(ctx, clusterId, "add_node");
    if (!evaluator) return { allowed: true, updated: nodeData, clusterData };
    const payload = { cluster_data: clusterData, cluster_metrics: clusterMetricsStub(clusterId, clusterData), node_data: nodeData };
    return { ...evaluator.evaluate(payload, nodeData), clusterData };
}

async function networkPreCheckRemove(ctx: Ctx, clusterId: string, nodeId: unknown): Promise<{ allowed: boolean; updated: unknown }> {
    const { clusterData, evaluator } = await networkPolicy(ctx, clusterId, "remove_node");
    if (!evaluator) return { allowed: true, updated: nodeId };
    const payload = { cluster_data: clusterData, cluster_metrics: clusterMetricsStub(clusterId, clusterData), node_id: nodeId, block_instances: [] };
    return evaluator.evaluate(payload, nodeId);
}

/** `get_cluster_membership_connection_url`. */
async function membershipUrl(ctx: Ctx, clusterId: string): Promise<string> {
    const [ok, resp] = await readCluster(ctx, clusterId);
    if (!ok) throw new PyError("Exception", pyStr(resp));
    const config = pitem(resp, "config");
    if (!isDict(config) || !("urlMap" in config)) throw new PyError("Exception", "config did not provide URL MAP");
    return pyStr(pget(config.urlMap, "membershipServer") ?? null);
}

/** `ClusterMembershipClient(cluster_id).<call>`: POSTs to the membership server. */
async function membershipCall(ctx: Ctx, clusterId: string, path: string, payload: unknown, jsonFirst: boolean): Promise<unknown> {
    const base = await membershipUrl(ctx, clusterId);
    const resp = await pyRequest("POST", `${base}${path}`, payload, { headers: { [CLUSTER_HEADER]: clusterId } });
    if (jsonFirst) {
        const body = resp.json();
        resp.raiseForStatus();
        return body;
    }
    resp.raiseForStatus();
    return resp.json();
}

async function errorAs(f: () => Promise<Res>, shape: (msg: string) => PyDict): Promise<Res> {
    try {
        return await f();
    } catch (e) {
        return flaskJson(shape(pyErrorText(e)), 500);
    }
}

const withSuccess = (msg: string): PyDict => ({ success: false, error: msg });
const bare = (msg: string): PyDict => ({ error: msg });

/** `target.update(v)` of a Python dict, for any decoded JSON value. */
function dictUpdate(target: PyDict, v: unknown): void {
    if (isDict(v)) {
        Object.assign(target, v);
        return;
    }
    if (typeof v === "string" || Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
            const el: unknown = v[i];
            const len = typeof el === "string" || Array.isArray(el) ? el.length : undefined;
            if (len === undefined) throw new PyError("TypeError", `cannot convert dictionary update sequence element #${i} to a sequence`);
            if (len !== 2) throw new PyError("ValueError", `dictionary update sequence element #${i} has length ${len}; 2 is required`);
            const pair = el as ArrayLike<unknown>;
            target[pyStr(pair[0])] = pair[1];
        }
        return;
    }
    throw new PyError("TypeError", `'${pyTypeName(v)}' object is not iterable`);
}

export function gatewayRouter(ctx: Ctx): Router {
    const r = new Router();

    r.add("POST", "/pre-checks/add-node/:cid", (req, p) =>
        errorAs(async () => {
            const nodeData = flaskRequestJson(req);
            psetitem(nodeData, "cluster_id", p.cid);
            const { allowed, updated } = await networkPreCheckAdd(ctx, p.cid, nodeData);
            if (!allowed) return flaskJson({ success: true, allowed: false, message: "Node addition not allowed by policy" });
            return flaskJson(await membershipCall(ctx, p.cid, "/pre-checks/add-node", updated, false));
        }, withSuccess),
    );

    r.add("POST", "/join-node/:cid", (req, p) =>
        errorAs(async () => {
            const data = flaskRequestJson(req);
            const nodeData = pget(data, "node_data", {});
            psetitem(nodeData, "cluster_id", p.cid);
            const mode = pget(data, "mode", "local_network");
            const customIp = pget(data, "custom_ip");
            const { allowed } = await networkPreCheckAdd(ctx, p.cid, nodeData);
            if (!allowed) return flaskJson({ success: true, allowed: false, message: "Join not allowed by policy" });
            const payload: PyDict = { node_data: nodeData, mode };
            if (truthy(customIp)) payload.custom_ip = customIp;
            return flaskJson(await membershipCall(ctx, p.cid, "/join-node", payload, true));
        }, withSuccess),
    );

    r.add("POST", "/pre-checks/remove-node/:cid", (req, p) =>
        errorAs(async () => {
            const nodeId = pitem(flaskRequestJson(req), "node_id");
            const { allowed, updated } = await networkPreCheckRemove(ctx, p.cid, nodeId);
            if (!allowed) return flaskJson({ success: true, allowed: false, message: "Node removal not allowed by policy" });
            return flaskJson(await membershipCall(ctx, p.cid, "/pre-checks/remove-node", { node_id: updated }, false));
        }, withSuccess),
    );

    r.add("POST", "/remove-node/:cid", (req, p) =>
        errorAs(async () => {
            const nodeId = pitem(flaskRequestJson(req), "node_id");
            const { allowed, updated } = await networkPreCheckRemove(ctx, p.cid, nodeId);
            if (!allowed) return flaskJson({ success: true, allowed: false, message: "Node removal not allowed by policy" });
            return flaskJson(await membershipCall(ctx, p.cid, "/remove-node", { node_id: updated }, false));
        }, withSuccess),
    );

    r.add("POST", "/pre-checks/add-node/mgmt/:cid", (req, p) =>
        errorAs(async () => {
            const data = flaskRequestJson(req);
            const { evaluator } = await networkPolicy(ctx, p.cid, "add_node");
            if (!evaluator) throw new PyError("Exception", "ClusterMembership policy is not initialized");
            pitem(data, "mgmt_action");
            throw new PyError("Exception", "management commands are not supported by the policies of the AIOS world");
        }, withSuccess),
    );

    r.add("POST", "/pre-checks/remove-node/mgmt/:cid", (req, p) =>
        errorAs(async () => {
            const data = flaskRequestJson(req);
            const { evaluator } = await networkPolicy(ctx, p.cid, "remove_node");
            if (!evaluator) throw new PyError("Exception", "ClusterDeMembership policy is not initialized");
            pitem(data, "mgmt_action");
            throw new PyError("Exception", "management commands are not supported by the policies of the AIOS world");
        }, withSuccess),
    );

    // Proxies with POST to the membership server's GET-only route: always 405 -> 500 (contract §4.5).
    r.add("GET", "/sync-cluster/:cid", (_req, p) =>
        errorAs(async () => {
            const base = await membershipUrl(ctx, p.cid);
            const resp = await pyRequest("POST", `${base}/sync-cluster`, undefined, { headers: { [CLUSTER_HEADER]: p.cid } });
            resp.raiseForStatus();
            return flaskJson(resp.json());
        }, withSuccess),
    );

    r.add("POST", "/pre-check-policies/update", (req) =>
        errorAs(async () => {
            const newMap = flaskRequestJson(req);
            const clusterId = req.query.get("cluster_id");
            if (clusterId) {
                const [ok, cluster] = await readCluster(ctx, clusterId);
                if (!ok) throw new PyError("Exception", pyStr(cluster));
                const config = pitem(cluster, "config");
                const maps = pget(config, "actionsPolicyMap", {});
                if (!isDict(maps)) throw new PyError("AttributeError", `'${pyTypeName(maps)}' object has no attribute 'update'`);
                dictUpdate(maps, newMap);
                const [done, resp] = await updateCluster(ctx, clusterId, { "config.actionsPolicyMap": maps });
                if (!done) throw new PyError("Exception", pyStr(resp));
                return flaskJson({ success: true, map: maps });
            }
            const current = ctx.network.map;
            if (!isDict(current)) throw new PyError("AttributeError", `'${pyTypeName(current)}' object has no attribute 'update'`);
            const actions: PyDict = { ...current };
            dictUpdate(actions, newMap);
            // The quirk: the stored map is replaced by the request body, the answer shows the merge.
            ctx.network.map = JSON.parse(JSON.stringify(newMap)) as unknown;
            return flaskJson({ success: true, map: actions });
        }, bare),
    );

    r.add("GET", "/pre-check-policies/get", (req) =>
        errorAs(async () => {
            const clusterId = req.query.get("cluster_id");
            if (clusterId) {
                const [ok, cluster] = await readCluster(ctx, clusterId);
                if (!ok) throw new PyError("Exception", pyStr(cluster));
                return flaskJson({ success: true, map: pget(pitem(cluster, "config"), "actionsPolicyMap", {}) });
            }
            return flaskJson({ success: true, map: ctx.network.map });
        }, bare),
    );

    r.add("POST", "/pre-check-policies/add_node/dry_run/:cid", (req, p) =>
        errorAs(async () => {
            const requestData = flaskRequestJson(req);
            const { allowed, updated } = await networkPreCheckAdd(ctx, p.cid, requestData);
            if (allowed) {
                const response = await membershipCall(ctx, p.cid, "/pre-checks/add-node", requestData, false);
                const denied = isDict(response) && "allowed" in response && !truthy(response.allowed);
                return flaskJson({ success: true, allowed: !denied, data: updated, cluster_response: response });
            }
            return flaskJson({ success: true, allowed, data: updated });
        }, bare),
    );

    r.add("POST", "/pre-check-policies/remove_node/dry_run/:cid/:nid", (_req, p) =>
        errorAs(async () => {
            const { allowed, updated } = await networkPreCheckRemove(ctx, p.cid, p.nid);
            if (allowed) {
                const response = await membershipCall(ctx, p.cid, "/pre-checks/remove-node", { node_id: p.nid }, false);
                return flaskJson({ success: true, allowed, data: updated, cluster_response: response });
            }
            return flaskJson({ success: true, allowed, data: updated });
        }, bare),
    );

    return r;
}
