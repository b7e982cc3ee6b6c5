import { AiosError, GatewayClient, ParserClient, RegistryClient, type ClusterDocument } from "../aios";
import { z } from "zod";
import { nodeInventorySchema } from "../machine/inventory";
import { parseProbeOutput, PROBE_SCRIPT } from "../machine/probe";
import { runRemoteScript, storedSshTargetSchema, type SshTarget } from "../machine/ssh";
import { joinedAsOurs, joinedOutsideThisStack } from "../prechecks/checks";
import { KubeClient, type KubeNode } from "../kube/client";
import { caSha256, parseKubeconfig } from "../kube/kubeconfig";
import { adoptScript } from "../join/scripts";
import { joinConfiguration, withToken } from "../join/joinConfiguration";
import { deleteBootstrapToken, expireBootstrapToken, MAX_TOKEN_MINUTES, mintBootstrapToken, tokenIdOf, type OwnedToken } from "../join/bootstrapTokens";

/**
 * Registration with AIOS, run by the `${name}-registration` resource's create during `pulumi up`
 * (never at preview: it has side effects). Removal from AIOS is the verification's delete
 * (`deregister`, the first offboarding step); the registration's delete only makes sure nothing
 * is left behind (`forgetNode`).
 */
/**
 * What a registration is sent (decoded by the provider plugin). `ssh`, the machine,
 * is looked at only when AIOS already lists the node: whether the machine is joined is decided at
 * registration time, not carried in from the program (that would change the registration's inputs once
 * the machine has joined, and every later preview would show an update).
 */
export const registrationInputs = z
    .object({
        protocol: z.enum(["gateway", "parser"]),
        clusterId: z.string().min(1),
        registryUrl: z.string().min(1),
        gatewayUrl: z.string().min(1).optional(),
        parserUrl: z.string().min(1).optional(),
        /** Gateway join mode: local_network (default) or public (external machines). */
        mode: z.enum(["local_network", "public"]),
        customIp: z.string().min(1).optional(),
        httpTimeoutSeconds: z.number().positive(),
        /** The machine leaves without being reset (it cannot be reached). */
        forceRemove: z.boolean(),
        node: nodeInventorySchema,
        /** Without its key when the key is the provider's (see storedSshTargetSchema). */
        ssh: storedSshTargetSchema,
        /**
         * Parser protocol: join with the registry's static token (`registry`, shared by every joiner, never
         * deleted) or with a token minted for this machine (`mint`). A token this stack owns (minted, or
         * the gateway's) expires `joinTokenMinutes` after it was issued.
         */
        joinToken: z.enum(["registry", "mint"]).default("registry"),
        joinTokenMinutes: z.number().int().min(1).max(MAX_TOKEN_MINUTES).default(MAX_TOKEN_MINUTES),
    })
    .strict();
/** A registration's inputs as its operations use them: the machine's key filled in. */
export type RegistrationInput = Omit<z.infer<typeof registrationInputs>, "ssh"> & { ssh: SshTarget };

export interface RegistrationOutput {
    protocol: "gateway" | "parser";
    /** ISO time the join command was issued (gateway) or the node was registered (parser). */
    registeredAt: string;
    /**
     * The JoinConfiguration the machine joins with (see joinConfiguration). Secret. Gateway: from the
     * fresh join command of `join-node`; parser: from the cluster's static one in the registry; adopted:
     * none (the machine is already joined).
     */
    joinConfiguration: string;
    /** The node was already known to AIOS and the machine already joined: nothing was sent. */
    adopted: boolean;
    /**
     * The bootstrap token of `joinConfiguration` when this stack owns it (the gateway minted it for this
     * machine, or it was minted here): the verification deletes it. None for the registry's static token.
     */
    token?: OwnedToken;
}

function http(input: { httpTimeoutSeconds: number }) {
    return { timeoutMs: input.httpTimeoutSeconds * 1000 };
}

