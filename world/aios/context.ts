/**
 * What the AIOS stand-ins share inside one world process, and the Python services' registry
 * client (`ClusterClient` of the membership server and the gateway).
 */
import type { Faults, WaiterRecord, WorldConfig } from "./config";
import { pyRequest } from "./http";
import type { KubeClient } from "./kube";
import { pyErrorText } from "./py";

export interface Ctx {
    cfg: WorldConfig;
    faults: Faults;
    /** The gateway's `CLUSTER_CONTROLLER_GATEWAY_ACTIONS_MAP`, decoded. */
    network: { map: unknown };
    registryUrl(): string;
    gatewayUrl(): string;
    /** Undefined when the world has no kubeconfig (the membership server then fails like outside a cluster). */
    kube?: KubeClient;
    waiters: WaiterRecord[];
    /** The membership server's CLUSTER_ID when a request does not name one. */
    membershipDefaultCluster(): string | undefined;
    log(service: string, msg: string): void;
    /** Sleeps; resolves early (with false) when the world stops or the waiters are cancelled. */
    sleep(ms: number, generation: number): Promise<boolean>;
    /** Bumped by reset/restart: waiters of an older generation stop. */
    generation: number;
}

/** Header the gateway stand-in adds when it proxies to the membership server: which cluster it is for. */
export const CLUSTER_HEADER = "x-aios-world-cluster";

function clusterUrl(ctx: Ctx, id: string): string {
    return `${ctx.registryUrl()}/clusters/${encodeURI(id)}`;
}

/** `ClusterClient().read_cluster(id)`: `[true, doc]` or `[false, "Error occurred: ..."]`. */
export async function readCluster(ctx: Ctx, id: string): Promise<[true, unknown] | [false, string]> {
    try {
        const r = await pyRequest("GET", clusterUrl(ctx, id));
        r.raiseForStatus();
        return [true, r.json()];
    } catch (e) {
        return [false, `Error occurred: ${pyErrorText(e)}`];
    }
}

/** `ClusterClient().update_cluster(id, body)`. */
export async function updateCluster(ctx: Ctx, id: string, body: unknown): Promise<[true, unknown] | [false, string]> {
    try {
        const r = await pyRequest("PUT", clusterUrl(ctx, id), body);
        r.raiseForStatus();
        return [true, r.json()];
    } catch (e) {
        return [false, `Error occurred: ${pyErrorText(e)}`];
    }
}
