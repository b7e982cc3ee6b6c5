import type { NodeEntry } from "../../../../components/aios";
import { Received, reply, startServer, TestServer } from "./servers";

export type Doc = Record<string, unknown> & { id: string };

/** Sets a dotted Mongo path, as `$set` does. */
function setPath(doc: Record<string, unknown>, dotted: string, value: unknown): void {
    const keys = dotted.split(".");
    let cur = doc;
    for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
    cur[keys[keys.length - 1]] = value;
}

// The registry schema's paths (contract §2.2); Mongoose's strict mode drops `$set`s of others.
const SCHEMA_PATHS = new Set(["id", "regionId", "nodes.count", "nodes.nodeData", "gpus.count", "gpus.memory", "vcpus.count", "memory", "swap",
    "storage.disks", "storage.size", "network.interfaces", "network.txBandwidth", "network.rxBandwidth", "tags", "reputation"]);
const inSchema = (p: string): boolean => SCHEMA_PATHS.has(p) || /^(config|clusterMetadata)(\.|$)/.test(p);

/**
 * A fake registry with the real routes' semantics (contract §2.1): GET/PUT by id with 404s,
 * `$set` of dotted schema paths, and POST /clusters/query reading `req.body.query`, where a
 * missing query means no filter. Only the `nodes.nodeData.id` filter is implemented. `dropPuts`
 * answers PUTs without applying them, as when another writer replaced the document right after;
 * `getDelayMs` answers each GET of a cluster that much later, with the document as it was asked for.
 */
export async function fakeRegistry(docs: Doc[], opts: { dropPuts?: boolean; getDelayMs?: number } = {}): Promise<TestServer> {
    const byId = (id: string): Doc | undefined => docs.find((d) => d.id === decodeURIComponent(id));
    return startServer((req: Received, res) => {
        const m = /^\/clusters\/([^/]+)$/.exec(req.path);
        if (req.method === "POST" && req.path === "/clusters/query") {
            const query = (req.body as { query?: Record<string, unknown> }).query;
            const nodeId = query?.["nodes.nodeData.id"];
            const hit = docs.filter((d) => nodeId === undefined || ((d.nodes as { nodeData: NodeEntry[] }).nodeData ?? []).some((e) => e.id === nodeId));
            return reply(res, 200, hit);
        }
        const doc = m ? byId(m[1]) : undefined;
        if (!doc) return reply(res, 404, { error: "Cluster not found" });
        if (req.method === "GET" && opts.getDelayMs) {
            const asked = structuredClone(doc);
            setTimeout(() => reply(res, 200, asked), opts.getDelayMs);
            return;
        }
        if (req.method === "PUT" && !opts.dropPuts) {
            for (const [k, v] of Object.entries((req.body as { $set: Record<string, unknown> }).$set)) if (inSchema(k)) setPath(doc, k, structuredClone(v));
        }
        reply(res, 200, doc);
    });
}

