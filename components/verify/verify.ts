import { GatewayClient } from "../aios/gateway";
import { discardJoinCommand } from "../registration/register";
import { RegistryClient } from "../aios/registry";
import { KubeClient, KubeNode, NodeMetadataRead, nodeReady } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import type { NodeInventory } from "../machine/inventory";
import { LabelWindow, nextLabelWindows } from "./labelWindows";

/**
 * Verification, run by the `${name}-verify` resource's create and update: waits until the Node exists, is Ready
 * and carries `nodeID=<node id>`. It never writes that label: the AIOS Cluster Controller
 * must (contract §6.1), otherwise the check would prove nothing.
 */
export interface VerifyInput {
    kubeconfig: string;
    nodeId: string;
    verifySeconds: number;
    protocol: "gateway" | "parser";
    clusterId: string;
    registryUrl: string;
    gatewayUrl?: string;
    httpTimeoutSeconds: number;
    mode: "local_network" | "public";
    customIp?: string;
    registeredAt: string;
    node: NodeInventory;
    /** The machine is being removed without contact: report the Node as it is, do not wait. */
    forceRemove?: boolean;
}

export interface VerifiedNode {
    nodeName: string;
    /** The Node object's UID: another one means the Node was created again (a repair re-joined the machine). */
    nodeUid: string;
    labels: Record<string, string>;
    kubeletVersion: string;
    addresses: { type: string; address: string }[];
    ready: boolean;
}

/** The AIOS membership waiter gives up 300 s after the join command was issued (contract §4.3). */
export const AIOS_WAITER_WINDOW_SECONDS = 300;

/**
 * A live waiter polls every 5 s and labels a Ready node at its next poll (contract §4.3). A node
 * Ready and unlabelled for this long has no live waiter: it gave up, crashed, or the controller
 * was broken when it looked. Four polls of margin, because a second live waiter would append
 * the node to the registry twice (AIOS has no duplicate check).
 */
export const WAITER_GONE_AFTER_READY_SECONDS = 20;

/**
 * When to ask the gateway for a new waiter for `node` (ms since the epoch), or undefined while
 * there is nothing to re-arm (not Ready yet, or already labelled).
 */
export function rearmAt(nodeId: string, node: KubeNode | undefined, registeredAt: string): number | undefined {
    if (!node || !nodeReady(node) || node.metadata.labels?.nodeID === nodeId) return undefined;
    const windowClosed = Date.parse(registeredAt) + AIOS_WAITER_WINDOW_SECONDS * 1000;
    const readySince = Date.parse(node.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime ?? "");
    // A waiter issued after the Node became Ready (a repair's) sees it Ready at its first poll.
    const waiterGone = Number.isFinite(readySince) ? Math.max(readySince, Date.parse(registeredAt)) + WAITER_GONE_AFTER_READY_SECONDS * 1000 : windowClosed;
    return Math.min(windowClosed, waiterGone);
}

export function describeNodeState(nodeId: string, node: KubeNode | undefined): string {
    if (!node) return `Node ${nodeId} does not exist in the cluster (the kubelet never registered)`;
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    const labels = node.metadata.labels ?? {};
    const readyText = ready ? `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ""}` : "no Ready condition";
    const label = labels.nodeID === undefined ? "no nodeID label" : `nodeID=${labels.nodeID}`;
    return `Node ${nodeId} exists, ${readyText}, ${label}; labels: ${Object.keys(labels).sort().join(", ") || "none"}`;
}

function done(nodeId: string, node: KubeNode | undefined): boolean {
    return !!node && nodeReady(node) && node.metadata.labels?.nodeID === nodeId;
}

/**
 * `log` gets what the user should keep reading (a re-armed waiter, a lost registry entry); `progress`
 * what the Node looks like while waiting.
 */
