/**
 * A fake Kubernetes API for the stand-in tests: serves Node objects, Pods and Secrets from memory
 * over https (CA-verified, bearer token or client certificate) or http, and records the mutating
 * calls in the form the recorded vectors use (`["patch_node", name, body]`,
 * `["create_secret", "ns/name"]`, `["evict", "ns/name"]`). The real API server is covered by the
 * end-to-end suite.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";

type Obj = Record<string, unknown>;

export interface Certs {
    dir: string;
    ca: Buffer;
    serverKey: Buffer;
    serverCert: Buffer;
    clientKey: Buffer;
    clientCert: Buffer;
}

/** A CA, a server certificate for 127.0.0.1 and an admin client certificate, made with openssl. */
export function makeCerts(): Certs {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aios-world-certs-"));
    const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=fake-kube-ca"]);
    fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"]);
    run(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext"]);
    run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/O=system:masters/CN=kubernetes-admin"]);
    run(["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt", "-days", "2"]);
    const read = (f: string) => fs.readFileSync(path.join(dir, f));
    return { dir, ca: read("ca.crt"), serverKey: read("server.key"), serverCert: read("server.crt"), clientKey: read("client.key"), clientCert: read("client.crt") };
}

export interface NodeSpec {
    ready?: boolean;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    capacity?: Record<string, string>;
}

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strategic-merge patch of plain objects (enough for labels and spec.unschedulable); null deletes. */
function merge(target: Obj, patch: Obj): void {
    for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete target[k];
        else if (isObj(v) && isObj(target[k])) merge(target[k] as Obj, v);
        else target[k] = JSON.parse(JSON.stringify(v)) as unknown;
    }
}

export type Auth = { kind: "token"; token: string } | { kind: "client-cert" } | { kind: "none" };

export class FakeKube {
    readonly nodes = new Map<string, Obj>();
    readonly pods: Obj[] = [];
    readonly secrets = new Map<string, Obj>();
    /** Mutating calls, in the vectors' notation. */
    readonly log: unknown[][] = [];
    /** Every request: method, path, and the credential it came with. */
    readonly requests: { method: string; path: string; auth: string; contentType?: string }[] = [];
    private server?: http.Server;
    url = "";

    constructor(private readonly auth: Auth, private readonly certs?: Certs) {}

    async start(): Promise<string> {
        const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
        if (this.certs) {
            this.server = https.createServer(
                {
                    key: this.certs.serverKey,
                    cert: this.certs.serverCert,
                    ca: this.certs.ca,
                    requestCert: this.auth.kind === "client-cert",
                    rejectUnauthorized: this.auth.kind === "client-cert",
                },
                handler,
            );
        } else {
            this.server = http.createServer(handler);
        }
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        const port = (this.server.address() as AddressInfo).port;
        this.url = `${this.certs ? "https" : "http"}://127.0.0.1:${port}`;
        return this.url;
    }

    async stop(): Promise<void> {
        const s = this.server;
        if (!s) return;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
    }

