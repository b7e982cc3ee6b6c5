import { GatewayClient, RegistryClient } from "../aios";
import { redactSecrets } from "../aios/secrets";
import { deleteBootstrapToken } from "../join/bootstrapTokens";
import { joinScriptWithConfiguration } from "../join/scripts";
import { KubeClient } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import { runRemoteScript } from "../machine/ssh";
import { resetMachine } from "../offboard/offboard";
import { discardJoinCommand, register, type RegistrationInput } from "../registration/register";
import { findDrift } from "./drift";

/** What a repair needs: what a registration is sent (the verification's inputs hold it), the join's timeout and the cluster's kubeconfig. */
export type RepairInput = Omit<RegistrationInput, "forceRemove"> & { kubeconfig: string; joinSeconds: number };

/**
 * Puts right what a refresh found wrong with an onboarded machine, looking again first (the refresh
 * may be old). Returns when the machine's registration was renewed (the AIOS waiter's window starts
 * then), or undefined when none was needed. Verification then waits for the Node as after a join.
 *
 * - Node gone or machine reset: the machine is joined again through AIOS. A machine still joined
 *   whose Node is gone is reset first (kubeadm refuses to join over a kubelet config), a stale Node
 *   of a reset machine is deleted, and the node's registry entries are dropped before registering,
 *   because the AIOS waiter appends one without looking for an existing one (contract §4.3).
 * - Label missing: a fresh registration starts an AIOS waiter that labels the Ready Node (this
 *   stack never sets the label itself); its entries are dropped first for the same reason.
 * - Registry entry missing or doubled: exactly one entry is written back.
 */
export async function repairNode(input: RepairInput, log: (msg: string) => void): Promise<string | undefined> {
    const nodeId = input.node.id;
    const f = await findDrift({ ...input, nodeId });
    if (f.machine.state === "unknown") {
        throw new Error(
            `node ${nodeId} is not repaired: machine ${input.ssh.host} could not be looked at (${f.machine.reason}). ` +
                "Bring the machine back and run `pulumi up` again, or set forceRemove on it and remove it from the stack",
        );
    }
    if (f.machine.state === "joined-elsewhere") {
        throw new Error(
            `node ${nodeId} is not repaired: machine ${input.ssh.host} is now joined to another cluster (its kubelet points at ${f.machine.server ?? "an unknown API server"}). ` +
                `Run 'kubeadm reset -f' on it if it should be node ${nodeId} of cluster ${input.clusterId}, then run \`pulumi up\` again`,
        );
    }
    const http = { timeoutMs: input.httpTimeoutSeconds * 1000 };
    const registry = new RegistryClient(input.registryUrl, http);
    const kube = new KubeClient(parseKubeconfig(input.kubeconfig), http.timeoutMs);
    const registration = { ...input, forceRemove: false };
    const dropEntries = async () => {
        const { removed } = await registry.removeNodeEntry(input.clusterId, nodeId);
        if (removed > 0) log(`removed ${removed} AIOS registry entr${removed === 1 ? "y" : "ies"} of ${nodeId} before registering it again (AIOS appends one of its own)`);
    };

    if (f.node === "missing" || f.machine.state === "reset") {
        if (f.machine.state === "joined") {
            log(`Node ${nodeId} is gone but machine ${input.ssh.host} is still joined: resetting the machine to join it again`);
            await resetMachine({ clusterId: input.clusterId, nodeId, forceRemove: false, ssh: input.ssh }, log);
        }
        if (f.node !== "missing" && (await kube.deleteNode(nodeId))) log(`deleted the stale Node ${nodeId} of the reset machine`);
        await dropEntries();
        const r = await register(registration, input.kubeconfig);
        log(`registered ${nodeId} with AIOS again; joining machine ${input.ssh.host} again`);
        // Its token is spent once the join ran, whatever came of it (nothing usable is left behind).
        const joined = await runRemoteScript(
            input.ssh,
            joinScriptWithConfiguration({ clusterId: input.clusterId, nodeId, joinTimeoutSeconds: input.joinSeconds }, r.joinConfiguration),
            input.joinSeconds + 60,
        ).finally(() => r.token && deleteBootstrapToken(kube, r.token.tokenId));
        if (joined.code !== 0) {
            throw new Error(`node ${nodeId}: joining machine ${input.ssh.host} again failed: ${redactSecrets(joined.stderr.trim()).slice(-2000)}; run \`pulumi up\` again`);
        }
        log(redactSecrets(joined.stdout.trim().split("\n")[0] ?? "joined"));
        return r.registeredAt;
    }
    if (f.node === "unlabelled") {
        await dropEntries();
        if (input.protocol === "gateway") {
            const command = await new GatewayClient(input.gatewayUrl!, http).joinNode(input.clusterId, input.node, { mode: input.mode, customIp: input.customIp });
            await discardJoinCommand(kube, command);
            log(`Node ${nodeId} lost its nodeID label: asked the AIOS gateway for a new waiter to label it`);
            return new Date().toISOString();
        }
        const r = await register(registration, input.kubeconfig);
        if (r.token) await deleteBootstrapToken(kube, r.token.tokenId);
        log(`Node ${nodeId} lost its nodeID label: registered it with AIOS again, which starts a waiter to label it`);
        return r.registeredAt;
    }
    if (f.registryEntries !== 1) {
        await dropEntries();
        await registry.addNodeEntry(input.clusterId, { ...input.node, id: nodeId });
        log(`wrote the AIOS registry entry of ${nodeId} back`);
    }
    return undefined;
}
