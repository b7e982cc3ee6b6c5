/**
 * A minimal Kubernetes REST client for the membership-server stand-in: the calls the real one
 * makes through the Python `kubernetes` package (read/list/patch Node, list Pods by node, create
 * an Eviction, create a Secret), over https with the kubeconfig's CA and credentials (bearer
 * token or client certificate) or over plain http.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { load } from "js-yaml";

export interface KubeConn {
    server: URL;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    token?: string;
    insecure: boolean;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function named(list: unknown, name: unknown): Obj {
    const items = Array.isArray(list) ? list.map(obj) : [];
    return items.find((i) => i.name === name) ?? items[0] ?? {};
}

function dataOrFile(data: unknown, file: unknown, base: string): Buffer | undefined {
    if (typeof data === "string" && data !== "") return Buffer.from(data, "base64");
    if (typeof file === "string" && file !== "") return fs.readFileSync(file.startsWith("/") ? file : `${base}/${file}`);
    return undefined;
}

/** Reads the current context of a kubeconfig (YAML or JSON). */
export function loadKubeconfig(file: string): KubeConn {
    const doc = obj(load(fs.readFileSync(file, "utf8")));
    const base = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    const ctx = obj(named(doc.contexts, doc["current-context"]).context);
    const cluster = obj(named(doc.clusters, ctx.cluster).cluster);
    const user = obj(named(doc.users, ctx.user).user);
    if (typeof cluster.server !== "string") throw new Error(`kubeconfig ${file}: no cluster server`);
    let token = typeof user.token === "string" ? user.token : undefined;
    if (!token && typeof user.tokenFile === "string") token = fs.readFileSync(user.tokenFile, "utf8").trim();
    return {
        server: new URL(cluster.server),
        ca: dataOrFile(cluster["certificate-authority-data"], cluster["certificate-authority"], base),
        cert: dataOrFile(user["client-certificate-data"], user["client-certificate"], base),
        key: dataOrFile(user["client-key-data"], user["client-key"], base),
        token,
        insecure: cluster["insecure-skip-tls-verify"] === true,
    };
}

/**
 * A failed API call. `message` is what the stand-in reports, in the shape the recorded vectors
 * show for the Python client's ApiException: `(404) Reason: NotFound`.
 */
export class KubeError extends Error {
    constructor(readonly status: number, readonly reason: string, readonly body: string) {
        super(status > 0 ? `(${status}) Reason: ${reason}` : reason);
        this.name = "KubeError";
    }
}

const reasons: Record<number, string> = { 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "AlreadyExists", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable" };

export class KubeClient {
    constructor(private readonly conn: KubeConn) {}

    static fromFile(file: string): KubeClient {
        return new KubeClient(loadKubeconfig(file));
    }

    private async call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Obj> {
        const u = this.conn.server;
        const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "aios-world-membership/1.0" };
        if (payload) {
            headers["Content-Type"] = contentType;
            headers["Content-Length"] = String(payload.length);
        }
        if (this.conn.token) headers.Authorization = `Bearer ${this.conn.token}`;
        const base = u.pathname.replace(/\/$/, "");
        const opts: https.RequestOptions = { method, host: u.hostname, port: u.port || (u.protocol === "https:" ? 443 : 80), path: base + path, headers, agent: false, timeout: 15000 };
        const mod = u.protocol === "https:" ? https : http;
        if (u.protocol === "https:") {
            opts.ca = this.conn.ca;
            opts.cert = this.conn.cert;
            opts.key = this.conn.key;
            opts.rejectUnauthorized = !this.conn.insecure;
        }
        return new Promise<Obj>((resolve, reject) => {
            const req = mod.request(opts, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    const status = res.statusCode ?? 0;
                    let parsed: Obj = {};
                    try {
                        parsed = obj(JSON.parse(text));
                    } catch {
                        /* not JSON */
                    }
                    if (status >= 200 && status < 300) resolve(parsed);
                    else reject(new KubeError(status, typeof parsed.reason === "string" && parsed.reason !== "" ? parsed.reason : (reasons[status] ?? (res.statusMessage ?? "")), text));
                });
            });
            req.on("timeout", () => req.destroy(new Error("timed out")));
            req.on("error", (e) => reject(new KubeError(0, `${method} ${base + path}: ${e.message}`, "")));
            if (payload) req.write(payload);
            req.end();
        });
    }

    readNode(name: string): Promise<Obj> {
        return this.call("GET", `/api/v1/nodes/${encodeURIComponent(name)}`);
    }

    async listNodes(): Promise<Obj[]> {
        const list = await this.call("GET", "/api/v1/nodes");
        return Array.isArray(list.items) ? list.items.map(obj) : [];
    }

    /** Strategic-merge patch, as the Python client sends for a dict body. */
    patchNode(name: string, patch: Obj): Promise<Obj> {
        return this.call("PATCH", `/api/v1/nodes/${encodeURIComponent(name)}`, patch, "application/strategic-merge-patch+json");
    }

    async listPodsOnNode(node: string): Promise<Obj[]> {
        const list = await this.call("GET", `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`);
        return Array.isArray(list.items) ? list.items.map(obj) : [];
    }

    evictPod(namespace: string, name: string, gracePeriodSeconds: number): Promise<Obj> {
        return this.call("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/eviction`, {
            apiVersion: "policy/v1",
            kind: "Eviction",
            metadata: { name, namespace },
            deleteOptions: { gracePeriodSeconds },
        });
    }

    createSecret(namespace: string, secret: Obj): Promise<Obj> {
        return this.call("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`, { apiVersion: "v1", kind: "Secret", ...secret });
    }
}

/** `Ready == "True"` among the Node's conditions. */
export function nodeIsReady(node: Obj): boolean {
    const conds = obj(node.status).conditions;
    return Array.isArray(conds) && conds.some((c) => obj(c).type === "Ready" && obj(c).status === "True");
}
