import https from "node:https";
import http from "node:http";
import { z } from "zod";
import type { KubeTarget } from "./kubeconfig";

/** The few Node fields onboarding reads. */
export interface KubeNode {
    metadata: {
        name: string;
        uid?: string;
        labels?: Record<string, string>;
        resourceVersion?: string;
        creationTimestamp?: string;
    };
    spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
    status?: {
        conditions?: { type: string; status: string; reason?: string; message?: string; lastHeartbeatTime?: string; lastTransitionTime?: string }[];
        addresses?: { type: string; address: string }[];
        nodeInfo?: { kubeletVersion?: string };
    };
}

export interface KubePod {
    metadata: {
        name: string;
        namespace: string;
        ownerReferences?: { kind: string; name: string; controller?: boolean }[];
        annotations?: Record<string, string>;
    };
    status?: { phase?: string };
}

const managedFieldsEntry = z.object({
    manager: z.string().optional(),
    operation: z.string().optional(),
    time: z.string().optional(),
    fieldsV1: z.unknown().optional(),
});

/** A Node's metadata as `PartialObjectMetadataList` returns it: no spec or status, but `managedFields`. */
const nodeMetadataList = z.object({
    items: z
        .array(
            z.object({
                metadata: z.object({
                    name: z.string(),
                    labels: z.record(z.string(), z.string()).optional(),
                    managedFields: z.array(managedFieldsEntry).optional(),
                }),
            }),
        )
        .nullish()
        .transform((items) => items ?? []),
});
export type NodeMetadata = z.infer<typeof nodeMetadataList>["items"][number]["metadata"];

/** A Secret as GET returns it: base64 values under `data`. */
const secretData = z.object({ kind: z.literal("Secret"), data: z.record(z.string(), z.string()).nullish() });
/** An error answer of the API server. */
const kubeStatus = z.object({ message: z.string() });

/** One list of Node metadata, with when it was sent and answered (ms, this process's clock) and the API server's `Date` header. */
export interface NodeMetadataRead {
    nodes: NodeMetadata[];
    sentAt: number;
    receivedAt: number;
    serverDate?: number;
}

export class KubeApiError extends Error {
    constructor(
        readonly server: string,
        readonly operation: string,
        readonly status: number | undefined,
        detail: string,
    ) {
        super(`Kubernetes API ${server}: ${operation} failed: ${detail}`);
        this.name = "KubeApiError";
    }
}

