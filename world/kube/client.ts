// A tiny Kubernetes API client for the local world: reads a kubeconfig with
// client-certificate credentials (the world's admin kubeconfig) and speaks
// HTTPS with Node's own https module. Used by world:up's bootstrap step and by
// the world's tests; the product has its own client.
import * as fs from "fs";
import * as https from "https";
import * as yaml from "js-yaml";

export interface KubeResponse {
    status: number;
    body: string;
    json<T = unknown>(): T;
}

interface KubeconfigDoc {
    clusters?: { cluster?: { server?: string; "certificate-authority-data"?: string } }[];
    users?: { user?: { "client-certificate-data"?: string; "client-key-data"?: string; token?: string } }[];
}

export interface KubeObject {
    metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
    [k: string]: unknown;
}

export class KubeClient {
    readonly server: string;
    private readonly agent: https.Agent;
    private readonly token?: string;

    constructor(opts: { server: string; ca: Buffer | string; cert?: Buffer | string; key?: Buffer | string; token?: string }) {
        this.server = opts.server.replace(/\/+$/, "");
        this.agent = new https.Agent({ ca: opts.ca, cert: opts.cert, key: opts.key, keepAlive: false });
        this.token = opts.token;
    }

    static fromKubeconfig(path: string): KubeClient {
        const doc = yaml.load(fs.readFileSync(path, "utf8")) as KubeconfigDoc;
        const cluster = doc.clusters?.[0]?.cluster;
        const user = doc.users?.[0]?.user;
        if (!cluster?.server || !cluster["certificate-authority-data"]) {
            throw new Error(`kubeconfig ${path} has no cluster server or CA data`);
        }
        const b64 = (s?: string) => (s ? Buffer.from(s, "base64") : undefined);
        return new KubeClient({
            server: cluster.server,
            ca: Buffer.from(cluster["certificate-authority-data"], "base64"),
            cert: b64(user?.["client-certificate-data"]),
            key: b64(user?.["client-key-data"]),
            token: user?.token,
        });
    }

    request(method: string, path: string, body?: unknown, contentType = "application/json", timeoutMs = 10000): Promise<KubeResponse> {
        const url = new URL(this.server + path);
        const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
        const headers: Record<string, string> = { Accept: "application/json" };
        if (data !== undefined) {
            headers["Content-Type"] = contentType;
            headers["Content-Length"] = String(Buffer.byteLength(data));
        }
        if (this.token) {
            headers.Authorization = `Bearer ${this.token}`;
        }
        return new Promise((resolve, reject) => {
            const req = https.request(
                { method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers, agent: this.agent, timeout: timeoutMs },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        resolve({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T });
                    });
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
            req.on("error", reject);
            if (data !== undefined) {
                req.write(data);
            }
            req.end();
        });
    }

    async get<T = unknown>(path: string): Promise<T | undefined> {
        const r = await this.request("GET", path);
        if (r.status === 404) {
            return undefined;
        }
        if (r.status !== 200) {
            throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body}`);
        }
        return r.json<T>();
    }

    /** Creates the object, or replaces it when it already exists. */
    async apply(collectionPath: string, obj: KubeObject): Promise<void> {
        const itemPath = `${collectionPath}/${obj.metadata.name}`;
        const cur = await this.get<{ metadata: { resourceVersion: string } }>(itemPath);
        const r = cur
            ? await this.request("PUT", itemPath, { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion } })
            : await this.request("POST", collectionPath, obj);
        if (r.status >= 300) {
            throw new Error(`apply ${itemPath}: HTTP ${r.status}: ${r.body}`);
        }
    }

    async waitReady(timeoutMs: number): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        let last = "";
        while (Date.now() < deadline) {
            try {
                const r = await this.request("GET", "/readyz", undefined, undefined, 3000);
                if (r.status === 200) {
                    return;
                }
                last = `HTTP ${r.status}: ${r.body.slice(0, 300)}`;
            } catch (e) {
                last = (e as Error).message;
            }
            await new Promise((res) => setTimeout(res, 500));
        }
        throw new Error(`the API server at ${this.server} was not ready after ${timeoutMs / 1000} s: ${last}`);
    }
}