export async function verifyNode(input: VerifyInput, log: (msg: string) => void = () => undefined, progress: (msg: string) => void = () => undefined): Promise<VerifiedNode> {
    const kube = new KubeClient(parseKubeconfig(input.kubeconfig), input.httpTimeoutSeconds * 1000);
    if (input.forceRemove) {
        // Setting forceRemove on an unreachable machine updates this step; its Node may be NotReady.
        const node = await kube.getNode(input.nodeId);
        log(`forceRemove is set for node ${input.nodeId}: not waiting for it; ${describeNodeState(input.nodeId, node)}`);
        return verifiedNode(input.nodeId, node);
    }
    const deadline = Date.now() + input.verifySeconds * 1000;
    let last: KubeNode | undefined;
    let rearmed = false;
    let timer: NodeJS.Timeout | undefined;
    // When the waiter that the join command started is gone (a retried join after its window,
    // a verification after a timeout, a controller that was broken), only a new join-node call
    // starts a waiter that labels the Ready node.
    const maybeRearm = (): void => {
        const at = input.protocol === "gateway" && !rearmed ? rearmAt(input.nodeId, last, input.registeredAt) : undefined;
        if (at === undefined) return;
        if (Date.now() >= at) {
            rearmed = true;
            void rearm(input, kube, log);
        } else if (!timer) {
            timer = setTimeout(() => {
                timer = undefined;
                maybeRearm();
            }, at - Date.now());
            timer.unref();
        }
    };
    const seen = (node: KubeNode | undefined): void => {
        last = node;
        progress(`waiting for Ready and nodeID=${input.nodeId}: ${describeNodeState(input.nodeId, node)}`);
        maybeRearm();
    };
    const ok = await kube.watchNode(input.nodeId, deadline, (n) => done(input.nodeId, n), seen).finally(() => clearTimeout(timer));
    if (!ok || !last) {
        throw new Error(
            `verification of node ${input.nodeId} timed out after ${input.verifySeconds}s (timeouts.verifySeconds): ${describeNodeState(input.nodeId, last)}. ` +
                "The AIOS Cluster Controller labels a Ready Node named exactly as the node id within 300 s of the join command; " +
                "check the membership server and the node's kubelet, then run `pulumi up` again",
        );
    }
    if (input.protocol === "gateway") await ensureRegistryEntry(input, log, () => kube.listNodeMetadata(NODE_ID_LABEL));
    return verifiedNode(input.nodeId, last);
}

/** How long `ensureRegistryEntry` waits and polls; the defaults suit AIOS, tests shorten them. */
export interface RegistryEntryTiming {
    /**
     * How soon after labelling a node the AIOS waiter has appended it to the registry: 3 s. It reads
     * the cluster and writes the node list back right after its label patch (contract §4.3), two
     * requests. Until then that write may still come (and drop entries written since its read); after
     * it, AIOS adds nothing more for the node.
     */
    appendMs: number;
    /** Between two reads of the cluster document: 200 ms. */
    pollMs: number;
    /** How long the entry must stay listed once nothing can write it away any more: 300 ms. */
    settleMs: number;
}

const REGISTRY_ENTRY_TIMING: RegistryEntryTiming = { appendMs: 3_000, pollMs: 200, settleMs: 300 };

/** The label AIOS's waiter sets; its Nodes are the ones whose registry writes can race. */
const NODE_ID_LABEL = "nodeID";

/** One list of the Nodes labelled `nodeID`, as `ensureRegistryEntry` reads it; in production the cluster's API server. */
export type LabelledNodesReader = () => Promise<NodeMetadataRead>;

/**
 * What this process knows of one cluster's registry while verifications wait on it. The provider is one
 * process for the whole stack, so its verifications share it: a registry read younger than a poll (or
 * still in flight) is shared, so 100 machines verified at once cost one read per poll, not 100 reads of
 * a 100-entry document; the label windows of every labelled Node come from one list at a time; and this
 * process's own registry writes go one at a time, so they never write each other away.
 */