export function nodeReady(node: KubeNode): boolean {
    return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** A minimal Kubernetes REST client: no dependency, bounded timeouts, typed errors. */
export class KubeClient {
    constructor(
        private readonly target: KubeTarget,
        private readonly timeoutMs = 10_000,
    ) {}

    get server(): string {
        return this.target.server;
    }

    private options(method: string, path: string, headers: Record<string, string>): https.RequestOptions {
        const url = new URL(this.target.server + path);
        const h: Record<string, string> = { Accept: "application/json", ...headers };
        if (this.target.token) h.Authorization = `Bearer ${this.target.token}`;
        return {
            method,
            protocol: url.protocol,
            hostname: url.hostname.replace(/^\[|\]$/g, ""),
            port: url.port || (url.protocol === "https:" ? 443 : 80),
            path: url.pathname + url.search,
            headers: h,
            ca: this.target.ca,
            cert: this.target.cert,
            key: this.target.key,
            rejectUnauthorized: !this.target.insecureSkipTlsVerify,
        };
    }

    private transport(): typeof https | typeof http {
        return this.target.server.startsWith("https:") ? https : http;
    }

    /** One request; resolves with status and parsed body (undefined for empty bodies). */
    request<T>(method: string, path: string, body?: unknown, contentType = "application/json", accept?: string): Promise<{ status: number; body: T; headers: http.IncomingHttpHeaders }> {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string> = payload ? { "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(payload)) } : {};
        if (accept) headers.Accept = accept;
        return new Promise((resolve, reject) => {
            const req = this.transport().request(this.options(method, path, headers), (res) => {
                let data = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => (data += c));
                res.on("end", () => {
                    let parsed: unknown;
                    try {
                        parsed = data ? JSON.parse(data) : undefined;
                    } catch {
                        parsed = data;
                    }
                    resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers });
                });
            });
            req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000}s`)));
            req.on("error", (e: NodeJS.ErrnoException) =>
                reject(new KubeApiError(this.target.server, `${method} ${path}`, undefined, `${e.code ?? ""} ${e.message}`.trim())),
            );
            if (payload) req.write(payload);
            req.end();
        });
    }

    /** One request whose status must be 2xx, else a KubeApiError with the server's message. */
    private async checked<T>(method: string, path: string, body?: unknown, contentType?: string, accept?: string): Promise<{ status: number; body: T; headers: http.IncomingHttpHeaders }> {
        const res = await this.request<T & { message?: string }>(method, path, body, contentType, accept);
        if (res.status < 200 || res.status >= 300) {
            const msg = res.body && typeof res.body === "object" && "message" in res.body ? String(res.body.message) : `HTTP ${res.status}`;
            throw new KubeApiError(this.target.server, `${method} ${path}`, res.status, msg);
        }
        return res;
    }

    private async ok<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
        return (await this.checked<T>(method, path, body, contentType)).body;
    }

    async version(): Promise<string> {
        const v = await this.ok<{ gitVersion?: string }>("GET", "/version");
        return v.gitVersion ?? "";
    }

    async getNode(name: string): Promise<KubeNode | undefined> {
        const res = await this.request<KubeNode & { message?: string }>("GET", `/api/v1/nodes/${encodeURIComponent(name)}`);
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw new KubeApiError(this.target.server, `GET node ${name}`, res.status, res.body?.message ?? `HTTP ${res.status}`);
        return res.body;
    }

    async listNodes(): Promise<KubeNode[]> {
        return (await this.ok<{ items?: KubeNode[] }>("GET", "/api/v1/nodes")).items ?? [];
    }

    /**
     * The metadata (with `managedFields`) of the Nodes matching `labelSelector`: a fraction of the bytes
     * of full Node objects, for a list read several times a second. With when it was sent and answered
     * (this process's clock) and the API server's `Date`, so its field-manager times can be related to
     * this clock without assuming both agree.
     */
    async listNodeMetadata(labelSelector: string): Promise<NodeMetadataRead> {
        const sentAt = Date.now();
        const path = `/api/v1/nodes?labelSelector=${encodeURIComponent(labelSelector)}`;
        const res = await this.checked<unknown>("GET", path, undefined, undefined, "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json");
        const receivedAt = Date.now();
        const list = nodeMetadataList.safeParse(res.body);
        if (!list.success) throw new KubeApiError(this.target.server, `GET ${path}`, res.status, `unexpected answer: ${z.prettifyError(list.error)}`);
        const serverDate = Date.parse(res.headers.date ?? "");
        return { nodes: list.data.items.map((i) => i.metadata), sentAt, receivedAt, serverDate: Number.isFinite(serverDate) ? serverDate : undefined };
    }

    async patchNode(name: string, patch: unknown): Promise<KubeNode> {
        return this.ok<KubeNode>("PATCH", `/api/v1/nodes/${encodeURIComponent(name)}`, patch, "application/merge-patch+json");
    }

    async deleteNode(name: string): Promise<boolean> {
        const res = await this.request<{ message?: string }>("DELETE", `/api/v1/nodes/${encodeURIComponent(name)}`);
        if (res.status === 404) return false;
        if (res.status < 200 || res.status >= 300) throw new KubeApiError(this.target.server, `DELETE node ${name}`, res.status, res.body?.message ?? `HTTP ${res.status}`);
        return true;
    }

    async podsOnNode(name: string): Promise<KubePod[]> {
        const list = await this.ok<{ items: KubePod[] }>("GET", `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`);
        return list.items ?? [];
    }

    /** Evicts a pod through the Eviction API, so PodDisruptionBudgets are honoured. 429 = blocked by a PDB. */
    async evictPod(pod: KubePod, graceSeconds: number): Promise<"evicted" | "gone" | "blocked"> {
        const res = await this.request<{ message?: string }>(
            "POST",
            `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace)}/pods/${encodeURIComponent(pod.metadata.name)}/eviction`,
            { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace }, deleteOptions: { gracePeriodSeconds: graceSeconds } },
        );
        if (res.status === 404) return "gone";
        if (res.status === 429) return "blocked";
        if (res.status < 200 || res.status >= 300) {
            throw new KubeApiError(this.target.server, `evict ${pod.metadata.namespace}/${pod.metadata.name}`, res.status, res.body?.message ?? `HTTP ${res.status}`);
        }
        return "evicted";
    }

    /** Creates a Secret; false when one of that name exists already (409). */
    async createSecret(namespace: string, secret: { metadata: { name: string }; type: string; stringData: Record<string, string> }): Promise<boolean> {
        const body = { apiVersion: "v1", kind: "Secret", ...secret, metadata: { ...secret.metadata, namespace } };
        const res = await this.request<{ message?: string }>("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`, body);
        if (res.status === 409) return false;
        if (res.status < 200 || res.status >= 300) {
            throw new KubeApiError(this.target.server, `create secret ${namespace}/${secret.metadata.name}`, res.status, res.body?.message ?? `HTTP ${res.status}`);
        }
        return true;
    }

    /**
     * The `data` keys `keys` of a Secret, decoded; undefined when it does not exist. Only the keys asked
     * for are returned, so a caller that needs a token's expiration never holds its secret part.
     */
    async getSecretData<K extends string>(namespace: string, name: string, keys: readonly K[]): Promise<Partial<Record<K, string>> | undefined> {
        const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
        const res = await this.request<unknown>("GET", path);
        if (res.status === 404) return undefined;
        const parsed = secretData.safeParse(res.body);
        if (res.status !== 200 || !parsed.success) {
            const message = res.status === 200 ? "unexpected answer: not a Secret" : (kubeStatus.safeParse(res.body).data?.message ?? `HTTP ${res.status}`);
            throw new KubeApiError(this.target.server, `GET secret ${namespace}/${name}`, res.status, message);
        }
        const data = parsed.data.data ?? {};
        return Object.fromEntries(keys.filter((k) => data[k] !== undefined).map((k) => [k, Buffer.from(data[k], "base64").toString("utf8")])) as Partial<Record<K, string>>;
    }

    /** Merge-patches a Secret; false when there is none. */
    async patchSecret(namespace: string, name: string, patch: { data: Record<string, string> }): Promise<boolean> {
        const res = await this.request<{ message?: string }>("PATCH", `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`, patch, "application/merge-patch+json");
        if (res.status === 404) return false;
        if (res.status < 200 || res.status >= 300) {
            throw new KubeApiError(this.target.server, `patch secret ${namespace}/${name}`, res.status, res.body?.message ?? `HTTP ${res.status}`);
        }
        return true;
    }

    /** Deletes a Secret; false when there was none. */
    async deleteSecret(namespace: string, name: string): Promise<boolean> {
        const res = await this.request<{ message?: string }>("DELETE", `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
        if (res.status === 404) return false;
        if (res.status < 200 || res.status >= 300) {
            throw new KubeApiError(this.target.server, `DELETE secret ${namespace}/${name}`, res.status, res.body?.message ?? `HTTP ${res.status}`);
        }
        return true;
    }

    /**
     * Watches one Node until `done(node)` returns true or the deadline passes. Uses a watch
     * (not polling) so the check completes as soon as the label lands; re-establishes the
     * watch if the server closes it. Calls `seen` with every observed version of the Node.
     */
    async watchNode(name: string, deadline: number, done: (node: KubeNode | undefined) => boolean, seen: (node: KubeNode | undefined) => void): Promise<boolean> {
        while (Date.now() < deadline) {
            const current = await this.getNode(name);
            seen(current);
            if (done(current)) return true;
            const rv = current?.metadata.resourceVersion;
            const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
            const query = `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}&watch=1&allowWatchBookmarks=false&timeoutSeconds=${Math.min(remaining, 60)}${rv ? `&resourceVersion=${rv}` : ""}`;
            const finished = await new Promise<boolean>((resolve) => {
                const req = this.transport().request(this.options("GET", `/api/v1/nodes?${query}`, {}), (res) => {
                    if (res.statusCode !== 200) {
                        res.resume();
                        setTimeout(() => resolve(false), 500);
                        return;
                    }
                    let buf = "";
                    res.setEncoding("utf8");
                    res.on("data", (chunk: string) => {
                        buf += chunk;
                        let nl: number;
                        while ((nl = buf.indexOf("\n")) >= 0) {
                            const line = buf.slice(0, nl);
                            buf = buf.slice(nl + 1);
                            if (!line.trim()) continue;
                            try {
                                const ev = JSON.parse(line) as { type: string; object: KubeNode };
                                const node = ev.type === "DELETED" ? undefined : ev.type === "ERROR" ? current : ev.object;
                                seen(node);
                                if (done(node)) {
                                    req.destroy();
                                    resolve(true);
                                    return;
                                }
                            } catch {
                                // A partial or non-JSON line: wait for more data.
                            }
                        }
                    });
                    res.on("end", () => resolve(false));
                    res.on("error", () => resolve(false));
                });
                const timer = setTimeout(() => {
                    req.destroy();
                    resolve(false);
                }, Math.max(0, deadline - Date.now()) + 100);
                req.on("close", () => clearTimeout(timer));
                req.on("error", () => setTimeout(() => resolve(false), 500));
                req.end();
            });
            if (finished) return true;
        }
        return false;
    }
}
