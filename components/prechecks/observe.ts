import { lookup } from "node:dns/promises";
import { RegistryClient } from "../aios";
import type { ClusterDocument } from "../aios/schemas";
import { tokenExpiry, tokenIdOf } from "../join/bootstrapTokens";
import { KubeClient, KubeNode, nodeReady } from "../kube/client";
import { inventoryFromEntry } from "../machine/inventory";
import { caSha256, parseKubeconfig } from "../kube/kubeconfig";
import { parseProbeOutput, PROBE_SCRIPT } from "../machine/probe";
import { runRemoteScript, SshTarget } from "../machine/ssh";
import { isIpAddress } from "../config/validators";
import type { Observation, OnboardedSighting } from "./checks";

/**
 * Gathers what the prechecks look at: the cluster document, the API server, and the
 * machine (one read-only SSH session). Runs in the Pulumi program at preview and at update,
 * bounded by the onboarding parallelism. Cluster-wide reads are shared by all machines.
 */
export interface ObserveInput {
    nodeId: string;
    clusterId: string;
    registryUrl: string;
    httpTimeoutSeconds: number;
    kubeconfig: string;
    ssh: SshTarget;
    address?: string;
    /** Parser protocol with the registry's static token: its expiry is read (the join-command check). */
    readsStaticToken?: boolean;
}

const clusterCache = new Map<string, Promise<ClusterDocument>>();
const otherClusterCache = new Map<string, Promise<ClusterDocument[]>>();
const kubeCache = new Map<string, Promise<{ client: KubeClient; version: string; nodes?: Map<string, KubeNode> }>>();
const staticTokenCache = new Map<string, Promise<NonNullable<Observation["staticToken"]>>>();

function message(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}

function cached<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
    let p = cache.get(key);
    if (!p) {
        p = make();
        cache.set(key, p);
    }
    return p;
}

/** A counting semaphore bounding concurrent probes (the stack's parallelism). */
export class Semaphore {
    private active = 0;
    private readonly waiting: (() => void)[] = [];
    constructor(private limit: number) {}
    setLimit(limit: number): void {
        this.limit = limit;
        this.wake();
    }
    async run<T>(fn: () => Promise<T>): Promise<T> {
        await this.acquire();
        try {
            return await fn();
        } finally {
            this.release();
        }
    }
    /** Waits for a slot; false when `timeoutMs` passed first (no slot is then held). */
    acquire(timeoutMs?: number): Promise<boolean> {
        return new Promise<boolean>((resolve) => {
            let timer: NodeJS.Timeout | undefined;
            const grant = (): void => {
                if (timer) clearTimeout(timer);
                resolve(true);
            };
            this.waiting.push(grant);
            if (timeoutMs !== undefined) {
                timer = setTimeout(() => {
                    const i = this.waiting.indexOf(grant);
                    if (i >= 0) {
                        this.waiting.splice(i, 1);
                        resolve(false);
                    }
                }, timeoutMs);
                timer.unref();
            }
            this.wake();
        });
    }
    release(): void {
        this.active--;
        this.wake();
    }
    private wake(): void {
        while (this.active < this.limit && this.waiting.length > 0) {
            this.active++;
            this.waiting.shift()!();
        }
    }
}

export const probeSlots = new Semaphore(4);

let observer: (input: ObserveInput) => Promise<Observation> = observe;

/** The observer the component uses; replaced only by unit tests. @internal */
export function currentObserver(): (input: ObserveInput) => Promise<Observation> {
    return observer;
}

/** Replaces the observer (unit tests of the component's wiring). @internal */
export function useObserverForTesting(fn: ((input: ObserveInput) => Promise<Observation>) | undefined): void {
    observer = fn ?? observe;
}

/**
 * Whether the cluster already shows this machine onboarded: a Node named as the node id, Ready (its
 * kubelet posts status), labelled `nodeID=<node id>` by AIOS, with the machine's configured address
 * among its addresses (so it is this machine, not another one holding the name), and the node in the
 * cluster's registry document in a shape this package registers. Such a machine is not probed over SSH:
 * its checks guard a join that is done, and probing every machine of a large stack at every preview
 * and update was most of what adding one machine to it cost (docs/benchmarks.md).
 */
