import { z } from "zod";
import type { OperationContext, ResourceHandler } from "../provider/handler";
import { decodeProps, diffStored, sshForState } from "../provider/wire";
import { MAX_TOKEN_MINUTES } from "../join/bootstrapTokens";
import { KubeClient } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import { nodeInventorySchema } from "../machine/inventory";
import { storedSshTargetSchema } from "../machine/ssh";
import { drainAndDeregister } from "../offboard/offboard";
import { driftReasons, findDrift } from "./drift";
import { repairNode } from "./repair";
import { verifyNode } from "./verify";

/** The resource token of a machine's verification, served by the aios-onboarding provider plugin. */
export const VERIFICATION_TYPE = "aios-onboarding:index:Verification";

const protocol = z.enum(["gateway", "parser"]);

/** What the program sends. `registeredAt` and `joinId` come from the registration and the join: they order the verification after both. */
export const verificationInputs = z
    .object({
        protocol,
        clusterId: z.string().min(1),
        registryUrl: z.string().min(1),
        gatewayUrl: z.string().min(1).optional(),
        /** Parser protocol: where a repair registers the node again. */
        parserUrl: z.string().min(1).optional(),
        mode: z.enum(["local_network", "public"]),
        customIp: z.string().min(1).optional(),
        httpTimeoutSeconds: z.number().positive(),
        verifySeconds: z.number().positive(),
        /** How long a repair's join of the machine may take (timeouts.joinSeconds). */
        joinSeconds: z.number().positive(),
        drainSeconds: z.number().positive(),
        forceRemove: z.boolean(),
        node: nodeInventorySchema,
        registeredAt: z.string().min(1),
        /** The join resource's id. */
        joinId: z.string(),
        /** The id of the join token the registration got for this machine and this stack owns: deleted once verified or failed. */
        tokenId: z.string().nullable(),
        /** How a repair gets its join token (see the registration's `joinToken`). */
        joinToken: z.enum(["registry", "mint"]).default("registry"),
        joinTokenMinutes: z.number().int().min(1).max(MAX_TOKEN_MINUTES).default(MAX_TOKEN_MINUTES),
        /** Without its key when the key is the provider's (see storedSshTargetSchema). */
        ssh: storedSshTargetSchema,
    })
    .strict();
export type VerificationInputs = z.infer<typeof verificationInputs>;

const observed = {
    nodeName: z.string(),
    nodeUid: z.string().default(""),
    labels: z.record(z.string(), z.string()),
    kubeletVersion: z.string(),
    addresses: z.array(z.object({ type: z.string(), address: z.string() })),
    ready: z.boolean(),
};

/** What the state keeps: the Node as verified, and what the offboarding (the delete) and a later diff need. */
export const verificationOutputs = z.object({
    ...observed,
    protocol,
    clusterId: z.string(),
    nodeId: z.string(),
    registryUrl: z.string(),
    gatewayUrl: z.string().optional(),
    httpTimeoutSeconds: z.number(),
    drainSeconds: z.number(),
    forceRemove: z.boolean(),
    registeredAt: z.string(),
    joinId: z.string(),
    tokenId: z.string().nullable().default(null),
    ssh: storedSshTargetSchema,
    /** What the last refresh found wrong with the machine (see driftReasons); the next update repairs it. */
    drift: z.array(z.string()).default([]),
});
export type VerificationOutputs = z.infer<typeof verificationOutputs>;

/** The inputs that are outputs of the registration and the join. */
const FROM_STEPS = ["registeredAt", "joinId", "tokenId"] as const;
const decodeInputs = (name: string, value: unknown, preview = false) => decodeProps(`verification ${name}`, verificationInputs, value, { preview, fromSteps: FROM_STEPS });
const decodeOutputs = (name: string, value: unknown) => decodeProps(`stored verification ${name}`, verificationOutputs, value);

const IDENTITY = ["protocol", "clusterId", "nodeId"] as const;

/** Drift already told about in this provider process: the engine asks for a diff more than once per run. */
const toldDrift = new Set<string>();
/** Changes that mean another registration or join happened: the Node is verified again. */
const REVERIFY = ["registeredAt", "joinId", "tokenId", "forceRemove"] as const;
const KEPT = [...IDENTITY, ...REVERIFY, "registryUrl", "gatewayUrl", "httpTimeoutSeconds", "drainSeconds", "ssh"] as const;
type Kept = (typeof KEPT)[number];

function kept(i: Partial<VerificationInputs>): Partial<Record<Kept, unknown>> {
    return {
        protocol: i.protocol,
        clusterId: i.clusterId,
        nodeId: i.node?.id,
        registeredAt: i.registeredAt,
        joinId: i.joinId,
        tokenId: i.tokenId,
        forceRemove: i.forceRemove,
        registryUrl: i.registryUrl,
        gatewayUrl: i.gatewayUrl,
        httpTimeoutSeconds: i.httpTimeoutSeconds,
        drainSeconds: i.drainSeconds,
        ssh: i.ssh,
    };
}

function changedKeys(before: VerificationOutputs, news: Partial<VerificationInputs>): Kept[] {
    const now = kept(news);
    const old: Partial<Record<Kept, unknown>> = Object.fromEntries(KEPT.map((k) => [k, before[k]]));
    // A key absent from `news` is not a change; one not known yet (at preview) is one, since what it
    // depends on is about to change.
    return KEPT.filter((k) => k in now && now[k] !== undefined && JSON.stringify(now[k]) !== JSON.stringify(old[k]));
}

