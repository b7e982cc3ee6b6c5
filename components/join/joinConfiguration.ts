import { load } from "js-yaml";
import { z } from "zod";
import { parseJoinCommand } from "../aios/secrets";

/**
 * The kubeadm JoinConfiguration a machine joins with, built from the `kubeadm join` command AIOS gave
 * (gateway: minted for this node; parser: the cluster's static one). Parsed and checked here, in the
 * provider, so the join script on the machine only writes it to a 0600 file: the endpoint must be
 * `<host>:<port>`, the token a bootstrap token and every CA hash `sha256:<64 hex>` (the join never
 * trusts an unpinned CA). Throws an error that never holds the command or the token. Secret: it holds
 * the token. `token`: another token to join with than the command's (one minted for this machine), with
 * the command's endpoint and CA hashes.
 */
export function joinConfiguration(command: string, nodeId: string, token?: string): string {
    const c = parseJoinCommand(command);
    return render({ endpoint: c.endpoint, token: token ?? c.token, caCertHashes: c.caCertHashes }, nodeId);
}

/** What a JoinConfiguration written by `joinConfiguration` holds. */
const written = z.object({
    kind: z.literal("JoinConfiguration"),
    discovery: z.object({ bootstrapToken: z.object({ apiServerEndpoint: z.string().min(1), caCertHashes: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/i)).min(1) }) }),
    nodeRegistration: z.object({ name: z.string().min(1) }),
});

/**
 * The same JoinConfiguration with another bootstrap token: a machine whose join failed and whose token
 * is gone joins again with the endpoint and pinned CA of its first one. Throws without echoing the text.
 */
export function withToken(config: string, token: string): string {
    let doc: unknown;
    try {
        doc = load(config);
    } catch {
        doc = undefined;
    }
    const parsed = written.safeParse(doc);
    if (!parsed.success) throw new Error("the stored join configuration is not one this package wrote; the machine's registration must be replaced (remove it from the stack and add it again)");
    const b = parsed.data.discovery.bootstrapToken;
    return render({ endpoint: b.apiServerEndpoint, token, caCertHashes: b.caCertHashes }, parsed.data.nodeRegistration.name);
}

function render(c: { endpoint: string; token: string; caCertHashes: string[] }, nodeId: string): string {
    const quoted = (v: string) => JSON.stringify(v);
    return [
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: JoinConfiguration",
        "discovery:",
        "  bootstrapToken:",
        `    apiServerEndpoint: ${quoted(c.endpoint)}`,
        `    token: ${quoted(c.token)}`,
        "    caCertHashes:",
        ...c.caCertHashes.map((h) => `      - ${quoted(h)}`),
        "nodeRegistration:",
        `  name: ${quoted(nodeId)}`,
        "",
    ].join("\n");
}
