/**
 * The cluster registry stand-in (contract §2): Express 4 + Mongoose 8 behaviour of
 * `services/registries/clusters`, with the documents kept in memory and written through to a JSON
 * state file so that a restart keeps them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Router, expressErrorPage, expressJson, type Req, type Res } from "./http";
import { MongoError, applyUpdate, buildClusterDoc, clone, matches, type Doc } from "./mongo";

export type RegistryMode = "ok" | "down" | "error500" | "slow" | "malformed";

export interface RegistryFaults {
    mode: RegistryMode;
    delayMs: number;
}

/** The registry's documents: insertion-ordered, written through to `stateFile` when one is set. */
export class ClusterStore {
    private docs: Doc[] = [];
    private seedDocs: Doc[] = [];

    constructor(private readonly stateFile?: string) {}

    /** Builds the seed documents; loads the state file instead when it exists and parses. */
    init(seed: unknown[]): { loadedFromStateFile: boolean } {
        this.seedDocs = seed.map((s) => {
            const built = buildClusterDoc(s);
            const given = (s as Doc)?._id;
            if (typeof given === "string" && /^[0-9a-f]{24}$/.test(given)) built._id = given;
            return built;
        });
        if (this.stateFile && fs.existsSync(this.stateFile)) {
            try {
                const parsed = JSON.parse(fs.readFileSync(this.stateFile, "utf8")) as { clusters?: unknown };
                if (Array.isArray(parsed.clusters)) {
                    this.docs = parsed.clusters as Doc[];
                    return { loadedFromStateFile: true };
                }
            } catch (e) {
                process.stderr.write(`[aios-world] registry: ignoring unreadable state file ${this.stateFile}: ${(e as Error).message}\n`);
            }
        }
        this.reset();
        return { loadedFromStateFile: false };
    }

    /** Back to the seed documents (same `_id`s as at start-up). */
    reset(): void {
        this.docs = clone(this.seedDocs);
        this.persist();
    }

    all(): Doc[] {
        return clone(this.docs);
    }

    get(id: string): Doc | undefined {
        const d = this.docs.find((x) => x.id === id);
        return d ? clone(d) : undefined;
    }

    create(body: unknown): Doc {
        const doc = buildClusterDoc(body);
        if (this.docs.some((d) => d.id === doc.id)) {
            throw new MongoError(`E11000 duplicate key error collection: test.clusters index: id_1 dup key: { id: ${JSON.stringify(doc.id)} }`);
        }
        this.docs.push(doc);
        this.persist();
        return clone(doc);
    }

    find(filter: Doc | undefined): Doc[] {
        return clone(this.docs.filter((d) => filter === undefined || matches(d, filter)));
    }

    update(id: string, update: unknown): Doc | undefined {
        const i = this.docs.findIndex((d) => d.id === id);
        if (i < 0) return undefined;
        const next = applyUpdate(this.docs[i], update);
        this.docs[i] = next;
        this.persist();
        return clone(next);
    }

    delete(id: string): boolean {
        const i = this.docs.findIndex((d) => d.id === id);
        if (i < 0) return false;
        this.docs.splice(i, 1);
        this.persist();
        return true;
    }

    /** Direct edit by the control API (policies): bypasses HTTP faults. */
    mutate(id: string, edit: (doc: Doc) => void): boolean {
        const d = this.docs.find((x) => x.id === id);
        if (!d) return false;
        edit(d);
        this.persist();
        return true;
    }

    private persist(): void {
        if (!this.stateFile) return;
        fs.mkdirSync(path.dirname(this.stateFile), { recursive: true });
        const tmp = `${this.stateFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify({ version: 1, clusters: this.docs }, null, 1));
        fs.renameSync(tmp, this.stateFile);
    }
}

/** What `express.json()` leaves in `req.body`, or the 400 page it answers with. */
function expressBody(req: Req): { body: unknown } | { error: Res } {
    const ct = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (ct !== "application/json") return { body: {} };
    const text = req.raw.toString("utf8");
    if (text.trim() === "") return { body: {} };
    const first = text.trimStart()[0];
    try {
        if (first !== "{" && first !== "[") {
            try {
                JSON.parse("#" + text.trimStart().slice(1));
            } catch (e) {
                throw new SyntaxError((e as Error).message.replace("#", first));
            }
        }
        return { body: JSON.parse(text) };
    } catch (e) {
        return { error: expressErrorPage(400, `SyntaxError: ${(e as Error).message}`) };
    }
}

function mongoFail(e: unknown): Res {
    if (e instanceof MongoError) return expressJson({ error: e.message }, 500);
    throw e;
}

/** Mongoose's answer while MongoDB is unreachable, per operation. */
function bufferingTimeout(op: string): Res {
    return expressJson({ error: `Operation \`clusters.${op}()\` buffering timed out after 10000ms` }, 500);
}