export async function register(input: RegistrationInput, kubeconfig: string): Promise<RegistrationOutput> {
    const registry = new RegistryClient(input.registryUrl, http(input));
    const cluster = await registry.getCluster(input.clusterId);
    const known = (cluster.nodes?.nodeData ?? []).some((n) => n.id === input.node.id);
    const now = new Date().toISOString();
    // Parser: the cluster's static join command is checked first: one the machine cannot join with registers nothing.
    const parserConfig = input.protocol === "parser" ? staticJoinConfiguration(cluster, input) : undefined;
    const target = parseKubeconfig(kubeconfig);
    const kube = new KubeClient(target, input.httpTimeoutSeconds * 1000);
    const node = await kube.getNode(input.node.id);
    // The machine is looked at (one SSH session) only when it may be joined: AIOS knows the node, or the cluster has a Node of its name.
    const joined = known || node ? await machineJoined(input, caSha256(target), node) : { as: "no" as const };
    // Neither the registry nor the membership server de-duplicate node entries
    // (contract §10.5): a machine that is joined and known is adopted, not registered again.
    if (joined.as === "ours" && known) return { protocol: input.protocol, registeredAt: now, joinConfiguration: "", adopted: true };
    if (joined.as === "outside" && known) return adoptMachine(input, joined.caSha256, now);
    // Known but not joined: the entry is stale (the machine was reset, or an earlier run was interrupted
    // after AIOS wrote it). The registration below appends an entry of its own (addNode, or the waiter
    // join-node starts), so the old one is removed first, or the registry would hold two.
    if (parserConfig !== undefined) {
        if (known) await registry.removeNodeEntry(input.clusterId, input.node.id);
        await new ParserClient(input.parserUrl!, http(input)).addNode(input.clusterId, input.node);
        if (joined.as === "outside") return adoptMachine(input, joined.caSha256, now);
        if (input.joinToken === "mint") return { protocol: "parser", registeredAt: now, adopted: false, ...(await mintedJoin(kube, cluster, input)) };
        return { protocol: "parser", registeredAt: now, joinConfiguration: parserConfig, adopted: false };
    }
    const gateway = new GatewayClient(input.gatewayUrl!, http(input));
    // The dry run is the only call that returns a policy's reason (contract §4.4, §5.4), so a
    // rejection is reported with the reason before any token is minted.
    const dry = await gateway.dryRunAddNode(input.clusterId, input.node);
    if (!dry.allowed) {
        throw new Error(
            `AIOS policy rejected node ${input.node.id} for cluster ${input.clusterId}: ${dry.reason ?? "no reason given"}. ` +
                "Nothing was registered or joined; change the machine or ask the cluster owner to change the add_node policy",
        );
    }
    if (known) await registry.removeNodeEntry(input.clusterId, input.node.id);
    const joinCommand = await gateway.joinNode(input.clusterId, input.node, { mode: input.mode, customIp: input.customIp });
    if (joined.as === "outside") {
        // join-node started the waiter that labels the Node; its token is for nobody.
        await discardJoinCommand(kube, joinCommand);
        return adoptMachine(input, joined.caSha256, new Date().toISOString());
    }
    return { protocol: "gateway", registeredAt: new Date().toISOString(), adopted: false, ...(await gatewayJoin(kube, joinCommand, input)) };
}

/** The join configuration of the gateway's join command, its token (which AIOS made never-expiring) given an expiration. */
async function gatewayJoin(kube: KubeClient, joinCommand: string, input: RegistrationInput): Promise<{ joinConfiguration: string; token: OwnedToken }> {
    const joinConfiguration = usableJoinCommand(joinCommand, input, "the join command the gateway's join-node returned", "nothing was joined; check the membership server");
    const tokenId = tokenIdOf(joinCommand);
    return { joinConfiguration, token: { tokenId, expiresAt: await expireBootstrapToken(kube, tokenId, input.joinTokenMinutes) } };
}

/** A JoinConfiguration with the static command's endpoint and CA hashes and a token minted for this machine. */
async function mintedJoin(kube: KubeClient, cluster: ClusterDocument, input: RegistrationInput): Promise<{ joinConfiguration: string; token: OwnedToken }> {
    const staticCommand = cluster.clusterMetadata?.additionalInfo?.joinCommand ?? "";
    const minted = await mintBootstrapToken(kube, input.node.id, input.joinTokenMinutes);
    return { joinConfiguration: joinConfiguration(staticCommand, input.node.id, minted.token), token: { tokenId: minted.tokenId, expiresAt: minted.expiresAt } };
}

/**
 * A new join token for a registered machine whose join has not happened and whose token is gone or about
 * to expire: minted here (`joinTokenMinutes`) and put into the machine's join configuration in place of
 * the old one (same endpoint and pinned CA). Nothing is registered again: with the gateway, a second
 * `join-node` would start a second waiter that appends the node to the registry a second time; the
 * verification starts a new waiter itself when the first one's window has passed.
 */
export async function renewJoinToken(input: Pick<RegistrationInput, "node" | "joinTokenMinutes" | "httpTimeoutSeconds">, joinConfig: string, kubeconfig: string): Promise<Pick<RegistrationOutput, "joinConfiguration" | "token">> {
    const kube = new KubeClient(parseKubeconfig(kubeconfig), input.httpTimeoutSeconds * 1000);
    const minted = await mintBootstrapToken(kube, input.node.id, input.joinTokenMinutes);
    try {
        return { joinConfiguration: withToken(joinConfig, minted.token), token: { tokenId: minted.tokenId, expiresAt: minted.expiresAt } };
    } catch (e) {
        await deleteBootstrapToken(kube, minted.tokenId);
        throw e;
    }
}

/**
 * Writes the onboarding marker on a machine joined outside this stack, once AIOS knows the node (the
 * script checks the CA again on the machine): the join then finds it joined as this node and does nothing.
 */
async function adoptMachine(input: RegistrationInput, caSha256: string, registeredAt: string): Promise<RegistrationOutput> {
    const r = await runRemoteScript(input.ssh, adoptScript({ clusterId: input.clusterId, nodeId: input.node.id, caSha256 }), input.ssh.connectTimeoutSeconds + 30);
    if (r.code !== 0) throw new Error(`node ${input.node.id}: machine ${input.ssh.host} was not adopted: ${r.stderr.trim() || `exit ${r.code}`}; run \`pulumi up\` again`);
    return { protocol: input.protocol, registeredAt, joinConfiguration: "", adopted: true };
}