interface ClusterWatch {
    waiting: number;
    /** How many entries each node id has, and when that read was sent. */
    read?: { at: number; ids: Promise<Map<string, number>> };
    /** The label windows, when the list they come from was sent, and the list in flight. */
    labels: { windows: Map<string, LabelWindow>; sentAt?: number; inFlight?: Promise<void> };
    writes: Promise<unknown>;
    writing: number;
    lastWriteEnd: number;
}

const watches = new Map<string, ClusterWatch>();

function registryRead(watch: ClusterWatch, registry: RegistryClient, clusterId: string, maxAgeMs: number): { at: number; ids: Promise<Map<string, number>> } {
    if (watch.read && Date.now() - watch.read.at < maxAgeMs) return watch.read;
    const ids = registry.getCluster(clusterId).then((c) => {
        const counts = new Map<string, number>();
        for (const e of c.nodes?.nodeData ?? []) if (e.id !== undefined) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
        return counts;
    });
    const read = { at: Date.now(), ids };
    watch.read = read;
    // A failed read is not kept for the others: each one fails on its own and may read again.
    ids.catch(() => {
        if (watch.read === read) watch.read = undefined;
    });
    return read;
}

/** The label windows from a list sent at `since` or later (one list at a time, shared). */
async function labelWindowsSince(watch: ClusterWatch, readLabelled: LabelledNodesReader, since: number): Promise<Map<string, LabelWindow>> {
    const labels = watch.labels;
    while (labels.sentAt === undefined || labels.sentAt < since) {
        if (!labels.inFlight) {
            const sentAt = Date.now();
            labels.inFlight = readLabelled()
                .then((read) => {
                    labels.windows = nextLabelWindows(labels.windows, labels.sentAt, read, NODE_ID_LABEL);
                    labels.sentAt = sentAt;
                })
                .finally(() => (labels.inFlight = undefined));
        }
        await labels.inFlight;
    }
    return labels.windows;
}

/** One of this process's registry writes, after the ones before it. */
function ownWrite<T>(watch: ClusterWatch, write: () => Promise<T>): Promise<T> {
    watch.writing++;
    const run = watch.writes.then(write, write);
    watch.writes = run.catch(() => undefined);
    return run.finally(() => {
        watch.writing--;
        watch.lastWriteEnd = Date.now();
        watch.read = undefined; // the next read must see this write
    });
}

/**
 * The AIOS waiter appends a labelled node to the registry by reading the cluster and writing the
 * whole node list back, so a waiter that read before our node's entry landed writes it away again
 * (the e2e suite saw it, even after the entry had been listed). A node missing from the registry is
 * invisible to AIOS. So after the label this waits for the entry, and counts it settled once a read
 * lists it that was sent after every write that could drop it: the waiters of the Nodes labelled
 * before our entry was first listed (whichever stack or process they belong to) have written within
 * `appendMs` of their label, or are listed (they wrote), and this process has no write of its own in
 * flight; it must then stay listed for `settleMs`. Nodes labelled later read a list that holds ours.
 * An entry still missing `appendMs` after its label, or written away after it was listed, is added the
 * same way; other writers race as well, so each add is checked like AIOS's own. An entry listed twice
 * (a waiter of an earlier, interrupted run appended one too) is written back once.
 */
