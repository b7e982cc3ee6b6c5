import { reply, startServer, type TestServer } from "../unit/aios/helpers/servers";

/** A Secret as the fake API server keeps it: its `data`, base64 like the real one. */
export interface StoredSecret {
    type: string;
    data: Record<string, string>;
}

/** A kubeconfig nothing listens behind (port 1 of this host): every request to it is refused at once. */
export const UNREACHABLE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://127.0.0.1:1\n  name: c\ncontexts:\n- context:\n    cluster: c\n    user: u\n  name: x\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: t\n";

/**
 * An API server over plain HTTP that keeps kube-system Secrets in memory (create, get, merge-patch, delete) and lists
 * the Nodes named in `nodes` as metadata: what the join-token code asks of a cluster.
 */
export interface FakeKube extends TestServer {
    kubeconfig: string;
    secrets: Map<string, StoredSecret>;
    nodes: Set<string>;
    /** A stored Secret's `stringData`-like view (decoded). */
    decoded(name: string): Record<string, string> | undefined;
}

const SECRETS = "/api/v1/namespaces/kube-system/secrets";

export async function fakeKube(): Promise<FakeKube> {
    const secrets = new Map<string, StoredSecret>();
    const nodes = new Set<string>();
    const server = await startServer((req, res) => {
        const url = new URL(req.path, "http://x");
        if (req.method === "GET" && url.pathname === "/api/v1/nodes") {
            return reply(res, 200, { kind: "PartialObjectMetadataList", items: [...nodes].map((name) => ({ metadata: { name } })) });
        }
        if (req.method === "POST" && url.pathname === SECRETS) {
            const body = req.body as { metadata: { name: string }; type: string; stringData: Record<string, string> };
            if (secrets.has(body.metadata.name)) return reply(res, 409, { kind: "Status", message: `secrets "${body.metadata.name}" already exists` });
            secrets.set(body.metadata.name, { type: body.type, data: Object.fromEntries(Object.entries(body.stringData).map(([k, v]) => [k, Buffer.from(v).toString("base64")])) });
            return reply(res, 201, { kind: "Secret", metadata: body.metadata });
        }
        const name = url.pathname.startsWith(`${SECRETS}/`) ? decodeURIComponent(url.pathname.slice(SECRETS.length + 1)) : undefined;
        if (name !== undefined && req.method === "GET") {
            const s = secrets.get(name);
            return s ? reply(res, 200, { kind: "Secret", type: s.type, data: s.data }) : reply(res, 404, { kind: "Status", message: `secrets "${name}" not found` });
        }
        if (name !== undefined && req.method === "PATCH") {
            const s = secrets.get(name);
            if (!s) return reply(res, 404, { kind: "Status", message: `secrets "${name}" not found` });
            Object.assign(s.data, (req.body as { data?: Record<string, string> }).data ?? {});
            return reply(res, 200, { kind: "Secret", type: s.type, data: s.data });
        }
        if (name !== undefined && req.method === "DELETE") {
            const had = secrets.delete(name);
            return had ? reply(res, 200, { kind: "Status", status: "Success" }) : reply(res, 404, { kind: "Status", message: `secrets "${name}" not found` });
        }
        reply(res, 404, { kind: "Status", message: `no route ${req.method} ${req.path}` });
    });
    const kubeconfig = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- cluster:",
        `    server: ${server.url}`,
        "  name: c",
        "contexts:",
        "- context:",
        "    cluster: c",
        "    user: u",
        "  name: x",
        "current-context: x",
        "users:",
        "- name: u",
        "  user:",
        "    token: admin-token",
        "",
    ].join("\n");
    const decoded = (name: string) => {
        const s = secrets.get(name);
        return s && Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    };
    return { ...server, kubeconfig, secrets, nodes, decoded };
}
