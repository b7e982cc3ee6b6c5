import { lookup } from "node:dns/promises";
import { RegistryClient } from "../aios";
import type { ClusterDocument } from "../aios/schemas";
import { KubeClient, KubeNode } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import { parseProbeOutput, PROBE_SCRIPT } from "../machine/probe";
import { runRemoteScript, SshTarget } from "../machine/ssh";
import { isIpAddress } from "../config/validators";
import type { Observation } from "./checks";

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
}

const clusterCache = new Map<string, Promise<ClusterDocument>>();
const otherClusterCache = new Map<string, Promise<ClusterDocument[]>>();
const kubeCache = new Map<string, Promise<{ client: KubeClient; version: string; nodes?: Map<string, KubeNode> }>>();

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

export async function observe(input: ObserveInput): Promise<Observation> {
    const registry = new RegistryClient(input.registryUrl, { timeoutMs: input.httpTimeoutSeconds * 1000 });
    const obs: Observation = { configuredAddresses: [] };
    const clusterKey = `${input.registryUrl}|${input.clusterId}`;
    const tasks: Promise<void>[] = [];
    tasks.push(
        cached(clusterCache, clusterKey, () => registry.getCluster(input.clusterId))
            .then((c) => void (obs.cluster = c))
            .catch((e) => void (obs.clusterError = message(e))),
    );
    tasks.push(
        cached(otherClusterCache, `${input.registryUrl}|${input.nodeId}`, () => registry.queryClusters({ "nodes.nodeData.id": input.nodeId }))
            .then((docs) => {
                const other = docs.find((d) => d.id !== input.clusterId);
                if (other) obs.otherCluster = other.id;
            })
            .catch(() => undefined),
    );
    tasks.push(
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
    );
    tasks.push(
        probeSlots.run(async () => {
            try {
                const res = await runRemoteScript(input.ssh, PROBE_SCRIPT, input.ssh.connectTimeoutSeconds + 30);
                obs.facts = parseProbeOutput(res.stdout);
            } catch (e) {
                obs.sshError = message(e);
            }
        }),
    );
    const want = input.address ?? input.ssh.host;
    tasks.push(
        (isIpAddress(want) ? Promise.resolve([want]) : lookup(want, { all: true }).then((r) => r.map((a) => a.address)))
            .then((a) => void (obs.configuredAddresses = a))
            .catch(() => undefined),
    );
    await Promise.all(tasks);
    return obs;
}
