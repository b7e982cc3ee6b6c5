import { z } from "zod";
import { ConfigError, problemsFromZod } from "../config/errors";
import { clusterSchema, DEFAULT_TIMEOUTS, fixForPath, machineSchema, Timeouts } from "../config/settings";
import type { OnboardedNodeArgs } from "./args";

/** The validated, defaulted plain settings of one OnboardedNode. */
export interface NodeSettings {
    cluster: z.infer<typeof clusterSchema>;
    machine: z.infer<typeof machineSchema>;
    port: number;
    user: string;
    timeouts: Timeouts;
}

const argsSchema = z.object({
    cluster: clusterSchema,
    machine: machineSchema,
});

/** Validates the plain parts of the arguments; one ConfigError lists every problem. */
export function parseNodeArgs(name: string, args: OnboardedNodeArgs): NodeSettings {
    const { cluster, privateKey: _key, ...machine } = args;
    const { kubeconfig: _kc, ...clusterPlain } = cluster;
    const input = { cluster: clusterPlain, machine };
    const parsed = argsSchema.safeParse(input);
    const problems = parsed.success ? [] : problemsFromZod(parsed.error, input, "", fixForPath);
    if (args.privateKey === undefined) problems.push({ path: "privateKey", problem: "is required but missing", fix: fixForPath("sshPrivateKey") });
    if (cluster.kubeconfig === undefined) problems.push({ path: "cluster.kubeconfig", problem: "is required but missing", fix: fixForPath("kubeconfig") });
    if (!parsed.success || problems.length > 0) {
        throw new ConfigError(`invalid arguments for OnboardedNode "${name}"`, problems.map((p) => ({ ...p, path: p.path.replace(/^machine\./, "") })));
    }
    const m = parsed.data.machine;
    return {
        cluster: parsed.data.cluster,
        machine: m,
        port: m.port ?? 22,
        user: m.user ?? "root",
        timeouts: { ...DEFAULT_TIMEOUTS, ...(m.timeouts ?? {}) },
    };
}