async function verify(ctx: OperationContext, i: VerificationInputs, registeredAt = i.registeredAt) {
    const node = await spendingToken(ctx, i, () =>
        verifyNode(
            { ...i, registeredAt, kubeconfig: ctx.kubeconfig(), nodeId: i.node.id },
            (m) => ctx.info(m),
            (m) => ctx.progress(m),
        ),
    );
    const stored = kept(i) as Record<Kept, unknown>;
    return { ...node, ...stored, ssh: sshForState(i.ssh), drift: [] };
}

/**
 * Runs `step`, then deletes the join token the machine was given, whether the step verified it or
 * failed: a verified kubelet has its certificate and needs the token no more, and a machine whose
 * verification failed keeps nothing usable (the next `up` gets a new token, see the registration's
 * update). A machine whose join failed is never verified: the provider deletes its token when the
 * run ends (see tokenLedger). The step's error is the one reported; a token
 * that cannot be deleted fails a step that succeeded.
 */
async function spendingToken<T>(ctx: OperationContext, i: VerificationInputs, step: () => Promise<T>): Promise<T> {
    const spend = async () => {
        if (!i.tokenId) return;
        const kube = new KubeClient(parseKubeconfig(ctx.kubeconfig()), i.httpTimeoutSeconds * 1000);
        if (await ctx.joinTokens.delete(kube, i.tokenId)) ctx.info(`deleted the join token ${i.tokenId} of node ${i.node.id}`);
    };
    let result: T;
    try {
        result = await step();
    } catch (e) {
        await spend().catch((d: unknown) => ctx.warn(`the join token ${i.tokenId} of node ${i.node.id} could not be deleted (${d instanceof Error ? d.message : String(d)}); delete Secret kube-system/bootstrap-token-${i.tokenId}`));
        throw e;
    }
    try {
        await spend();
    } catch (e) {
        throw new Error(`node ${i.node.id} is verified, but its join token ${i.tokenId} could not be deleted: ${e instanceof Error ? e.message : String(e)}; run \`pulumi up\` again`);
    }
    return result;
}

/**
 * The provider's side of a machine's verification. Create waits until the Node exists, is Ready and
 * carries `nodeID=<node id>` set by the AIOS Cluster Controller (progress on the resource's status
 * line). Read (`pulumi refresh`) looks at the Node, the registry entry and the machine again and
 * records what it finds wrong as `drift`; an update of a drifted machine repairs it (repairNode),
 * then verifies again. Delete is the first offboarding step: cordon, drain and `remove-node` (once).
 */
export const verificationHandler: ResourceHandler = {
    check(name, _olds, news) {
        decodeInputs(name, news, true);
        return { inputs: news as Record<string, unknown> };
    },
    diff(name, olds, news, ctx) {
        const n = decodeInputs(name, news, true);
        return diffStored(
            verificationOutputs,
            olds,
            (stored) => {
                const told = `${name} ${stored.drift.join("; ")}`;
                if (stored.drift.length > 0 && !toldDrift.has(told)) {
                    toldDrift.add(told);
                    ctx?.info(`found by refresh, repaired by the next update: ${stored.drift.join("; ")}`);
                }
                return [...changedKeys(stored, n), ...(stored.drift.length > 0 ? ["drift"] : [])];
            },
            IDENTITY,
        );
    },
    async create(ctx, props) {
        const i = decodeInputs(ctx.name, props);
        return { id: `${i.clusterId}/${i.node.id}`, outs: await verify(ctx, i) };
    },
    async update(ctx, olds, news) {
        const before = decodeOutputs(ctx.name, olds);
        const i = decodeInputs(ctx.name, news);
        if (before.drift.length > 0 && !i.forceRemove) {
            ctx.info(`repairing node ${i.node.id}: ${before.drift.join("; ")}`);
            const registeredAt = await repairNode({ ...i, ssh: ctx.ssh(i.ssh), kubeconfig: ctx.kubeconfig() }, (m) => ctx.info(m));
            return { outs: await verify(ctx, i, registeredAt) };
        }
        if (changedKeys(before, i).some((k) => (REVERIFY as readonly string[]).includes(k))) return { outs: await verify(ctx, i) };
        return { outs: { ...before, ...kept(i), ssh: sshForState(i.ssh), drift: [] } };
    },
    async read(ctx, id, props) {
        const before = decodeOutputs(ctx.name, props);
        // A machine leaving without contact is not looked at: it is expected to be gone.
        if (before.forceRemove) return { id, props: { ...before, ssh: sshForState(before.ssh) } };
        const f = await findDrift({ ...before, ssh: ctx.ssh(before.ssh), kubeconfig: ctx.kubeconfig() });
        if (f.machine.state === "unknown") {
            ctx.warn(`machine ${before.ssh.host} of node ${before.nodeId} could not be looked at during refresh (${f.machine.reason}); it is not taken for gone, and only what the cluster and AIOS show was checked`);
        }
        if (f.node === "not-ready") ctx.warn(`Node ${before.nodeId} is NotReady: its machine is joined, so nothing is repaired; check the machine's kubelet`);
        const drift = driftReasons({ nodeId: before.nodeId, clusterId: before.clusterId, host: before.ssh.host }, f);
        for (const d of drift) ctx.warn(`drift: ${d}; \`pulumi up\` repairs it`);
        return { id, props: { ...before, ssh: sshForState(before.ssh), drift } };
    },
    async delete(ctx, props) {
        const v = decodeOutputs(ctx.name, props);
        await drainAndDeregister({ ...v, ssh: ctx.ssh(v.ssh), kubeconfig: ctx.kubeconfig() }, (m) => ctx.info(m));
    },
};