/**
 * Deletes the bootstrap token of a join command nobody will run (AIOS never expires them, contract
 * §4.3): join-node is also how a waiter is started for a machine that is already joined.
 */
export async function discardJoinCommand(kube: KubeClient, command: string): Promise<void> {
    await deleteBootstrapToken(kube, tokenIdOf(command));
}

function staticJoinConfiguration(cluster: ClusterDocument, input: RegistrationInput): string {
    const joinCommand = cluster.clusterMetadata?.additionalInfo?.joinCommand;
    if (!joinCommand) {
        throw new Error(
            `cluster ${input.clusterId} in the AIOS registry has no clusterMetadata.additionalInfo.joinCommand, which the parser protocol joins with; ` +
                "nothing was registered. Ask the cluster owner to set it, or use protocol: gateway",
        );
    }
    return usableJoinCommand(joinCommand, input, "the registry's clusterMetadata.additionalInfo.joinCommand", "nothing was registered; ask the cluster owner to fix it");
}

/** The JoinConfiguration of `command`, or an error naming where the command came from and the fix (never the command). */
function usableJoinCommand(command: string, input: RegistrationInput, what: string, fix: string): string {
    try {
        return joinConfiguration(command, input.node.id);
    } catch (e) {
        throw new Error(`node ${input.node.id} of cluster ${input.clusterId} cannot join with ${what}: ${(e as Error).message}; ${fix}`);
    }
}

/**
 * One read-only SSH session, the prechecks' probe: is the machine joined to this cluster as this node,
 * by this stack (our marker) or outside it (see joinedOutsideThisStack)?
 */
async function machineJoined(input: RegistrationInput, clusterCa: string | undefined, node: KubeNode | undefined): Promise<{ as: "ours" | "no" } | { as: "outside"; caSha256: string }> {
    const res = await runRemoteScript(input.ssh, PROBE_SCRIPT, input.ssh.connectTimeoutSeconds + 30);
    const facts = parseProbeOutput(res.stdout);
    if (joinedAsOurs({ clusterId: input.clusterId, nodeId: input.node.id }, facts)) return { as: "ours" };
    return clusterCa && joinedOutsideThisStack(facts, clusterCa, node) ? { as: "outside", caSha256: clusterCa } : { as: "no" };
}

/** Whether the machine is joined as this node by this stack (its marker); false when it cannot be looked at. */
export async function joinedAsThisNode(ssh: SshTarget, node: { clusterId: string; nodeId: string }): Promise<boolean> {
    try {
        const res = await runRemoteScript(ssh, PROBE_SCRIPT, ssh.connectTimeoutSeconds + 30);
        return joinedAsOurs(node, parseProbeOutput(res.stdout));
    } catch {
        return false;
    }
}

export interface DeregistrationInput {
    protocol: "gateway" | "parser";
    clusterId: string;
    registryUrl: string;
    gatewayUrl?: string;
    nodeId: string;
    httpTimeoutSeconds: number;
}

/**
 * The last offboarding step: drops any registry entry of the node still left (AIOS does not
 * de-duplicate, and a failed earlier run may have left one). No `remove-node`: the verification's
 * delete made that call once.
 */
export async function forgetNode(input: DeregistrationInput): Promise<string> {
    const { removed } = await new RegistryClient(input.registryUrl, http(input)).removeNodeEntry(input.clusterId, input.nodeId);
    return removed === 0 ? `the AIOS registry holds no entry for ${input.nodeId}` : `registry: removed ${removed} entr${removed === 1 ? "y" : "ies"} left for ${input.nodeId}`;
}

/**
 * Removes the node from AIOS. Gateway: `remove-node` (cordon, evict, registry removal;
 * contract §7); a node Kubernetes no longer knows counts as removed, and any registry entry
 * left behind is dropped directly. Parser: the entry is removed from the registry document.
 * Idempotent: a node AIOS does not know is already deregistered.
 */
export async function deregister(input: DeregistrationInput): Promise<string> {
    const registry = new RegistryClient(input.registryUrl, http(input));
    let how = "";
    if (input.protocol === "gateway") {
        const gateway = new GatewayClient(input.gatewayUrl!, http(input));
        try {
            how = `gateway remove-node: ${await gateway.removeNode(input.clusterId, input.nodeId)}`;
        } catch (e) {
            // contract §7: a node Kubernetes no longer knows comes back as 200 result.success:false.
            if (!(e instanceof AiosError && e.notInKubernetes)) throw e;
            how = "gateway remove-node: node not in Kubernetes";
        }
    }
    const { removed } = await registry.removeNodeEntry(input.clusterId, input.nodeId);
    return `${how}${how ? "; " : ""}registry: removed ${removed} entr${removed === 1 ? "y" : "ies"} for ${input.nodeId}`;
}
