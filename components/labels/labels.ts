import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { Taint } from "../config/validators";
import { removeKubeconfigCopies } from "../kube/providerCopies";

/** The package token a component looks up to find a kubernetes provider passed down to it. */
export const NODE_PATCH_TOKEN = "kubernetes:core/v1:NodePatch";

/** The UID of the Node object the declared labels and taints were applied to. */
export const NODE_UID_ANNOTATION = "aios-onboarding/node-uid";

/** The field manager of a node's declared labels and taints; one per node, so nodes never take each other's fields. */
export function fieldManager(nodeId: string): string {
    return `aios-onboarding-${nodeId}`.slice(0, 128);
}

/**
 * The kubernetes provider the patches go through: the cluster's kubeconfig (secret), server-side
 * apply, and `clusterIdentifier` set to the cluster id so that an edited kubeconfig replaces nothing.
 * Once the provider is configured, the plaintext copy of the kubeconfig it leaves in the temp folder is
 * removed (see removeKubeconfigCopies).
 */
export function kubernetesProvider(name: string, kubeconfig: pulumi.Input<string>, clusterId: string, opts?: pulumi.CustomResourceOptions): k8s.Provider {
    const secretKubeconfig = pulumi.secret(kubeconfig);
    const provider = new k8s.Provider(name, { kubeconfig: secretKubeconfig, clusterIdentifier: clusterId, enableServerSideApply: true }, opts);
    // The engine answers the provider's registration after configuring it (preview included).
    const removed = pulumi.all([provider.urn, secretKubeconfig]).apply(([, text]) => removeKubeconfigCopies(text));
    // A provider that failed to register is reported by the engine; this is no second report of it.
    pulumi.recover(removed, () => 0);
    return provider;
}

export interface DeclaredLabelsArgs {
    /** The Node's name (= the AIOS node id). */
    nodeId: string;
    /** Labels to apply; never `nodeID`, which only the AIOS Cluster Controller sets. */
    labels: Record<string, string>;
    /** Taints to apply. None: the Node's taints are not touched at all. */
    taints: Taint[];
    /**
     * The verified Node object's UID; when verification failed in this run, a value not known that depends
     * on the failed verification, so the engine skips the patch (see onboardedNode/steps.ts). The patch's labels
     * (else its taints) wait for it, which both orders the patch after verification and keeps a patch
     * from ever reaching a Node that is not known to be this machine's (a server-side apply would create
     * a missing Node). It is also written as an annotation, so a Node created again (a repair re-joined
     * the machine) gets the labels and taints again.
     */
    verifiedNode: pulumi.Output<string>;
}

/**
 * The user's labels and taints as a `NodePatch` (server-side apply under {@link fieldManager}):
 *
 * - labels are a granular map: the patch owns only its keys; changing or dropping one from the config
 *   changes or removes only that label, and deleting the patch removes them all. Other labels
 *   (`nodeID`, the kubelet's) are never touched.
 * - taints are one atomic list in the Node API (`+listType=atomic`), so a patch that declares taints
 *   sets the Node's whole taint list. The patch is forced (`pulumi.com/patchForce`): after a node was
 *   NotReady once, the node lifecycle controller co-owns that list, and an unforced change of the
 *   declared taints would stop with a conflict against it although it has nothing there any more.
 *   A patch without taints leaves the list alone.
 */
export function declaredLabelsPatch(name: string, args: DeclaredLabelsArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.NodePatch {
    const after = <T>(value: T): pulumi.Output<T> => args.verifiedNode.apply(() => value);
    const hasLabels = Object.keys(args.labels).length > 0;
    return new k8s.core.v1.NodePatch(
        name,
        {
            metadata: {
                name: args.nodeId,
                labels: hasLabels ? after(args.labels) : undefined,
                annotations: {
                    "pulumi.com/patchFieldManager": fieldManager(args.nodeId),
                    "pulumi.com/patchForce": "true",
                    [NODE_UID_ANNOTATION]: args.verifiedNode,
                },
            },
            spec: args.taints.length > 0 ? { taints: hasLabels ? args.taints : after(args.taints) } : undefined,
        },
        opts,
    );
}