export async function ensureRegistryEntry(
    input: VerifyInput,
    log: (msg: string) => void,
    readLabelled: LabelledNodesReader,
    timing: Partial<RegistryEntryTiming> = {},
): Promise<void> {
    const { appendMs, pollMs, settleMs } = { ...REGISTRY_ENTRY_TIMING, ...timing };
    const registry = new RegistryClient(input.registryUrl, { timeoutMs: input.httpTimeoutSeconds * 1000 });
    const key = `${input.registryUrl} ${input.clusterId}`;
    const watch: ClusterWatch = watches.get(key) ?? { waiting: 0, labels: { windows: new Map() }, writes: Promise.resolve(), writing: 0, lastWriteEnd: 0 };
    watches.set(key, watch);
    watch.waiting++;
    const me = input.nodeId;
    const started = Date.now();
    try {
        let listedSince: number | undefined;
        let settledSince: number | undefined;
        let writtenAway = false;
        let added = 0;
        let deduplicated = 0;
        for (;;) {
            const read = registryRead(watch, registry, input.clusterId, pollMs);
            const ids = await read.ids;
            const now = Date.now();
            const entries = ids.get(me) ?? 0;
            if (entries > 1 && deduplicated < 3) {
                log(`the AIOS registry holds ${entries} entries for node ${me} (a waiter of an earlier, interrupted run added one too): keeping one`);
                await ownWrite(watch, async () => {
                    await registry.removeNodeEntry(input.clusterId, me);
                    await registry.addNodeEntry(input.clusterId, { ...input.node, id: me });
                });
                listedSince = settledSince = undefined;
                deduplicated++;
            } else if (entries > 0) {
                const firstListed = (listedSince ??= now);
                const windows = await labelWindowsSince(watch, readLabelled, firstListed);
                const ownWritesDone = watch.writing === 0 && read.at > watch.lastWriteEnd;
                const pendingWriters = [...windows].some(
                    ([id, w]) => id !== me && !ids.has(id) && (w.from === undefined || w.from <= firstListed) && read.at < w.until + appendMs,
                );
                settledSince = ownWritesDone && !pendingWriters ? (settledSince ?? read.at) : undefined;
                if (settledSince !== undefined && now - settledSince >= settleMs) return;
            } else {
                // Written away by another writer after it was listed, or after we added it: AIOS will not add it back.
                if (listedSince !== undefined || added > 0) writtenAway = true;
                listedSince = settledSince = undefined;
                const mine = (await labelWindowsSince(watch, readLabelled, started)).get(me);
                if (writtenAway || Date.now() >= (mine?.until ?? started) + appendMs) {
                    if (added === 3) {
                        throw new Error(
                            `node ${me} is Ready and labelled, but the AIOS registry kept losing its nodes.nodeData entry of cluster ${input.clusterId} ` +
                                "(other writers replaced the node list each time it was added); run `pulumi up` again",
                        );
                    }
                    log(`the AIOS registry has no entry for node ${me} after it was labelled (AIOS loses one when two nodes are labelled at once): adding it`);
                    await ownWrite(watch, () => registry.addNodeEntry(input.clusterId, { ...input.node, id: me }));
                    writtenAway = false;
                    added++;
                }
            }
            await new Promise((r) => setTimeout(r, pollMs));
        }
    } finally {
        if (--watch.waiting === 0) watches.delete(key);
    }
}

function verifiedNode(nodeId: string, node: KubeNode | undefined): VerifiedNode {
    return {
        nodeName: node?.metadata.name ?? nodeId,
        nodeUid: node?.metadata.uid ?? "",
        labels: node?.metadata.labels ?? {},
        kubeletVersion: node?.status?.nodeInfo?.kubeletVersion ?? "",
        addresses: node?.status?.addresses ?? [],
        ready: !!node && nodeReady(node),
    };
}

async function rearm(input: VerifyInput, kube: KubeClient, log: (msg: string) => void): Promise<void> {
    try {
        const gateway = new GatewayClient(input.gatewayUrl!, { timeoutMs: input.httpTimeoutSeconds * 1000 });
        const command = await gateway.joinNode(input.clusterId, input.node, { mode: input.mode, customIp: input.customIp });
        await discardJoinCommand(kube, command);
        log(`node ${input.nodeId} is Ready without the nodeID label and no AIOS waiter is left to label it; asked the gateway to start a new waiter`);
    } catch (e) {
        log(`could not re-arm the AIOS waiter for ${input.nodeId}: ${(e as Error).message}`);
    }
}
