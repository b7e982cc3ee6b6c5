import { RegistryClient } from "../aios/registry";
import { KubeClient, nodeReady, type KubeNode } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import { parseProbeOutput, PROBE_SCRIPT, type MachineFacts } from "../machine/probe";
import { runRemoteScript, type SshTarget } from "../machine/ssh";

/**
 * What makes a machine onboarded, looked at again by `pulumi refresh` (the verification's read) and
 * before a repair (its update): the Node, the node's AIOS registry entry, and the machine itself.
 */
export interface DriftTarget {
    kubeconfig: string;
    nodeId: string;
    clusterId: string;
    registryUrl: string;
    httpTimeoutSeconds: number;
    ssh: SshTarget;
}

export type MachineState =
    | { state: "joined" }
    /** No kubelet config: `kubeadm reset` was run on it, or it was reinstalled. */
    | { state: "reset" }
    /** A kubelet config that our join did not write for this cluster and node. */
    | { state: "joined-elsewhere"; server?: string }
    /** Not reached, or its kubelet config could not be read: not taken for gone. */
    | { state: "unknown"; reason: string };

export interface Findings {
    node: "missing" | "not-ready" | "unlabelled" | "ok";
    registryEntries: number;
    machine: MachineState;
}

export function machineState(s: { clusterId: string; nodeId: string }, facts: MachineFacts): MachineState {
    if (facts.kubelet.kind === "unknown") return { state: "unknown", reason: "its kubelet config could not be read (no root or passwordless sudo)" };
    if (facts.kubelet.kind === "absent") return { state: "reset" };
    if (facts.marker?.clusterId === s.clusterId && facts.marker?.nodeId === s.nodeId) return { state: "joined" };
    return { state: "joined-elsewhere", server: facts.kubelet.server };
}

export function nodeFinding(nodeId: string, node: KubeNode | undefined): Findings["node"] {
    if (!node) return "missing";
    if (node.metadata.labels?.nodeID !== nodeId) return "unlabelled";
    return nodeReady(node) ? "ok" : "not-ready";
}

/**
 * The drift a refresh records, one reason per line, in a fixed order (so an unchanged drift changes
 * nothing in the state). A machine that could not be looked at adds none: only what was seen counts.
 * A NotReady Node is not drift: the machine is joined, and nothing this stack does would repair it.
 */
export function driftReasons(t: { nodeId: string; clusterId: string; host: string }, f: Findings): string[] {
    const out: string[] = [];
    if (f.node === "missing") out.push(`Node ${t.nodeId} not found in the cluster`);
    if (f.node === "unlabelled") out.push(`Node ${t.nodeId} has no nodeID=${t.nodeId} label`);
    if (f.registryEntries === 0) out.push(`node ${t.nodeId} is not in the AIOS registry of cluster ${t.clusterId}`);
    if (f.registryEntries > 1) out.push(`the AIOS registry of cluster ${t.clusterId} holds ${f.registryEntries} entries for node ${t.nodeId}`);
    if (f.machine.state === "reset") out.push(`machine ${t.host} is not joined any more (no kubelet config: reset by hand?)`);
    if (f.machine.state === "joined-elsewhere") out.push(`machine ${t.host} is joined to another cluster (its kubelet points at ${f.machine.server ?? "an unknown API server"})`);
    return out;
}

/**
 * Looks at the Node, the registry and the machine (one read-only SSH session, the prechecks' probe,
 * with the pinned host key) at once. The cluster or the registry not answering fails with an error
 * that names it and changes nothing; the machine not answering is a finding.
 */
export async function findDrift(t: DriftTarget): Promise<Findings> {
    const timeoutMs = t.httpTimeoutSeconds * 1000;
    const kube = new KubeClient(parseKubeconfig(t.kubeconfig), timeoutMs);
    const registry = new RegistryClient(t.registryUrl, { timeoutMs });
    const [node, cluster, machine] = await Promise.all([
        kube.getNode(t.nodeId).catch((e: unknown) => {
            throw new Error(
                `node ${t.nodeId}: the cluster's API server could not be read (${(e as Error).message}); nothing was changed. ` +
                    "Check the stack's kubeconfig and that the API server is reachable, then run it again",
            );
        }),
        registry.getCluster(t.clusterId).catch((e: unknown) => {
            throw new Error(
                `node ${t.nodeId}: the AIOS registry at ${t.registryUrl} could not be read (${(e as Error).message}); nothing was changed. ` +
                    "Check that the registry is up and cluster.registryUrl is right, then run it again",
            );
        }),
        probeMachine(t),
    ]);
    return {
        node: nodeFinding(t.nodeId, node),
        registryEntries: (cluster.nodes?.nodeData ?? []).filter((e) => e.id === t.nodeId).length,
        machine,
    };
}

async function probeMachine(t: DriftTarget): Promise<MachineState> {
    try {
        const res = await runRemoteScript(t.ssh, PROBE_SCRIPT, t.ssh.connectTimeoutSeconds + 30);
        return machineState(t, parseProbeOutput(res.stdout));
    } catch (e) {
        return { state: "unknown", reason: (e as Error).message };
    }
}
