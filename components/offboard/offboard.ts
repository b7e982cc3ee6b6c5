import { deregister, DeregistrationInput } from "../registration/register";
import { KubeClient, KubePod } from "../kube/client";
import { parseKubeconfig } from "../kube/kubeconfig";
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

export async function drainAndDeregister(input: DrainInput, log: (msg: string) => void): Promise<void> {
    const forced = input.forceRemove || (process.env.AIOS_FORCE_REMOVE ?? "").split(",").map((s) => s.trim()).includes(input.nodeId);
    if (!forced) {
        // Check first that the reset can run: an unreachable machine must block the delete
        // before anything is drained or deregistered, so nothing is left half-done.
        try {
            await runRemoteScript(input.ssh, "true", input.ssh.connectTimeoutSeconds + 10);
        } catch (e) {
            throw new Error(
                `cannot offboard node ${input.nodeId}: the machine is unreachable, so it could not be reset (${(e as Error).message}). ` +
                    "Nothing was changed. To remove it without resetting it, set forceRemove: true on the machine and run `pulumi up` before removing it, " +
                    `or run this \`pulumi up\` with AIOS_FORCE_REMOVE=${input.nodeId} (the machine's own delete then needs \`pulumi state delete\`)`,
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