    /** Writes a kubeconfig for this server (CA data when https; token or client certificate). */
    writeKubeconfig(file: string): void {
        const user: Obj = {};
        if (this.auth.kind === "token") user.token = this.auth.token;
        if (this.auth.kind === "client-cert" && this.certs) {
            user["client-certificate-data"] = this.certs.clientCert.toString("base64");
            user["client-key-data"] = this.certs.clientKey.toString("base64");
        }
        const cluster: Obj = { server: this.url };
        if (this.certs) cluster["certificate-authority-data"] = this.certs.ca.toString("base64");
        const yaml = [
            "apiVersion: v1",
            "kind: Config",
            "current-context: admin@fake",
            "clusters:",
            "- name: fake",
            "  cluster:",
            ...Object.entries(cluster).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`),
            "contexts:",
            "- name: admin@fake",
            "  context: {cluster: fake, user: admin}",
            "users:",
            "- name: admin",
            "  user:",
            ...(Object.keys(user).length === 0 ? ["    {}"] : Object.entries(user).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)),
            "",
        ].join("\n");
        fs.writeFileSync(file, yaml);
    }

    addNode(name: string, spec: NodeSpec = {}): void {
        this.nodes.set(name, {
            apiVersion: "v1",
            kind: "Node",
            metadata: { name, labels: { ...(spec.labels ?? {}) }, annotations: { ...(spec.annotations ?? {}) } },
            spec: {},
            status: {
                capacity: spec.capacity ?? { cpu: "8", memory: "15936Mi" },
                conditions: [{ type: "Ready", status: spec.ready === false ? "False" : "True" }],
            },
        });
    }

    setReady(name: string, ready: boolean): void {
        const n = this.nodes.get(name) as { status: { conditions: Obj[] } };
        n.status.conditions = [{ type: "Ready", status: ready ? "True" : "False" }];
    }

    node(name: string): Obj | undefined {
        return this.nodes.get(name);
    }

    labels(name: string): Record<string, string> {
        const n = this.nodes.get(name) as { metadata: { labels: Record<string, string> } } | undefined;
        return n ? { ...n.metadata.labels } : {};
    }

    addPod(namespace: string, name: string, nodeName: string, owner?: { kind: string; name: string }): void {
        this.pods.push({
            metadata: { namespace, name, ownerReferences: owner ? [{ apiVersion: "apps/v1", kind: owner.kind, name: owner.name, uid: `${owner.name}-uid`, controller: true }] : undefined },
            spec: { nodeName },
        });
    }

    private authorized(req: http.IncomingMessage): string | undefined {
        if (this.auth.kind === "none") return "anonymous";
        if (this.auth.kind === "token") return req.headers.authorization === `Bearer ${this.auth.token}` ? "token" : undefined;
        const sock = req.socket as import("node:tls").TLSSocket;
        const cert = typeof sock.getPeerCertificate === "function" ? sock.getPeerCertificate() : undefined;
        return cert && cert.subject ? `cert:${String(cert.subject.CN)}` : undefined;
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks).toString("utf8");
        const url = new URL(req.url ?? "/", "http://x");
        const method = req.method ?? "GET";
        const send = (status: number, body: unknown) => {
            const text = JSON.stringify(body);
            res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
            res.end(text);
        };
        const status = (code: number, reason: string, message: string) => send(code, { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code });
        const who = this.authorized(req);
        this.requests.push({ method, path: url.pathname + url.search, auth: who ?? "rejected", contentType: req.headers["content-type"] });
        if (!who) return status(401, "Unauthorized", "Unauthorized");
        const body = raw === "" ? {} : (JSON.parse(raw) as Obj);
        const p = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);

        if (p[0] === "api" && p[1] === "v1" && p[2] === "nodes") {
            if (p.length === 3 && method === "GET") return send(200, { kind: "NodeList", apiVersion: "v1", items: [...this.nodes.values()] });
            const name = p[3];
            const node = this.nodes.get(name);
            if (method === "PATCH") this.log.push(["patch_node", name, body]);
            if (!node) return status(404, "NotFound", `nodes "${name}" not found`);
            if (method === "GET") return send(200, node);
            if (method === "PATCH") {
                merge(node, body);
                return send(200, node);
            }
        }
        if (p[0] === "api" && p[1] === "v1" && p[2] === "pods" && method === "GET") {
            const sel = url.searchParams.get("fieldSelector") ?? "";
            const m = /^spec\.nodeName=(.*)$/.exec(sel);
            const items = this.pods.filter((pod) => !m || (pod.spec as Obj).nodeName === m[1]);
            return send(200, { kind: "PodList", apiVersion: "v1", items });
        }
        if (p[0] === "api" && p[1] === "v1" && p[2] === "namespaces" && p[4] === "pods" && p[6] === "eviction" && method === "POST") {
            const ns = p[3];
            const name = p[5];
            this.log.push(["evict", `${ns}/${name}`]);
            const i = this.pods.findIndex((pod) => (pod.metadata as Obj).namespace === ns && (pod.metadata as Obj).name === name);
            if (i < 0) return status(404, "NotFound", `pods "${name}" not found`);
            this.pods.splice(i, 1);
            return send(201, { kind: "Status", apiVersion: "v1", status: "Success", code: 201 });
        }
        if (p[0] === "api" && p[1] === "v1" && p[2] === "namespaces" && p[4] === "secrets" && p.length === 5 && method === "POST") {
            const ns = p[3];
            const name = String((body.metadata as Obj | undefined)?.name);
            this.log.push(["create_secret", `${ns}/${name}`]);
            if (this.secrets.has(`${ns}/${name}`)) return status(409, "AlreadyExists", `secrets "${name}" already exists`);
            this.secrets.set(`${ns}/${name}`, body);
            return send(201, body);
        }
        return status(404, "NotFound", "the server could not find the requested resource");
    }
}
