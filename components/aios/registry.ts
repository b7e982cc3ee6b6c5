/**
 * Client of the AIOS cluster registry (Express + Mongoose, NodePort 30101; contract §2).
 */
import { AiosError, asObject, errorText, HttpOptions, JsonResponse, normalizeBaseUrl, requestJson, safeUrl } from "./http";
import { ClusterDocument, NodeEntry, parseClusterDocument } from "./schemas";

/** A Mongo update document, e.g. `{"$set": {"nodes.count": 1}}` (contract §2.1 `PUT /clusters/:id`). */
export type MongoUpdate = { [operator: `$${string}`]: Record<string, unknown> };

/** What `removeNodeEntry` did. */
export interface RemoveNodeEntryResult {
    /** How many `nodes.nodeData` entries had the id (AIOS does not de-duplicate, contract §10.5). */
    removed: number;
    /** The cluster document after the update (or as read, when nothing was removed). */
    cluster: ClusterDocument;
}

/** Talks to `{registry}/clusters...`. */
export class RegistryClient {
    private readonly baseUrl: string;
    private readonly opts: HttpOptions;

    /**
     * @param baseUrl the registry's base URL, e.g. `http://clusters-db-service.registries.svc.cluster.local:3000`
     * @param opts timeouts and retries; `urlSetting` names the user's setting in fix hints (default `registryUrl`)
     */
    constructor(baseUrl: string, opts: HttpOptions = {}) {
        const urlSetting = opts.urlSetting ?? "registryUrl";
        this.opts = { ...opts, urlSetting };
        this.baseUrl = normalizeBaseUrl("registry", urlSetting, baseUrl);
    }

    /** Reads one cluster. A missing cluster is an AiosError of kind `failed` with status 404. */
    async getCluster(id: string): Promise<ClusterDocument> {
        const operation = `reading cluster ${id}`;
        const res = await this.request("GET", this.clusterUrl(id), operation, undefined, true);
        return this.clusterFrom(res, id, operation);
    }

    /** Applies a Mongo update (`{"$set": {...}}`) to one cluster and returns the updated document. */
    async putCluster(id: string, update: MongoUpdate): Promise<ClusterDocument> {
        const operation = `updating cluster ${id}`;
        // Not retried: a lost response after a successful write would be re-applied on top of
        // whatever changed in between (contract §2.4: updates are read-modify-write of nodeData).
        const res = await this.request("PUT", this.clusterUrl(id), operation, update, false);
        return this.clusterFrom(res, id, operation);
    }

    /**
     * Runs `Cluster.find(filter)`. The body is always `{"query": filter}`: the registry reads
     * `req.body.query`, so a bare filter (as the docs show) means "no filter" and returns every
     * cluster (contract §2.1).
     */
    async queryClusters(filter: Record<string, unknown>): Promise<ClusterDocument[]> {
        const operation = `querying clusters with ${JSON.stringify(filter)}`;
        // A query has no side effects, so it may be retried even though it is a POST.
        const res = await this.request("POST", `${this.baseUrl}/clusters/query`, operation, { query: filter }, true);
        if (res.status !== 200) throw this.statusError(res, operation, "check the filter");
        if (!Array.isArray(res.body)) {
            throw this.malformed(res, operation, `expected a JSON array of clusters, got ${describeJson(res.body)}`);
        }
        return res.body.map((doc, i) => {
            const id = asObject(doc)?.id;
            return this.parseCluster(doc, typeof id === "string" ? id : `#${i}`, res.url, operation);
        });
    }

    /**
     * The cluster whose `nodes.nodeData` holds `nodeId`, or undefined. Throws if several do,
     * since the operator must resolve that by hand.
     */
    async findClusterOfNode(nodeId: string): Promise<ClusterDocument | undefined> {
        // contract §2.4: array match on nodes.nodeData.id.
        const found = await this.queryClusters({ "nodes.nodeData.id": nodeId });
        // Re-check client-side: a registry that ignored the filter (the bare-filter pitfall,
        // contract §2.1) returns every cluster, and we must not take any of them for a match.
        const holding = found.filter((c) => (c.nodes?.nodeData ?? []).some((e) => e.id === nodeId));
        if (holding.length > 1) {
            throw new AiosError({
                service: "registry",
                operation: `looking up the cluster of node ${nodeId}`,
                url: safeUrl(`${this.baseUrl}/clusters/query`),
                kind: "failed",
                reason: `node ${nodeId} is listed in ${holding.length} clusters: ${holding.map((c) => c.id).join(", ")}`,
                fix: "remove the stale nodes.nodeData entries from all but one cluster",
            });
        }
        return holding[0];
    }

    /**
     * Removes every `nodes.nodeData` entry with this id and recomputes the cluster totals the way
     * the AIOS membership server does (contract §2.4). Idempotent: when no entry has the id,
     * nothing is written.
     */
    async removeNodeEntry(clusterId: string, nodeId: string): Promise<RemoveNodeEntryResult> {
        const cluster = await this.getCluster(clusterId);
        const entries = cluster.nodes?.nodeData ?? [];
        const remaining = entries.filter((e) => e.id !== nodeId);
        if (remaining.length === entries.length) return { removed: 0, cluster };
        const updated = await this.putCluster(clusterId, { $set: nodeDataUpdate(remaining) });
        return { removed: entries.length - remaining.length, cluster: updated };
    }