export function onboardedSighting(nodeId: string, cluster: ClusterDocument | undefined, node: KubeNode | undefined, configuredAddresses: string[]): OnboardedSighting | undefined {
    if (!cluster || !node || !nodeReady(node) || node.metadata.labels?.nodeID !== nodeId) return undefined;
    const address = (node.status?.addresses ?? []).find((a) => (a.type === "InternalIP" || a.type === "ExternalIP") && configuredAddresses.includes(a.address))?.address;
    if (!address) return undefined;
    const entries = (cluster.nodes?.nodeData ?? []).filter((e) => e.id === nodeId);
    // Two entries for one node (AIOS has no duplicate check) is a registry to look at, not an onboarded machine.
    const entry = entries.length === 1 ? inventoryFromEntry(entries[0]) : undefined;
    return entry ? { address, entry } : undefined;
}

export async function observe(input: ObserveInput): Promise<Observation> {
    const registry = new RegistryClient(input.registryUrl, { timeoutMs: input.httpTimeoutSeconds * 1000 });
    const obs: Observation = { configuredAddresses: [] };
    const clusterKey = `${input.registryUrl}|${input.clusterId}`;
    const want = input.address ?? input.ssh.host;
    // The reads every machine shares (cached), and the address lookup, decide whether the machine needs probing.
    await Promise.all([
        cached(clusterCache, clusterKey, () => registry.getCluster(input.clusterId))
            .then((c) => void (obs.cluster = c))
            .catch((e) => void (obs.clusterError = message(e))),
        (async () => {
            try {
                // One list of the Nodes serves every machine: 50 machines asking for their Node
                // at once over 50 new TLS connections overloaded a small API server (measured).
                const kube = await cached(kubeCache, input.kubeconfig, async () => {
                    const client = new KubeClient(parseKubeconfig(input.kubeconfig), input.httpTimeoutSeconds * 1000);
                    const version = await client.version();
                    const nodes = await client.listNodes().then(
                        (items) => new Map(items.map((n) => [n.metadata.name, n])),
                        () => undefined,
                    );
                    return { client, version, nodes };
                });
                obs.kubeVersion = kube.version;
                obs.kubeNode = kube.nodes ? kube.nodes.get(input.nodeId) : await kube.client.getNode(input.nodeId);
            } catch (e) {
                obs.kubeError = message(e);
            }
        })(),
        (isIpAddress(want) ? Promise.resolve([want]) : lookup(want, { all: true }).then((r) => r.map((a) => a.address)))
            .then((a) => void (obs.configuredAddresses = a))
            .catch(() => undefined),
    ]);
    obs.onboarded = onboardedSighting(input.nodeId, obs.cluster, obs.kubeNode, obs.configuredAddresses.length > 0 ? obs.configuredAddresses : [want]);
    if (obs.onboarded) return obs;
    try {
        obs.clusterCaSha256 = caSha256(parseKubeconfig(input.kubeconfig));
    } catch {
        // A kubeconfig that does not parse fails the kubernetes check already.
    }
    const staticCommand = obs.cluster?.clusterMetadata?.additionalInfo?.joinCommand;
    if (input.readsStaticToken && staticCommand) {
        let tokenId: string | undefined;
        try {
            tokenId = tokenIdOf(staticCommand);
        } catch {
            // A command that does not parse fails the join-command check already.
        }
        if (tokenId) {
            const id = tokenId;
            obs.staticToken = await cached(staticTokenCache, `${input.kubeconfig}|${id}`, () =>
                tokenExpiry(new KubeClient(parseKubeconfig(input.kubeconfig), input.httpTimeoutSeconds * 1000), id).catch((e: unknown) => ({ error: message(e) })),
            );
        }
    }
    await Promise.all([
        cached(otherClusterCache, `${input.registryUrl}|${input.nodeId}`, () => registry.queryClusters({ "nodes.nodeData.id": input.nodeId }))
            .then((docs) => {
                const other = docs.find((d) => d.id !== input.clusterId);
                if (other) obs.otherCluster = other.id;
            })
            .catch(() => undefined),
        probeSlots.run(async () => {
            try {
                const res = await runRemoteScript(input.ssh, PROBE_SCRIPT, input.ssh.connectTimeoutSeconds + 30);
                obs.facts = parseProbeOutput(res.stdout);
            } catch (e) {
                obs.sshError = message(e);
            }
        }),
    ]);
    return obs;
}
