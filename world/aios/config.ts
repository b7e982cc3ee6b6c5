/**
 * The configuration file of the AIOS stand-ins (written by `world:up`), and the mutable state
 * the services share: fault settings, the gateway's network policy map, waiter records, call
 * counters.
 */
import { z } from "zod";

const port = z.number().int().min(0).max(65535);

export const worldConfigSchema = z.object({
    listen: z.string().default("127.0.0.1"),
    ports: z.object({ registry: port, parser: port, gateway: port, membership: port, control: port }),
    /** Admin kubeconfig of the API server the membership server works on; none = no Kubernetes. */
    kubeconfig: z.string().optional(),
    /** Registry documents are written through to this file; absent = memory only. */
    stateFile: z.string().optional(),
    seedClusters: z.array(z.record(z.string(), z.unknown())).default([]),
    waiterWindowSeconds: z.number().positive().default(300),
    waiterPollSeconds: z.number().positive().default(5),
    /**
     * Optional: the cluster the membership server belongs to (its CLUSTER_ID) when a request does
     * not say; default: the first seed cluster.
     */
    membershipClusterId: z.string().optional(),
    /**
     * Optional: run the membership server's start-up routine (label every Node `nodeID=<name>`,
     * then replace the default cluster's `nodes.nodeData` from Kubernetes) when the world starts.
     * Default false: the real membership server runs it once, when the cluster infra is deployed,
     * not whenever the registry restarts; `POST /_world/membership/restart` runs it on demand.
     */
    membershipStartup: z.boolean().optional(),
    /** Optional: the parser's initial addNode behaviour. */
    parserAddNode: z.enum(["head", "intended"]).default("head"),
});

export type WorldConfig = z.infer<typeof worldConfigSchema>;
export type WorldConfigInput = z.input<typeof worldConfigSchema>;

export interface Faults {
    registry: { mode: "ok" | "down" | "error500" | "slow" | "malformed"; delayMs: number };
    parser: { addNode: "head" | "intended" };
    controller: { labelling: "on" | "never"; windowSeconds?: number };
}

export function defaultFaults(cfg: WorldConfig): Faults {
    return { registry: { mode: "ok", delayMs: 0 }, parser: { addNode: cfg.parserAddNode }, controller: { labelling: "on" } };
}

export const faultsPatchSchema = z
    .object({
        registry: z.object({ mode: z.enum(["ok", "down", "error500", "slow", "malformed"]), delayMs: z.number().int().min(0).optional() }).optional(),
        parser: z.object({ addNode: z.enum(["head", "intended"]) }).optional(),
        policies: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
        controller: z.object({ labelling: z.enum(["on", "never"]).optional(), windowSeconds: z.number().positive().nullable().optional() }).optional(),
    })
    .strict();

export type FaultsPatch = z.infer<typeof faultsPatchSchema>;

/** One membership-server waiter ("Cluster Controller" labelling), as `GET /_world/state` shows it. */
export interface WaiterRecord {
    nodeId: string;
    clusterId: string;
    /** `gateway` (membership `/join-node`) or `parser` (addNode in "intended" mode). */
    source: "membership" | "parser";
    tokenId?: string;
    issuedAt: string;
    readyAt?: string;
    labelledAt?: string;
    registryUpdated?: boolean;
    state: "waiting" | "labelled" | "timed-out" | "not-labelled" | "cancelled" | "error";
    error?: string;
}
