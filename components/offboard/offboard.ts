import { deregister, DeregistrationInput } from "../registration/register";
import { KubeClient, KubePod } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
import { redactSecrets } from "../aios/secrets";
import { resetScript } from "../join/scripts";
import { runRemoteScript, SshTarget } from "../machine/ssh";

/**
 * Offboarding, in the order the brief asks for: cordon and drain (the verification's delete), then
 * deregister from AIOS (same step, `remove-node` once), then `kubeadm reset -f` on the machine (the
 * join's delete), then delete the Node object (the registration's delete).
 */
export interface DrainInput extends DeregistrationInput {
    kubeconfig: string;
    drainSeconds: number;
    forceRemove: boolean;
    ssh: SshTarget;
}

function isDaemonSetPod(pod: KubePod): boolean {
    return pod.metadata.ownerReferences?.some((o) => o.kind === "DaemonSet") ?? false;
}

function isMirrorPod(pod: KubePod): boolean {
    return pod.metadata.annotations?.["kubernetes.io/config.mirror"] !== undefined;
}

/**
 * Whether the machine leaves without contact: `forceRemove` on it, or its node id in AIOS_FORCE_REMOVE
 * (comma-separated) in the environment of this `pulumi up` or `pulumi destroy`.
 */
export function removedWithoutContact(nodeId: string, forceRemove: boolean): boolean {
    return forceRemove || (process.env.AIOS_FORCE_REMOVE ?? "").split(",").map((s) => s.trim()).includes(nodeId);
}

export async function drainAndDeregister(input: DrainInput, log: (msg: string) => void): Promise<void> {
    if (!removedWithoutContact(input.nodeId, input.forceRemove)) {
        // Check first that the reset can run: an unreachable machine must block the delete
        // before anything is drained or deregistered, so nothing is left half-done.
        try {
            await runRemoteScript(input.ssh, "true", input.ssh.connectTimeoutSeconds + 10);
        } catch (e) {
            throw new Error(
                `cannot offboard node ${input.nodeId}: the machine is unreachable, so it could not be reset (${(e as Error).message}). ` +
                    "Nothing was changed. To remove it without resetting it, set forceRemove: true on the machine and run `pulumi up` before removing it, " +
                    `or run this \`pulumi up\` (or \`pulumi destroy\`) with AIOS_FORCE_REMOVE=${input.nodeId}`,
            );
        }
    }
    const kube = new KubeClient(parseKubeconfig(input.kubeconfig), input.httpTimeoutSeconds * 1000);
    const node = await kube.getNode(input.nodeId);
    if (node) {
        await kube.patchNode(input.nodeId, { spec: { unschedulable: true } });
        log(`cordoned ${input.nodeId}`);
        await drain(kube, input.nodeId, input.drainSeconds, log);
    } else {
        log(`Node ${input.nodeId} is not in the cluster; nothing to drain`);
    }
    log(await deregister(input));
}

async function drain(kube: KubeClient, nodeId: string, drainSeconds: number, log: (msg: string) => void): Promise<void> {
    const deadline = Date.now() + drainSeconds * 1000;
    for (;;) {
        const pods = (await kube.podsOnNode(nodeId)).filter((p) => !isDaemonSetPod(p) && !isMirrorPod(p) && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
        if (pods.length === 0) {
            log(`drained ${nodeId}`);
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `drain of node ${nodeId} did not finish within ${drainSeconds}s (timeouts.drainSeconds): ${pods.length} pod(s) left: ` +
                    pods.slice(0, 5).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(", ") +
                    ". A PodDisruptionBudget may block eviction; resolve it or raise timeouts.drainSeconds. The node stays cordoned and registered",
            );
        }
        for (const pod of pods) await kube.evictPod(pod, 30);
        await new Promise((r) => setTimeout(r, 2000));
    }
}

/**
 * The join undone on the machine (`kubeadm reset -f` and our state; see resetScript), the registration's
 * delete. Skipped for a machine that leaves without contact. A machine joined as another node or to
 * another cluster since is left alone, and that fails the delete: nothing else of it is removed.
 */
export async function resetMachine(input: { clusterId: string; nodeId: string; forceRemove: boolean; ssh: SshTarget }, log: (msg: string) => void): Promise<void> {
    if (removedWithoutContact(input.nodeId, input.forceRemove)) {
        log(`forceRemove: node ${input.nodeId}'s machine is not reset (it keeps its kubelet configuration until someone runs \`kubeadm reset -f\` on it)`);
        return;
    }
    const r = await runRemoteScript(input.ssh, resetScript(input), 300);
    if (r.code !== 0) {
        throw new Error(`resetting node ${input.nodeId}'s machine (${input.ssh.host}) failed with status ${r.code}: ${redactSecrets(r.stderr.trim() || r.stdout.trim()).slice(-1500)}`);
    }
    log(redactSecrets(r.stdout.trim()));
}
