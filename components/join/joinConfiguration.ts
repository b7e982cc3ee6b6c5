import { parseJoinCommand } from "../aios/secrets";

/**
 * The kubeadm JoinConfiguration a machine joins with, built from the `kubeadm join` command AIOS gave
 * (gateway: minted for this node; parser: the cluster's static one). Parsed and checked here, in the
 * provider, so the join script on the machine only writes it to a 0600 file: the endpoint must be
 * `<host>:<port>`, the token a bootstrap token and every CA hash `sha256:<64 hex>` (the join never
 * trusts an unpinned CA). Throws an error that never holds the command or the token. Secret: it holds
 * the token.
 */
export function joinConfiguration(command: string, nodeId: string): string {
    const c = parseJoinCommand(command);
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
