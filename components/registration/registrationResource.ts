import { z } from "zod";
import type { ResourceHandler } from "../provider/handler";
import type { OperationContext } from "../provider/handler";
import { decodeProps, diffStored, reveal, secret, sshForState } from "../provider/wire";
import { tokenUsable, type OwnedToken } from "../join/bootstrapTokens";
import { KubeClient } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import { storedSshTargetSchema } from "../machine/ssh";
import { resetMachine } from "../offboard/offboard";
import { forgetNode, joinedAsThisNode, register, registrationInputs, renewJoinToken, type RegistrationOutput } from "./register";

/** The resource token of a machine's registration with AIOS, served by the aios-onboarding provider plugin. */
export const REGISTRATION_TYPE = "aios-onboarding:index:Registration";

const protocol = z.enum(["gateway", "parser"]);
export type RegistrationInputs = z.infer<typeof registrationInputs>;

/** What the state keeps: what the delete and a later diff need, and the result. */
export const registrationOutputs = z.object({
    protocol,
    clusterId: z.string(),
    nodeId: z.string(),
    registryUrl: z.string(),
    httpTimeoutSeconds: z.number(),
    forceRemove: z.boolean(),
    ssh: storedSshTargetSchema,
    registeredAt: z.string(),
    joinConfiguration: z.string(),
    adopted: z.boolean(),
    /**
     * The bootstrap token of `joinConfiguration` when this stack owns it (see RegistrationOutput.token), and
     * its expiry; null when the machine joins with the registry's static token or was adopted. Always
     * present: an output the provider leaves out is not known at preview, and would change the verification.
     */
    tokenId: z.string().nullable().default(null),
    tokenExpiresAt: z.string().optional(),
});
export type RegistrationOutputs = z.infer<typeof registrationOutputs>;

const decodeInputs = (name: string, value: unknown, preview = false) => decodeProps(`registration ${name}`, registrationInputs, value, { preview });
const decodeOutputs = (name: string, value: unknown) => decodeProps(`stored registration ${name}`, registrationOutputs, value);

/** Another cluster, node or protocol is another registration: the old one is removed first. */
const IDENTITY = ["protocol", "clusterId", "nodeId"] as const;

function outputs(inputs: RegistrationInputs, result: Pick<RegistrationOutput, "registeredAt" | "joinConfiguration" | "adopted" | "token">) {
    return {
        protocol: inputs.protocol,
        clusterId: inputs.clusterId,
        nodeId: inputs.node.id,
        registryUrl: inputs.registryUrl,
        httpTimeoutSeconds: inputs.httpTimeoutSeconds,
        forceRemove: inputs.forceRemove,
        ssh: sshForState(inputs.ssh),
        registeredAt: result.registeredAt,
        joinConfiguration: secret(result.joinConfiguration),
        adopted: result.adopted,
        tokenId: result.token?.tokenId ?? null,
        ...(result.token?.expiresAt && { tokenExpiresAt: result.token.expiresAt }),
    };
}

const storedToken = (r: RegistrationOutputs): OwnedToken | undefined => (r.tokenId ? { tokenId: r.tokenId, expiresAt: r.tokenExpiresAt } : undefined);

/** The names of the cluster's Nodes, one list per provider process and ten seconds (every machine's diff asks). */
const nodeNames = new Map<string, { at: number; names: Promise<Set<string>> }>();
function clusterNodeNames(kubeconfig: string, kube: KubeClient): Promise<Set<string>> {
    const hit = nodeNames.get(kubeconfig);
    if (hit && Date.now() - hit.at < 10_000) return hit.names;
    const names = kube.listNodeMetadata("").then((r) => new Set(r.nodes.map((n) => n.name)));
    names.catch(() => nodeNames.delete(kubeconfig));
    nodeNames.set(kubeconfig, { at: Date.now(), names });
    return names;
}

/**
 * Whether the machine needs a new join token: its registration owns one, the token is gone (deleted
 * after a verification, or by the token cleaner once expired) or about to expire, and the machine has not
 * joined: it has no Node, and the machine itself (one read-only SSH session, only in this rare case)
 * is not joined as this node. A machine that joined and then lost its Node is drift, which the
 * verification repairs with a token of its own. One that cannot be looked at is given a new token: its
 * join then says why the machine cannot be reached.
 */