/** The malformed view of a document the "malformed" fault serves on `GET /clusters/:id`. */
export function malformedView(doc: Doc): Doc {
    const d = clone(doc);
    const meta = (typeof d.clusterMetadata === "object" && d.clusterMetadata !== null ? d.clusterMetadata : {}) as Doc;
    d.clusterMetadata = { ...meta, additionalInfo: JSON.stringify(meta.additionalInfo ?? {}) };
    const nodes = (typeof d.nodes === "object" && d.nodes !== null ? d.nodes : {}) as Doc;
    const list = Array.isArray(nodes.nodeData) ? (nodes.nodeData as Doc[]) : [];
    d.nodes = { ...nodes, nodeData: Object.fromEntries(list.map((n, i) => [String(n?.id ?? i), n])) };
    return d;
}

export function registryRouter(store: ClusterStore, faults: () => RegistryFaults): Router {
    const r = new Router();
    const withBody = (h: (body: unknown, req: Req, params: Record<string, string>) => Res) => (req: Req, params: Record<string, string>): Res => {
        const b = expressBody(req);
        if ("error" in b) return b.error;
        return h(b.body, req, params);
    };
    r.add("GET", "/clusters/:id", (_req, p) => {
        if (faults().mode === "error500") return bufferingTimeout("findOne");
        const doc = store.get(p.id);
        if (!doc) return expressJson({ error: "Cluster not found" }, 404);
        return expressJson(faults().mode === "malformed" ? malformedView(doc) : doc);
    });
    r.add(
        "PUT",
        "/clusters/:id",
        withBody((body, _req, p) => {
            if (faults().mode === "error500") return bufferingTimeout("findOneAndUpdate");
            try {
                const doc = store.update(p.id, body);
                return doc ? expressJson(doc) : expressJson({ error: "Cluster not found" }, 404);
            } catch (e) {
                return mongoFail(e);
            }
        }),
    );
    r.add("DELETE", "/clusters/:id", (_req, p) => {
        if (faults().mode === "error500") return bufferingTimeout("findOneAndDelete");
        return store.delete(p.id) ? expressJson({ message: "Cluster deleted" }) : expressJson({ error: "Cluster not found" }, 404);
    });
    r.add(
        "POST",
        "/clusters/query",
        withBody((body) => {
            if (faults().mode === "error500") return bufferingTimeout("find");
            const q = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Doc).query : undefined;
            if (q !== undefined && q !== null && (typeof q !== "object" || Array.isArray(q))) {
                return expressJson({ error: `Parameter "filter" to find() must be an object, got "${String(q)}" (type ${Array.isArray(q) ? "Array" : typeof q})` }, 500);
            }
            try {
                return expressJson(store.find((q ?? undefined) as Doc | undefined));
            } catch (e) {
                return mongoFail(e);
            }
        }),
    );
    r.add(
        "POST",
        "/clusters",
        withBody((body) => {
            if (faults().mode === "error500") return bufferingTimeout("insertOne");
            try {
                return expressJson(store.create(body));
            } catch (e) {
                return mongoFail(e);
            }
        }),
    );
    const groups = (): Res => expressJson({ error: "groupService is not defined" }, 500);
    r.add(["GET", "POST", "PUT", "DELETE", "PATCH"], "/groups", groups);
    r.add(["GET", "POST", "PUT", "DELETE", "PATCH"], "/groups/*", groups);
    return r;
}

/** Express answers an unmatched route with "Cannot METHOD /path". */
export async function registryDispatch(router: Router, req: Req): Promise<{ res: Res; route: string }> {
    const m = router.match(req.method, req.path);
    if (!m.route) return { res: expressErrorPage(404, `Cannot ${req.method} ${req.path}`), route: "(unmatched)" };
    return { res: await m.route.handler(req, m.params), route: m.route.name };
}
