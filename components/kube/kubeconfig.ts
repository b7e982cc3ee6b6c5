import { createHash } from "node:crypto";
import { load } from "js-yaml";
import { readFileSync } from "node:fs";

/** The parts of a kubeconfig needed to talk to one API server. */
export interface KubeTarget {
    server: string;
    ca?: Buffer;
    insecureSkipTlsVerify: boolean;
    cert?: Buffer;
    key?: Buffer;
    token?: string;
}

export class KubeconfigError extends Error {
    constructor(message: string) {
        super(`kubeconfig: ${message}; fix: store a kubeconfig with an admin user as a secret (pulumi config set --secret kubeconfig < admin.conf)`);
        this.name = "KubeconfigError";
    }
}

type Named<T> = { name?: string } & T;

function dataOrFile(data: unknown, file: unknown, what: string): Buffer | undefined {
    if (typeof data === "string" && data !== "") return Buffer.from(data, "base64");
    if (typeof file === "string" && file !== "") {
        try {
            return readFileSync(file);
        } catch (e) {
            throw new KubeconfigError(`cannot read ${what} file ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
        }
    }
    return undefined;
}

/**
 * Parses kubeconfig text (YAML or JSON) and resolves its current context. Error messages
 * never quote the document: it holds credentials.
 */
export function parseKubeconfig(text: string): KubeTarget {
    // The provider plugin parses the stack's one kubeconfig for every operation (hundreds in a preview of a rack).
    if (lastParsed?.text === text) return lastParsed.target;
    const target = parseKubeconfigText(text);
    lastParsed = { text, target: Object.freeze(target) };
    return target;
}

let lastParsed: { text: string; target: KubeTarget } | undefined;

function parseKubeconfigText(text: string): KubeTarget {
    let doc: unknown;
    try {
        doc = load(text);
    } catch {
        throw new KubeconfigError("is not valid YAML or JSON");
    }
    if (!doc || typeof doc !== "object") throw new KubeconfigError("is empty or not a mapping");
    const cfg = doc as {
        "current-context"?: string;
        contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
        clusters?: Named<{ cluster?: Record<string, unknown> }>[];
        users?: Named<{ user?: Record<string, unknown> }>[];
    };
    const contexts = Array.isArray(cfg.contexts) ? cfg.contexts : [];
    const ctx = contexts.find((c) => c.name === cfg["current-context"]) ?? (contexts.length === 1 ? contexts[0] : undefined);
    const clusters = Array.isArray(cfg.clusters) ? cfg.clusters : [];
    const users = Array.isArray(cfg.users) ? cfg.users : [];
    const cluster = (ctx ? clusters.find((c) => c.name === ctx.context?.cluster) : clusters.length === 1 ? clusters[0] : undefined)?.cluster;
    const user = (ctx ? users.find((u) => u.name === ctx.context?.user) : users.length === 1 ? users[0] : undefined)?.user ?? {};
    if (!cluster || typeof cluster.server !== "string") {
        throw new KubeconfigError("has no cluster with a server for its current context");
    }
    const target: KubeTarget = {
        server: cluster.server.replace(/\/+$/, ""),
        ca: dataOrFile(cluster["certificate-authority-data"], cluster["certificate-authority"], "certificate-authority"),
        insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
        cert: dataOrFile(user["client-certificate-data"], user["client-certificate"], "client-certificate"),
        key: dataOrFile(user["client-key-data"], user["client-key"], "client-key"),
        token: typeof user.token === "string" ? user.token : undefined,
    };
    if (!target.token && !(target.cert && target.key)) {
        throw new KubeconfigError("its user has neither a token nor a client certificate and key (exec and auth-provider plugins are not supported)");
    }
    return target;
}

/** SHA-256 of the cluster CA certificate (PEM) a kubeconfig trusts: what a joined kubelet's config must trust too. */
export function caSha256(target: KubeTarget): string | undefined {
    return target.ca ? createHash("sha256").update(target.ca).digest("hex") : undefined;
}
