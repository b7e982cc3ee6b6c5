import { z } from "zod";
import type { NodeEntry } from "../aios/schemas";
import type { MachineFacts } from "./probe";

/**
 * The AIOS node document (contract §3.5) built from what the machine reports. Sizes are
 * MiB, which AIOS calls "MB" (its scripts divide by 1024*1024); arrays are always arrays,
 * because a null array makes AIOS drop the node from the registry (contract §9.2.1).
 */
export interface NodeInventory {
    id: string;
    gpus: {
        count: number;
        memory: number;
        gpus: { modelName: string; memory: number }[];
        modelNames: string[];
        features: string[];
    };
    vcpus: { count: number };
    memory: number;
    swap: number;
    storage: { disks: number; size: number };
    network: { interfaces: number; txBandwidth: number; rxBandwidth: number };
    tags: string[];
    nodeMetadata: Record<string, unknown>;
}

/** A NodeInventory as it crosses into the provider plugin. */
export const nodeInventorySchema = z.object({
    id: z.string().min(1),
    gpus: z.object({
        count: z.number().int().min(0),
        memory: z.number().min(0),
        gpus: z.array(z.object({ modelName: z.string(), memory: z.number().min(0) })),
        modelNames: z.array(z.string()),
        features: z.array(z.string()),
    }),
    vcpus: z.object({ count: z.number().int().min(0) }),
    memory: z.number().min(0),
    swap: z.number().min(0),
    storage: z.object({ disks: z.number().int().min(0), size: z.number().min(0) }),
    network: z.object({ interfaces: z.number().int().min(0), txBandwidth: z.number().min(0), rxBandwidth: z.number().min(0) }),
    tags: z.array(z.string()),
    nodeMetadata: z.record(z.string(), z.unknown()),
}) satisfies z.ZodType<NodeInventory>;

const MIB = 1024 * 1024;

// Interfaces that are not network hardware: counting them would inflate the inventory.
const VIRTUAL_LINK = /^(lo|docker\d*|cni\d*|flannel\.\d+|cali[0-9a-f]+|veth[0-9a-f]*|virbr\d*|kube-ipvs\d*|tunl\d*|vxlan\.\S*|br-[0-9a-f]+)$/;

export function buildInventory(
    nodeId: string,
    facts: MachineFacts,
    tags: string[],
    nodeMetadata: Record<string, unknown>,
): NodeInventory {
    const gpus = facts.gpus.kind === "ok" ? facts.gpus.gpus : [];
    const links = facts.linkSpeedsMbps.filter((l) => !VIRTUAL_LINK.test(l.name));
    // Link speed is the only bandwidth a machine can report about itself; AIOS scripts
    // send placeholders (0 or 10000), we send the sum of the known link speeds in Mbps.
    const bandwidth = links.reduce((sum, l) => sum + l.mbps, 0);
    return {
        id: nodeId,
        gpus: {
            count: gpus.length,
            memory: gpus.reduce((sum, g) => sum + g.memoryMiB, 0),
            gpus: gpus.map((g) => ({ modelName: g.modelName, memory: g.memoryMiB })),
            modelNames: [...new Set(gpus.map((g) => g.modelName))],
            features: [],
        },
        vcpus: { count: facts.cpus },
        memory: Math.floor(facts.memTotalKiB / 1024),
        swap: Math.floor(facts.swapTotalKiB / 1024),
        storage: {
            disks: facts.disks.length,
            size: Math.floor(facts.disks.reduce((sum, d) => sum + d.bytes, 0) / MIB),
        },
        network: { interfaces: links.length, txBandwidth: bandwidth, rxBandwidth: bandwidth },
        tags: [...tags],
        nodeMetadata: { ...nodeMetadata },
    };
}

/**
 * What a machine that could not be reached is registered with: nothing known. Used only when
 * `forceRemove` lets an unreachable machine through its prechecks (it is being removed).
 */
export const NO_FACTS: MachineFacts = {
    privilege: "none",
    kubeadm: { kind: "missing" },
    addresses: [],
    links: [],
    memTotalKiB: 0,
    swapTotalKiB: 0,
    cpus: 0,
    listeners: [],
    disks: [],
    linkSpeedsMbps: [],
    gpus: { kind: "absent" },
    kubelet: { kind: "unknown" },
    hostname: "",
};

/**
 * The inventory AIOS holds for a node: its registry entry read back (AIOS adds `cluster_id`, which is
 * dropped), or undefined when the entry is not a node document of this shape (another tool wrote it, or
 * a membership restart replaced it with placeholders of another shape).
 */
export function inventoryFromEntry(entry: NodeEntry): NodeInventory | undefined {
    const parsed = nodeInventorySchema.safeParse(entry);
    return parsed.success ? parsed.data : undefined;
}
