import { AiosError, GatewayClient, ParserClient, RegistryClient } from "../aios";
import type { NodeInventory } from "../machine/inventory";
import { parseProbeOutput, PROBE_SCRIPT } from "../machine/probe";
import { runRemoteScript, type SshTarget } from "../machine/ssh";
import { joinedAsOurs } from "../prechecks/checks";

/**
 * Registration with AIOS, run by the `${name}-registration` resource during `pulumi up`
 * (never at preview: it has side effects). Its delete (`deregister`) runs when the machine
 * leaves the stack, after the machine has been reset.
 */
export interface RegistrationInput {
    protocol: "gateway" | "parser";
    clusterId: string;
    registryUrl: string;
    gatewayUrl?: string;
    parserUrl?: string;
    /** Gateway join mode: local_network (default) or public (external machines). */
    mode: "local_network" | "public";
    customIp?: string;
    httpTimeoutSeconds: number;
    node: NodeInventory;
    /**
     * The machine, looked at when AIOS already lists the node: whether it is joined is decided at
     * registration time, not carried in from the program (that would change this step's inputs once
     * the machine has joined, and every later preview would show an update).
     */
    ssh: SshTarget;
}

export interface RegistrationOutput {
    protocol: "gateway" | "parser";
    /** ISO time the join command was issued (gateway) or the node was registered (parser). */
    registeredAt: string;
    /** Gateway only: the fresh join command. Secret. */
    joinCommand?: string;
    /** The node was already known to AIOS and the machine already joined: nothing was sent. */
    adopted: boolean;
}

function http(input: { httpTimeoutSeconds: number }) {
    return { timeoutMs: input.httpTimeoutSeconds * 1000 };
}

export async function register(input: RegistrationInput): Promise<RegistrationOutput> {
    const registry = new RegistryClient(input.registryUrl, http(input));
    const cluster = await registry.getCluster(input.clusterId);
    const known = (cluster.nodes?.nodeData ?? []).some((n) => n.id === input.node.id);
    const now = new Date().toISOString();
    // Neither the registry nor the membership server de-duplicate node entries
    // (contract §10.5): a machine that is joined and known is adopted, not registered again.
    if (known && (await joinedAsThisNode(input))) {
        return { protocol: input.protocol, registeredAt: now, adopted: true };
    }
    if (input.protocol === "parser") {
        await new ParserClient(input.parserUrl!, http(input)).addNode(input.clusterId, input.node);
        return { protocol: "parser", registeredAt: now, adopted: false };
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
    const joinCommand = await gateway.joinNode(input.clusterId, input.node, { mode: input.mode, customIp: input.customIp });
    return { protocol: "gateway", registeredAt: new Date().toISOString(), joinCommand, adopted: false };
}

/** One read-only SSH session, the prechecks' probe: is the machine joined to this cluster as this node? */
async function joinedAsThisNode(input: RegistrationInput): Promise<boolean> {
    const res = await runRemoteScript(input.ssh, PROBE_SCRIPT, input.ssh.connectTimeoutSeconds + 30);
    return joinedAsOurs({ clusterId: input.clusterId, nodeId: input.node.id }, parseProbeOutput(res.stdout));
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
