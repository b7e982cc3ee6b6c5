// The Pulumi program: one stack per AIOS cluster, one OnboardedNode per configured machine.
import * as pulumi from "@pulumi/pulumi";
import { onboardCluster, readClusterStack } from "./components/fleet/fleet";

type Onboarded = { nodeId: string; nodeName: string; kubeletVersion: string; nodeID: string | null; addresses: string[] } | { nodeId: string; error: string };

// What the engine stores of each resource's call stack is its declaration alone (bin/program.js).
export = declare;

function declare(): { onboarded: pulumi.Output<Onboarded[]> } {
    const nodes = onboardCluster(readClusterStack());
    // A machine that failed is listed as such: its error is already reported by the engine.
    const onboarded = pulumi.all(
        Object.entries(nodes).map(([id, n]) =>
            pulumi.recover<Onboarded>(
                pulumi.all([n.nodeName, n.kubeletVersion, n.labels, n.addresses]).apply(([nodeName, kubeletVersion, labels, addresses]) => ({
                    nodeId: id,
                    nodeName,
                    kubeletVersion,
                    nodeID: labels.nodeID ?? null,
                    addresses: addresses.map((a) => `${a.type}=${a.address}`),
                })),
                () => ({ nodeId: id, error: "not onboarded in this run; see its error above" }),
            ),
        ),
    );
    return { onboarded };
}