async function tokenRenewalNeeded(ctx: OperationContext, stored: RegistrationOutputs): Promise<boolean> {
    const token = storedToken(stored);
    if (!token || stored.adopted) return false;
    const kube = new KubeClient(parseKubeconfig(ctx.kubeconfig()), stored.httpTimeoutSeconds * 1000);
    if ((await clusterNodeNames(ctx.kubeconfig(), kube)).has(stored.nodeId)) return false;
    if (await tokenUsable(kube, token)) return false;
    return !(await joinedAsThisNode(ctx.ssh(stored.ssh), stored));
}

/** Renewals already told about in this provider process: the engine asks for a diff more than once per run. */
const toldRenewal = new Set<string>();

/**
 * The provider's side of a machine's registration. Create registers the node (gateway: policy dry run,
 * then `join-node`; parser: `addNode`), or adopts it when AIOS already lists it and the machine is
 * already joined as this node. An update never registers again: the node's inventory as AIOS holds it
 * is the one sent at create, and a rotated token must not re-join anything. Delete is the last
 * offboarding step: the machine is reset (unless it leaves without contact), any registry entry still
 * left is dropped, and the Node object deleted.
 */
export const registrationHandler: ResourceHandler = {
    check(name, _olds, news) {
        decodeInputs(name, news, true);
        return { inputs: news as Record<string, unknown> };
    },
    async diff(name, olds, news, ctx) {
        const n = decodeInputs(name, news, true);
        const before = registrationOutputs.safeParse(reveal(olds));
        const renew = ctx !== undefined && before.success && (await tokenRenewalNeeded(ctx, before.data));
        if (renew && !toldRenewal.has(name)) {
            toldRenewal.add(name);
            ctx.info(`node ${before.data.nodeId} is not joined and its join token is gone or expiring: the update asks for a new one`);
        }
        const now: Partial<Record<keyof RegistrationOutputs, unknown>> = {
            protocol: n.protocol,
            clusterId: n.clusterId,
            nodeId: n.node?.id,
            registryUrl: n.registryUrl,
            httpTimeoutSeconds: n.httpTimeoutSeconds,
            forceRemove: n.forceRemove,
            ssh: n.ssh,
        };
        const changed = (stored: RegistrationOutputs) => [
            ...(Object.keys(now) as (keyof RegistrationOutputs)[]).filter((k) => now[k] !== undefined && JSON.stringify(now[k]) !== JSON.stringify(stored[k])),
            ...(renew ? ["tokenId" as const] : []),
        ];
        return diffStored(registrationOutputs, olds, changed, IDENTITY);
    },
    async create(ctx, props) {
        const inputs = decodeInputs(ctx.name, props);
        const result = await register({ ...inputs, ssh: ctx.ssh(inputs.ssh) }, ctx.kubeconfig());
        if (result.adopted) ctx.info(`machine ${inputs.ssh.host} is already joined to cluster ${inputs.clusterId} as node ${inputs.node.id}: adopted, no kubeadm join`);
        if (result.token) ctx.joinTokens.issued(result.token.tokenId);
        return { id: `${inputs.clusterId}/${inputs.node.id}`, outs: outputs(inputs, result) };
    },
    async update(ctx, olds, news) {
        const before = decodeOutputs(ctx.name, olds);
        const inputs = decodeInputs(ctx.name, news);
        const kept = { ...before, token: storedToken(before) };
        if (!(await tokenRenewalNeeded(ctx, before))) return { outs: outputs(inputs, kept) };
        const renewed = await renewJoinToken(inputs, before.joinConfiguration, ctx.kubeconfig());
        ctx.info(`node ${inputs.node.id}: a new join token (${renewed.token?.tokenId}) replaces the one its failed or late join left`);
        if (renewed.token) ctx.joinTokens.issued(renewed.token.tokenId);
        return { outs: outputs(inputs, { ...kept, ...renewed }) };
    },
    async read(ctx, id, props) {
        const before = decodeOutputs(ctx.name, props);
        return { id, props: { ...before, joinConfiguration: secret(before.joinConfiguration), ssh: sshForState(before.ssh) } };
    },
    async delete(ctx, props) {
        const r = decodeOutputs(ctx.name, props);
        const ssh = ctx.ssh(r.ssh);
        const kube = new KubeClient(parseKubeconfig(ctx.kubeconfig()), r.httpTimeoutSeconds * 1000);
        await resetMachine({ ...r, ssh }, (m) => ctx.info(m));
        ctx.info(await forgetNode(r));
        ctx.info((await kube.deleteNode(r.nodeId)) ? `deleted Node ${r.nodeId}` : `Node ${r.nodeId} was already gone`);
        if (r.tokenId && (await ctx.joinTokens.delete(kube, r.tokenId))) ctx.info(`deleted the join token ${r.tokenId} the machine still held`);
    },
};
