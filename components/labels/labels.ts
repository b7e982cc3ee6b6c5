import { KubeClient, KubeNode } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import type { Taint } from "../config/validators";

/**
 * The labels and taints a user declares for a machine, applied after verification by the
 * `${name}-labels` step. Labels use server-side apply with a field manager of our own, so an
 * update drops the labels we set before and never touches anyone else's (nodeID included).
 * Taints are an atomic list in the Node API, so they are merged by key and effect with an
 * optimistic read-modify-write that keeps taints set by others (e.g. node.kubernetes.io/*).
 */
export interface LabelsInput {
    kubeconfig: string;
    nodeId: string;
    labels: Record<string, string>;
    taints: Taint[];
    httpTimeoutSeconds: number;
    /** False when verification failed in this run: the Node is not known to be ours yet. */
    verified?: boolean;
}

export interface AppliedLabels {
    labels: Record<string, string>;
    taints: Taint[];
}

export function fieldManager(nodeId: string): string {
    return `aios-onboarding-${nodeId}`.slice(0, 128);
}

const sameTaint = (a: Taint, b: Taint): boolean => a.key === b.key && a.effect === b.effect;

export function mergeTaints(current: Taint[], previous: Taint[], wanted: Taint[]): Taint[] {
    const others = current.filter((t) => !previous.some((p) => sameTaint(p, t)) && !wanted.some((w) => sameTaint(w, t)));
    return [...others, ...wanted.map((t) => ({ ...t }))];
}

async function setTaints(kube: KubeClient, nodeId: string, previous: Taint[], wanted: Taint[]): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
        const node: KubeNode | undefined = await kube.getNode(nodeId);
        if (!node) throw new Error(`Node ${nodeId} does not exist; cannot set its taints`);
        const current = (node.spec?.taints ?? []) as Taint[];
        const next = mergeTaints(current, previous, wanted);
        if (JSON.stringify(next) === JSON.stringify(current)) return;
        const res = await kube.request<{ message?: string }>(
            "PATCH",
            `/api/v1/nodes/${encodeURIComponent(nodeId)}`,
            { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints: next } },
            "application/merge-patch+json",
        );
        if (res.status === 409) continue; // someone else changed the Node: read again
        if (res.status < 200 || res.status >= 300) throw new Error(`setting taints on ${nodeId} failed: ${res.body?.message ?? `HTTP ${res.status}`}`);
        return;
    }
    throw new Error(`setting taints on ${nodeId} kept conflicting with other writers; run pulumi up again`);
}

async function applyLabelSet(kube: KubeClient, nodeId: string, labels: Record<string, string>): Promise<void> {
    const res = await kube.request<{ message?: string }>(
        "PATCH",
        `/api/v1/nodes/${encodeURIComponent(nodeId)}?fieldManager=${encodeURIComponent(fieldManager(nodeId))}&force=true`,
        { apiVersion: "v1", kind: "Node", metadata: { name: nodeId, labels } },
        "application/apply-patch+yaml",
    );
    if (res.status === 404) throw new Error(`Node ${nodeId} does not exist; cannot label it`);
    if (res.status < 200 || res.status >= 300) throw new Error(`labelling ${nodeId} failed: ${res.body?.message ?? `HTTP ${res.status}`}`);
}

export async function applyNodeLabels(input: LabelsInput, previous: AppliedLabels | undefined): Promise<AppliedLabels> {
    if (input.verified === false) throw new Error(`labels and taints not applied to node ${input.nodeId}: its verification failed in this run (see the ${input.nodeId}-verify error)`);
    const kube = new KubeClient(parseKubeconfig(input.kubeconfig), input.httpTimeoutSeconds * 1000);
    // Server-side apply creates a missing object; make sure the Node exists first.
    if (!(await kube.getNode(input.nodeId))) throw new Error(`Node ${input.nodeId} does not exist; cannot label it`);
    await applyLabelSet(kube, input.nodeId, input.labels);
    await setTaints(kube, input.nodeId, previous?.taints ?? [], input.taints);
    return { labels: input.labels, taints: input.taints };
}

/** Removes what we applied; a Node that is already gone needs nothing. */
export async function removeNodeLabels(input: LabelsInput, previous: AppliedLabels | undefined): Promise<void> {
    const kube = new KubeClient(parseKubeconfig(input.kubeconfig), input.httpTimeoutSeconds * 1000);
    if (!(await kube.getNode(input.nodeId))) return;
    await applyLabelSet(kube, input.nodeId, {});
    await setTaints(kube, input.nodeId, previous?.taints ?? input.taints, []);
}
