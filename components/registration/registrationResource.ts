import { z } from "zod";
import type { ResourceHandler } from "../provider/handler";
import { decodeProps, diffStored, secret, sshForState } from "../provider/wire";
import { KubeClient } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import { storedSshTargetSchema } from "../machine/ssh";
import { resetMachine } from "../offboard/offboard";
import { forgetNode, register, registrationInputs } from "./register";

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
});
export type RegistrationOutputs = z.infer<typeof registrationOutputs>;

const decodeInputs = (name: string, value: unknown, preview = false) => decodeProps(`registration ${name}`, registrationInputs, value, { preview });
const decodeOutputs = (name: string, value: unknown) => decodeProps(`stored registration ${name}`, registrationOutputs, value);

/** Another cluster, node or protocol is another registration: the old one is removed first. */
const IDENTITY = ["protocol", "clusterId", "nodeId"] as const;

function outputs(inputs: RegistrationInputs, result: Pick<RegistrationOutputs, "registeredAt" | "joinConfiguration" | "adopted">) {
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
    };
}

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
    diff(name, olds, news) {
        const n = decodeInputs(name, news, true);
        const now: Partial<Record<keyof RegistrationOutputs, unknown>> = {
            protocol: n.protocol,
            clusterId: n.clusterId,
            nodeId: n.node?.id,
            registryUrl: n.registryUrl,
            httpTimeoutSeconds: n.httpTimeoutSeconds,
            forceRemove: n.forceRemove,
            ssh: n.ssh,
        };
        const changed = (stored: RegistrationOutputs) =>
            (Object.keys(now) as (keyof RegistrationOutputs)[]).filter((k) => now[k] !== undefined && JSON.stringify(now[k]) !== JSON.stringify(stored[k]));
        return diffStored(registrationOutputs, olds, changed, IDENTITY);
    },
    async create(ctx, props) {
        const inputs = decodeInputs(ctx.name, props);
        const result = await register({ ...inputs, ssh: ctx.ssh(inputs.ssh) }, ctx.kubeconfig());
        if (result.adopted) ctx.info(`machine ${inputs.ssh.host} is already joined to cluster ${inputs.clusterId} as node ${inputs.node.id}: adopted, no kubeadm join`);
        return { id: `${inputs.clusterId}/${inputs.node.id}`, outs: outputs(inputs, result) };
    },
    async update(ctx, olds, news) {
        const before = decodeOutputs(ctx.name, olds);
        return { outs: outputs(decodeInputs(ctx.name, news), before) };
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
    },
};
