import { z } from "zod";
import { ConfigError, FieldProblem, describeValue, problemsFromZod } from "./errors";
import { clusterSchema, DEFAULT_TIMEOUTS, fixForPath, machineSchema, Timeouts, timeoutsSchema } from "./settings";
import { portSchema, unixUserSchema } from "./validators";

/**
 * The stack config of one cluster (Pulumi.<cluster>.yaml), without its secrets. Secrets
 * (kubeconfig, sshPrivateKey) are read as Pulumi secrets and only checked for presence here.
 */
export const stackConfigSchema = z
    .object({
        cluster: clusterSchema,
        sshUser: unixUserSchema.default("root"),
        sshPort: portSchema.default(22),
        parallelism: z.number().int().min(1).max(256).default(4),
        timeouts: timeoutsSchema.partial().default({}),
        machines: z.array(machineSchema).default([]),
    })
    .superRefine((cfg, ctx) => {
        const seenIds = new Map<string, number>();
        const seenHosts = new Map<string, number>();
        cfg.machines.forEach((m, i) => {
            const prevId = seenIds.get(m.nodeId);
            if (prevId !== undefined) {
                ctx.addIssue({ code: "custom", path: ["machines", i, "nodeId"], message: `"${m.nodeId}" is also machines[${prevId}].nodeId; node ids must be unique` });
            } else seenIds.set(m.nodeId, i);
            const hostKey = `${m.host}:${m.port ?? cfg.sshPort}`;
            const prevHost = seenHosts.get(hostKey);
            if (prevHost !== undefined) {
                ctx.addIssue({ code: "custom", path: ["machines", i, "host"], message: `"${hostKey}" is also machines[${prevHost}]'s SSH address; one machine, one entry` });
            } else seenHosts.set(hostKey, i);
        });
    });

export type StackConfig = z.infer<typeof stackConfigSchema>;

/** Raw values as read from `pulumi.Config` (each key may be missing or of any type). */
export interface RawStackConfig {
    clusterId?: unknown;
    registryUrl?: unknown;
    protocol?: unknown;
    gatewayUrl?: unknown;
    parserUrl?: unknown;
    customIp?: unknown;
    vpn?: unknown;
    kubeadmVersion?: unknown;
    joinToken?: unknown;
    joinTokenMinutes?: unknown;
    sshUser?: unknown;
    sshPort?: unknown;
    parallelism?: unknown;
    timeouts?: unknown;
    machines?: unknown;
    /** Whether the secrets are present; their values never reach this parser. */
    hasKubeconfig: boolean;
    hasSshPrivateKey: boolean;
}

const CLUSTER_KEYS = ["clusterId", "registryUrl", "protocol", "gatewayUrl", "parserUrl", "customIp", "vpn", "kubeadmVersion", "joinToken", "joinTokenMinutes"] as const;

/**
 * Validates the whole stack config and throws one ConfigError listing every bad key with
 * its path (`<project>:<key>…`), what was found and how to fix it.
 */
export type ResolvedStackConfig = Omit<StackConfig, "timeouts"> & { timeouts: Timeouts };

export function parseStackConfig(raw: RawStackConfig, project: string, stack: string): ResolvedStackConfig {
    const cluster: Record<string, unknown> = {};
    for (const key of CLUSTER_KEYS) if (raw[key] !== undefined) cluster[key] = raw[key];
    const input = {
        cluster,
        sshUser: raw.sshUser,
        sshPort: raw.sshPort,
        parallelism: raw.parallelism,
        timeouts: raw.timeouts,
        machines: raw.machines,
    };
    const parsed = stackConfigSchema.safeParse(input);
    const problems: FieldProblem[] = [];
    if (!parsed.success) {
        for (const p of problemsFromZod(parsed.error, input, "", fixForPath)) {
            // Cluster keys are top-level config keys; hide the internal grouping.
            const path = `${project}:${p.path.replace(/^cluster\./, "")}`;
            problems.push({ ...p, path, fix: fixForPath(path) });
        }
    }
    for (const [present, key] of [
        [raw.hasKubeconfig, "kubeconfig"],
        [raw.hasSshPrivateKey, "sshPrivateKey"],
    ] as const) {
        if (!present) {
            problems.push({ path: `${project}:${key}`, problem: "is required but missing (it must be a secret)", fix: fixForPath(key) });
        }
    }
    if (problems.length > 0 || !parsed.success) {
        throw new ConfigError(`invalid stack config for stack "${stack}"`, problems);
    }
    return { ...parsed.data, timeouts: { ...DEFAULT_TIMEOUTS, ...parsed.data.timeouts } };
}

export { describeValue };