    /**
     * Adds `entry` to `nodes.nodeData` unless an entry with its id is there, recomputing the totals the
     * way the AIOS membership server does. Returns whether it wrote.
     */
    async addNodeEntry(clusterId: string, entry: NodeEntry): Promise<boolean> {
        const cluster = await this.getCluster(clusterId);
        const entries = cluster.nodes?.nodeData ?? [];
        if (entries.some((e) => e.id === entry.id)) return false;
        await this.putCluster(clusterId, { $set: nodeDataUpdate([...entries, entry]) });
        return true;
    }

    private clusterUrl(id: string): string {
        return `${this.baseUrl}/clusters/${encodeURIComponent(id)}`;
    }

    private request(method: "GET" | "POST" | "PUT", url: string, operation: string, body: unknown, retryable: boolean): Promise<JsonResponse> {
        return requestJson({ service: "registry", operation, method, url, body, retryable }, this.opts);
    }

    /** Decodes a single-document answer (GET and PUT share their statuses, contract §2.1). */
    private clusterFrom(res: JsonResponse, id: string, operation: string): ClusterDocument {
        if (res.status === 404) {
            throw new AiosError({
                service: "registry",
                operation,
                url: res.url,
                status: 404,
                kind: "failed",
                reason: `cluster id "${id}" is not in the registry (${errorText(res.body)})`,
                fix: "check the cluster id, or register the cluster first",
            });
        }
        if (res.status !== 200) throw this.statusError(res, operation, "check the registry's logs and its MongoDB");
        return this.parseCluster(res.body, id, res.url, operation);
    }

    /** One error listing every bad path, e.g. `config.allowExternalNodes: expected boolean, found string "yes"`. */
    private parseCluster(doc: unknown, id: string, url: string, operation: string): ClusterDocument {
        const parsed = parseClusterDocument(doc);
        if (parsed.ok) return parsed.value;
        const reason = parsed.problems.join("; ");
        const fix = `fix the cluster document, e.g. with PUT /clusters/${id} {"$set": {...}}`;
        const message = `cluster "${id}" from registry ${url}: ${reason} (${fix})`;
        throw new AiosError({ service: "registry", operation, url, status: 200, kind: "malformed", reason, fix, message });
    }

    private malformed(res: JsonResponse, operation: string, reason: string): AiosError {
        const fix = `check that ${this.opts.urlSetting} points at the AIOS cluster registry`;
        return new AiosError({ service: "registry", operation, url: res.url, status: res.status, kind: "malformed", reason, fix });
    }

    private statusError(res: JsonResponse, operation: string, fix: string): AiosError {
        return new AiosError({ service: "registry", operation, url: res.url, status: res.status, kind: "http", reason: errorText(res.body), fix });
    }
}

/**
 * The `$set` that replaces `nodes.nodeData` and recomputes the totals, mirroring
 * `update_cluster_with_new_node_data`/`remove_node_from_cluster` in the membership server
 * (contract §2.4): each total is the sum over the entries, a missing value counts as 0, and
 * `gpus.modelNames` is the union of the entries' model names.
 */
export function nodeDataUpdate(entries: NodeEntry[]): Record<string, unknown> {
    const sum = (pick: (e: NodeEntry) => unknown): number => entries.reduce((total, e) => total + numberOr0(pick(e)), 0);
    const sub = (e: NodeEntry, key: string): Record<string, unknown> => asObject(e[key]) ?? {};
    const modelNames = new Set<string>();
    for (const e of entries) {
        const names = sub(e, "gpus").modelNames;
        if (Array.isArray(names)) names.filter((n): n is string => typeof n === "string").forEach((n) => modelNames.add(n));
    }
    return {
        "nodes.count": entries.length,
        "nodes.nodeData": entries,
        "gpus.count": sum((e) => sub(e, "gpus").count),
        "gpus.memory": sum((e) => sub(e, "gpus").memory),
        // Mongoose's strict mode probably drops this path (contract §2.2); sent anyway, as AIOS does.
        "gpus.modelNames": [...modelNames].sort(),
        "vcpus.count": sum((e) => sub(e, "vcpus").count),
        memory: sum((e) => e.memory),
        swap: sum((e) => e.swap),
        "storage.disks": sum((e) => sub(e, "storage").disks),
        "storage.size": sum((e) => sub(e, "storage").size),
        "network.interfaces": sum((e) => sub(e, "network").interfaces),
        "network.txBandwidth": sum((e) => sub(e, "network").txBandwidth),
        "network.rxBandwidth": sum((e) => sub(e, "network").rxBandwidth),
    };
}

/** AIOS sums with Python's `.get(key, 0)`; a non-number would crash it, here it counts as 0. */
function numberOr0(v: unknown): number {
    return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function describeJson(v: unknown): string {
    if (v === null) return "null";
    if (Array.isArray(v)) return "an array";
    return typeof v === "object" ? "an object" : typeof v;
}
